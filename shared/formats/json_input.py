"""JSON from outside (request bodies, token headers), parsed with bounds.

``json.loads`` recurses once per nesting level (50,000 ``[`` raise ``RecursionError``), accepts
``NaN``/``Infinity``, turns ``1e400`` into ``inf`` and builds integers of any length, none of
which DynamoDB or the serializers take. Here the depth is measured *before* parsing (strings
removed, brackets counted with numpy), numbers must be finite and storable, and every string
(object keys too) is free of Unicode format characters (Cf: bidi overrides, zero-width
characters, BOM) and lone surrogates, which make text read differently than it is stored.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

import numpy as np

MAX_DEPTH = 64
MAX_INT_DIGITS = 18  # below 2**63 and within DynamoDB's 38 significant digits
# DynamoDB numbers: magnitude from 1e-130 to 9.99e125; floats are kept well inside.
MIN_FLOAT, MAX_FLOAT = 1e-100, 1e100
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")


class JsonRejected(Exception):
    """Input that is not JSON this API reads (malformed, not UTF-8, too deep): ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class JsonValueRejected(JsonRejected):
    """Well-formed JSON holding a value this API does not store (a number out of range, an
    invisible formatting character)."""


def depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (strings ignored), without parsing."""
    skeleton = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    steps = np.isin(skeleton, list(_OPEN)).astype(np.int32) - np.isin(
        skeleton, list(_CLOSE)
    ).astype(np.int32)
    return int(np.cumsum(steps).max()) if len(steps) else 0


def _constant(name: str) -> Any:
    raise JsonValueRejected("invalid_number", f"{name} is not a number this API takes.")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonValueRejected("invalid_number", f"Integers have at most {MAX_INT_DIGITS} digits.")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or (value != 0 and not MIN_FLOAT <= abs(value) <= MAX_FLOAT):
        raise JsonValueRejected(
            "invalid_number",
            f"{text[:40]} is out of range: numbers are finite, 0 or between "
            f"{MIN_FLOAT:g} and {MAX_FLOAT:g} in magnitude.",
        )
    return value


def bad_character(text: str) -> str | None:
    """The first format character (Cf) or lone surrogate (Cs) in ``text``, if any."""
    for char in text:
        if unicodedata.category(char) in ("Cf", "Cs"):
            return char
    return None


def _check_strings(value: Any, path: str) -> None:
    if isinstance(value, str):
        if (char := bad_character(value)) is not None:
            raise JsonValueRejected(
                "invalid_character",
                f"{path or 'body'} contains U+{ord(char):04X}, an invisible formatting or "
                "direction character; remove it.",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, path)
            _check_strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_strings(item, f"{path}.{i}" if path else str(i))


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH, check_strings: bool = True) -> Any:
    """Parse ``raw`` or raise :class:`JsonRejected` (never RecursionError/OverflowError)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if (deepest := depth(data)) > max_depth:
        raise JsonRejected(
            "too_deep", f"The JSON nests {deepest} levels; at most {max_depth} are allowed."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonRejected("invalid_json", "The JSON is not valid UTF-8.") from None
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except JsonRejected:
        raise
    except (ValueError, RecursionError) as error:
        raise JsonRejected("invalid_json", f"Not valid JSON: {str(error)[:200]}") from None
    if check_strings:
        _check_strings(value, "")
    return value
