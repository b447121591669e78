"""The packages under test: `infra/package.sh dev` and `prod`, built once per session (and not at
all when build/<stage> is up to date: infra/build.py keys it on a hash of its inputs)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")


@dataclass(frozen=True)
class Package:
    stage: str
    path: Path
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def functions(self) -> dict[str, dict[str, Any]]:
        return {
            name: spec
            for name, spec in self.resources.items()
            if spec["Type"] == "AWS::Serverless::Function"
        }


@pytest.fixture(scope="session")
def packages() -> dict[str, Package]:
    built = {}
    for stage in STAGES:
        result = subprocess.run(
            [str(ROOT / "infra" / "package.sh"), stage], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        path = ROOT / "build" / stage / "package"
        built[stage] = Package(stage, path, json.loads((path / "sam.json").read_text()))
    return built


@pytest.fixture(params=STAGES)
def package(request: pytest.FixtureRequest, packages: dict[str, Package]) -> Package:
    return packages[request.param]
