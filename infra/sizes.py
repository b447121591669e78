"""Unzipped size of every function of a package, its layers included (AWS's limit: 250 MB), and
the Python packages each one carries.

    python -m infra.sizes build/dev/package
"""

from __future__ import annotations

import json
import sys
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

LIMIT_MB = 250.0
FORBIDDEN = ("librosa", "numba", "llvmlite")


@cache
def _listing(path: Path) -> tuple[float, frozenset[str]]:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        size = sum(info.file_size for info in infos) / 1e6
        top = set()
        for info in infos:
            parts = info.filename.split("/")
            if parts[0] == "python" and len(parts) > 1:  # a layer's python/ folder
                parts = parts[1:]
            if len(parts) > 1 or parts[0].endswith((".py", ".so")):
                top.add(parts[0].split(".")[0] if len(parts) == 1 else parts[0])
    return size, frozenset(top)


def unzipped_mb(path: Path) -> float:
    return _listing(path)[0]


def top_level_names(path: Path) -> frozenset[str]:
    """Top-level folders and modules in a zip (a layer's python/ prefix removed)."""
    return _listing(path)[1]


def function_sizes(package: Path) -> dict[str, dict[str, Any]]:
    """logical id → {"mb": unzipped MB with layers, "parts": zips, "packages": top-level names}."""
    template = json.loads((package / "sam.json").read_text())
    resources = template["Resources"]
    layers = {
        name: package / Path(spec["Properties"]["ContentUri"]).name
        for name, spec in resources.items()
        if spec["Type"] == "AWS::Serverless::LayerVersion"
    }
    found = {}
    for name, spec in resources.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        parts = [package / Path(spec["Properties"]["CodeUri"]).name]
        for ref in spec["Properties"].get("Layers", []):
            if not (isinstance(ref, dict) and ref.get("Ref") in layers):
                raise ValueError(f"{name}: layer {ref} is not built by this package")
            parts.append(layers[ref["Ref"]])
        found[name] = {
            "mb": sum(unzipped_mb(p) for p in parts),
            "parts": parts,
            "packages": set().union(*(top_level_names(p) for p in parts)),
        }
    return found


def report(package: Path) -> bool:
    ok = True
    for name, info in function_sizes(package).items():
        detail = " + ".join(f"{p.name} {unzipped_mb(p):.1f}" for p in info["parts"])
        forbidden = sorted({p.lower() for p in info["packages"]} & set(FORBIDDEN))
        flag = "OK" if info["mb"] <= LIMIT_MB and not forbidden else "TOO BIG / FORBIDDEN"
        ok = ok and flag == "OK"
        print(f"{name:14s} {info['mb']:6.1f} MB unzipped ({detail})  {flag} {forbidden or ''}")
    return ok


if __name__ == "__main__":
    sys.exit(0 if report(Path(sys.argv[1])) else 1)
