"""Read infra/resources.yaml (CloudFormation short tags included) and resolve its intrinsics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

RESOURCES = Path(__file__).with_name("resources.yaml")


class _Loader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _tag)


def load(path: Path = RESOURCES) -> dict[str, Any]:
    return yaml.load(path.read_text("utf-8"), Loader=_Loader)  # noqa: S506 - safe loader subclass


class Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Equals, Fn::Not against known values."""

    def __init__(
        self, template: dict[str, Any], parameters: dict[str, str], pseudo: dict[str, str]
    ) -> None:
        self.template = template
        self.values: dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            self.values[name] = parameters.get(name, spec.get("Default"))
        self.values.update(pseudo)
        self.physical: dict[str, str] = {}
        self.attributes: dict[tuple[str, str], str] = {}
        self.conditions = {
            name: self.resolve(expr) for name, expr in template.get("Conditions", {}).items()
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                return self.attributes[(arg[0], arg[1])]
            if fn == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub(m.group(1))), arg)
            if fn == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.conditions[name] else no)
            if fn == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return left == right
            if fn == "Fn::Not":
                return not self.resolve(arg[0])
        return {k: self.resolve(v) for k, v in value.items()}

    def ref(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        return self.physical[name]

    def _sub(self, name: str) -> Any:
        if name.startswith("!"):  # ${!literal} is CloudFormation's escape for "${literal}"
            return "${" + name[1:] + "}"
        if "." in name:
            resource, attribute = name.split(".", 1)
            return self.attributes[(resource, attribute)]
        return self.ref(name)


def dependencies(value: Any) -> set[str]:
    """Logical ids a resource's properties refer to."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= dependencies(v)
    elif isinstance(value, dict):
        for fn, arg in value.items():
            if fn == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif fn == "Fn::GetAtt":
                found.add(arg[0])
            elif fn == "Fn::Sub" and isinstance(arg, str):
                names = re.findall(r"\$\{([^}!][^}]*)\}", arg)
                found |= {m.split(".")[0] for m in names}
            else:
                found |= dependencies(arg)
    return found


def creation_order(resources: dict[str, Any]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        if name in seen:
            return
        if name in path:
            raise ValueError(f"dependency cycle: {' -> '.join((*path, name))}")
        spec = resources[name]
        needs = dependencies(spec.get("Properties", {}))
        depends_on = spec.get("DependsOn", [])
        needs |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
        for dep in sorted(needs & resources.keys()):
            visit(dep, (*path, name))
        seen.add(name)
        order.append(name)

    for name in resources:
        visit(name)
    return order
