"""Unzipped size of every function in a package, with its layers (AWS's limit: 250 MB)."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

LIMIT_MB = 250.0
FORBIDDEN = ("librosa", "numba", "llvmlite")


def unzipped_mb(path: Path) -> float:
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist()) / 1e6


def names_in(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return {
            name.split("/")[1] if name.startswith("python/") else name.split("/")[0]
            for name in archive.namelist()
            if "/" in name
        }


def function_sizes(package: Path) -> dict[str, dict[str, object]]:
    template = json.loads((package / "sam.json").read_text())
    resources = template["Resources"]
    layers = {
        name: package / Path(spec["Properties"]["ContentUri"]).name
        for name, spec in resources.items()
        if spec["Type"] == "AWS::Serverless::LayerVersion"
    }
    sizes = {}
    for name, spec in resources.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        code = package / Path(spec["Properties"]["CodeUri"]).name
        parts = [code] + [
            layers[ref["Ref"]]
            for ref in spec["Properties"].get("Layers", [])
            if isinstance(ref, dict) and ref.get("Ref") in layers
        ]
        sizes[name] = {
            "mb": sum(unzipped_mb(p) for p in parts),
            "packages": set().union(*(names_in(p) for p in parts)),
        }
    return sizes


if __name__ == "__main__":
    for name, info in function_sizes(Path(sys.argv[1])).items():
        mb = float(info["mb"])  # type: ignore[arg-type]
        flag = "OK" if mb <= LIMIT_MB else "OVER 250 MB"
        print(f"{name:14s} {mb:7.1f} MB unzipped with layers  {flag}")
