"""The README's terminal walk-through runs as written (the block `make demo` runs) against the
local stack: every curl answers 2xx and every `jq -e` check holds."""

from __future__ import annotations

from urllib.parse import urlparse

from infra import demo
from tests.e2e.conftest import Stack


def test_the_readme_walkthrough_runs_as_written(stack: Stack) -> None:
    port = str(urlparse(stack.base_url).port)
    code = demo.run({"PORT": port, "AILAS_LOCAL_DIR": str(stack.log.parent)})
    assert code == 0


def test_the_walkthrough_block_is_the_one_in_the_readme() -> None:
    script = demo.walkthrough()
    assert "ailas --json upload" in script and "POST" not in script.split("\n")[0]
    assert script.count("jq -e") >= 4  # the steps check themselves
