"""End-to-end: the real local stack (`python -m infra.local_stack`, as `make run` starts it) on
free ports, driven over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from infra.local_stack import free_port
from tests.http import Api, http_api
from tests.scenario import Registry

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    base_url: str
    aws_url: str
    operator_token: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def mail_dir(self) -> Path:
        return self.log.parent / "mail"

    def env(self) -> dict[str, str]:
        """The environment a client script would use to reach the stack's AWS."""
        return {"AILAS_AWS_ENDPOINT_URL": self.aws_url}


def start_stack(folder: Path, **extra_env: str) -> Stack:
    """`python -m infra.local_stack` on free ports, logging to ``folder/stack.log``."""
    api_port, aws_port = free_port(), free_port()
    token = "e2e-operator-" + os.urandom(16).hex()
    log = folder / "stack.log"
    env = {
        **os.environ,
        "PORT": str(api_port),
        "AILAS_AWS_PORT": str(aws_port),
        "AILAS_OPERATOR_TOKEN": token,
        "AILAS_STACK_FILE": str(log.parent / "stack.json"),  # not the checkout's .local/
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "AILAS_LOCAL_DIR": str(folder),
        **extra_env,
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local_stack"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{api_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(base_url + "/v1/health", timeout=1).ok:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("local stack did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.2)
    return Stack(base_url, f"http://127.0.0.1:{aws_port}", token, process, log)


def stop_stack(stack: Stack) -> None:
    stack.process.terminate()
    try:
        stack.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stack.process.kill()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = start_stack(tmp_path_factory.mktemp("stack"))
    yield started
    stop_stack(started)


@pytest.fixture(scope="session")
def api(stack: Stack) -> Api:
    return http_api(stack.base_url)


@pytest.fixture(scope="session")
def registry(api: Api, stack: Stack) -> Registry:
    return Registry(api, stack.operator_token)


def ops(stack_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m infra.ops` as an operator types it in the checkout: no AWS settings at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AILAS_", "AWS_"))}
    env["AILAS_STACK_FILE"] = str(stack_file)
    return subprocess.run(
        [sys.executable, "-m", "infra.ops", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
