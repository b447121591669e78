"""Property-based fuzzing of the whole API from the OpenAPI document it serves (schemathesis),
against the real local stack: valid and invalid bodies, query strings and path parameters for
every operation. No answer is a 5xx; every 4xx has the API's error shape.

Bounded for CI: ``AILAS_FUZZ_EXAMPLES`` examples per operation and mode (positive, negative)
within ``AILAS_FUZZ_BUDGET_S``, derandomized (the same requests on every run), no shrinking, no
example database on disk. Every operation is fuzzed even after a failure, so one run lists every
finding.
"""

from __future__ import annotations

import json
import os
import time

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from tests.e2e.conftest import Stack

FUZZ_EXAMPLES = int(os.environ.get("AILAS_FUZZ_EXAMPLES", "6"))
# A bound on the run, not an assertion: past it, each remaining operation gets one example per
# mode, so every operation is still called on a slow machine.
BUDGET_S = float(os.environ.get("AILAS_FUZZ_BUDGET_S", "30"))
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def _finding(case, stack: Stack, pages: set[tuple[str, str]]) -> str | None:
    response = case.call(
        base_url=stack.base_url,
        headers={"Authorization": f"Bearer {stack.operator_token}"},
        timeout=30,
    )
    where = f"{case.method} {case.formatted_path} {case.query or ''} → {response.status_code}"
    if response.status_code >= 500:
        return f"{where}: {response.text[:300]}"
    if response.status_code >= 400 and (case.method, case.path) not in pages:
        try:
            body = json.loads(response.content)
        except ValueError:
            return f"{where}: not JSON: {response.text[:200]}"
        if not (
            isinstance(body, dict)
            and isinstance(body.get("code"), str)
            and isinstance(body.get("message"), str)
        ):
            return f"{where}: not the error shape: {response.text[:200]}"
    return None


def test_no_request_gets_a_5xx_and_every_4xx_has_the_error_shape(stack: Stack) -> None:
    schema = schemathesis.openapi.from_url(f"{stack.base_url}/v1/openapi.json")
    # Pages for people (the verify page, badges) answer errors in their own format.
    document = requests.get(f"{stack.base_url}/v1/openapi.json", timeout=30).json()
    pages = {
        (method.upper(), path)
        for path, methods in document["paths"].items()
        for method, spec in methods.items()
        if not any(
            "json" in ctype
            for status, answer in spec["responses"].items()
            if status < "400"  # error answers are shared references or the page's own
            for ctype in answer.get("content", {})
        )
    }
    findings: list[str] = []
    operations = 0
    requests_sent = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        examples = FUZZ_EXAMPLES if time.monotonic() - started < BUDGET_S else 1
        for mode in MODES:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case) -> None:
                nonlocal requests_sent
                requests_sent += 1
                if (finding := _finding(case, stack, pages)) is not None:
                    findings.append(finding)

            try:
                fuzz()
            except Unsatisfiable:
                # No negative case exists (an operation without parameters or body).
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    print(f"fuzzed {operations} operations with {requests_sent} requests")
    assert operations >= 40, operations
    assert requests_sent >= operations * len(MODES), requests_sent
    assert not findings, "\n".join(sorted({f[:160] for f in findings})[:60])
