"""The local moto server's access log keeps the requests moto failed and nothing routine."""

from __future__ import annotations

import logging

import pytest

from infra.moto_server import _ServerFailuresOnly


def _record(level: int, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("werkzeug", level, __file__, 1, message, args, None)


@pytest.mark.parametrize(
    ("code", "kept"), [("200", False), ("204", False), ("400", False), ("500", True), ("503", True)]
)
def test_request_lines_are_kept_only_for_server_failures(code: str, kept: bool) -> None:
    line = _record(logging.INFO, '"%s" %s %s', "POST / HTTP/1.1", code, "18")
    assert _ServerFailuresOnly().filter(line) is kept


def test_the_start_banner_and_errors_pass() -> None:
    only_failures = _ServerFailuresOnly()
    assert only_failures.filter(_record(logging.INFO, " * Running on %s", "http://127.0.0.1"))
    assert only_failures.filter(_record(logging.ERROR, "Error on request: %s %s %s", "a", "b", "c"))
