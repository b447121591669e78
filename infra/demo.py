"""`make demo`: run the README's terminal walk-through, as written, against the local stack.

The block between ``<!-- demo:start -->`` and ``<!-- demo:end -->`` is run by
``bash -euo pipefail`` in the checkout, so a step that fails (an HTTP error, a ``jq -e`` check)
stops it with a non-zero exit. If no stack answers on PORT (default 8000), one is started for
the run and stopped after.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def walkthrough(readme: Path = ROOT / "README.md") -> str:
    text = readme.read_text("utf-8")
    found = re.search(r"<!-- demo:start -->\s*```sh\n(.*?)```\s*<!-- demo:end -->", text, re.S)
    if not found:
        raise SystemExit("README.md has no demo block")
    return found.group(1)


def answering(url: str) -> bool:
    try:
        return requests.get(url + "/v1/health", timeout=2).ok
    except requests.ConnectionError:
        return False


def run(env: dict[str, str] | None = None) -> int:
    """Run the walk-through in a scratch folder (it writes voice.wav and contract.txt) that
    links the checkout's venv, so that it reads exactly as a person in the checkout runs it."""
    env = {**os.environ, **(env or {})}
    env.setdefault("AILAS_LOCAL_DIR", str(ROOT / ".local"))
    env["PYTHONPATH"] = str(ROOT)  # python -m tests.audiofiles
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / ".venv").symlink_to(ROOT / ".venv")
        script = Path(work) / "walkthrough.sh"
        script.write_text(walkthrough(), "utf-8")
        command = ["bash", "-euo", "pipefail", str(script)]
        return subprocess.run(command, cwd=work, env=env).returncode


def main() -> None:
    port = os.environ.get("PORT", "8000")
    url = f"http://127.0.0.1:{port}"
    stack = None
    if not answering(url):
        print(f"no stack on {url}: starting one for the demo", flush=True)
        stack = subprocess.Popen([sys.executable, "-m", "infra.local_stack"], cwd=ROOT)
        deadline = time.monotonic() + 120
        while not answering(url):
            if stack.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the local stack did not start")
            time.sleep(0.5)
    try:
        code = run()
    finally:
        if stack is not None:
            stack.terminate()
            stack.wait(timeout=30)
    print("demo: every step passed" if code == 0 else f"demo: FAILED (exit {code})", flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
