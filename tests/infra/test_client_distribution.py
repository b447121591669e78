"""`pip install ./client` on its own: the CLI works and none of the server comes with it."""

from __future__ import annotations

import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from tests.infra.conftest import ROOT


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("client-venv")
    venv.EnvBuilder(with_pip=True).create(home)
    # built from a copy with the links followed (what its wheel holds), so nothing is written
    # into the checkout
    source = home / "client-source"
    shutil.copytree(
        ROOT / "client",
        source,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    python = home / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(source)],
        check=True,
        cwd=home,
    )
    return home


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # cwd outside the repository: nothing importable from the checkout by accident
    return subprocess.run(args, cwd=home, capture_output=True, text=True, check=False)


def test_the_client_installs_without_the_server(client_venv: Path) -> None:
    python = str(client_venv / "bin" / "python")
    probe = (
        "import importlib.util as u, json;"
        "print(json.dumps({m: u.find_spec(m) is not None for m in "
        "('boto3', 'pydantic', 'shared', 'functions', 'chalice', 'moto')}))"
    )
    result = run(client_venv, python, "-I", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        '{"boto3": false, "pydantic": false, "shared": false, "functions": false, '
        '"chalice": false, "moto": false}'
    )


def test_every_shared_module_the_client_carries_imports_without_the_server(
    client_venv: Path,
) -> None:
    """shared/formats and shared/audio ship in the client: none of them may reach pydantic,
    boto3 or another part of shared/ (a later edit that does fails here, not at a user's)."""
    carried = [
        f"ailas.{package}.{module.stem}"
        for package in ("formats", "audio")
        for module in sorted((ROOT / "shared" / package).glob("*.py"))
        if module.stem != "__init__"
    ]
    python = str(client_venv / "bin" / "python")
    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
    result = run(client_venv, python, "-I", "-c", code, *carried)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(carried) >= 10


def test_the_installed_cli_runs_with_the_registrys_own_formats(client_venv: Path) -> None:
    ailas = str(client_venv / "bin" / "ailas")
    version = run(client_venv, ailas, "--version")
    assert version.returncode == 0 and "0." in version.stdout, version.stderr
    helped = run(client_venv, ailas, "--help")
    for command in ("verify", "label-file", "log", "audit", "trace"):
        assert command in helped.stdout
    # the client's copy is the registry's file, not a fork of it
    python = str(client_venv / "bin" / "python")
    where = run(client_venv, python, "-I", "-c", "import ailas.formats.jws as m; print(m.__file__)")
    installed = Path(where.stdout.strip()).read_bytes()
    assert installed == (ROOT / "shared" / "formats" / "jws.py").read_bytes()
    # a malformed token is refused by the same rule as the registry's (no network needed)
    refused = run(client_venv, ailas, "verify", "not.a.token", "--api", "http://127.0.0.1:9")
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr


def test_the_client_version_is_its_distributions(client_venv: Path) -> None:
    import tomllib

    declared = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]
    python = str(client_venv / "bin" / "python")
    got = run(
        client_venv, python, "-I", "-c", "import importlib.metadata as m; print(m.version('ailas'))"
    )
    assert got.stdout.strip() == declared["version"]
