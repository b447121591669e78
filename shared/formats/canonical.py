"""The one canonical form of the registry's logs: what is stored, what is hashed, what outsiders
recompute. Pure Python (no boto3): the ``ailas`` client imports it to verify the public log.

The rule (README, "The audit log and the transparency log", states it for other implementers):

1. **Normalise**: object members whose value is null are dropped (DynamoDB cannot keep them, so
   they are never stored); every number is an IEEE-754 double, and one with an integral value
   below 2**53 is an integer (``2.0`` → ``2``); tuples are arrays; sets are sorted arrays.
2. **Serialise** as RFC 8785 (JSON Canonicalization Scheme): object members sorted by the UTF-16
   code units of their names, no whitespace, strings with only the escapes JSON requires
   (``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``, other controls as ``\\u00xx``), everything else
   as literal UTF-8; numbers as ECMAScript's ``Number.prototype.toString`` writes them
   (integers below 2**53 in plain digits, others in the shortest form that reads back the same).
3. **Hash**: SHA-256 of those bytes, lowercase hex.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64
SAFE_INTEGER = 2**53
AUDIT, PUBLIC = "audit", "public"
# The members of an entry that enter its hash, per chain (plus "chain" itself).
HASHED_FIELDS = {
    AUDIT: ("seq", "prev_hash", "at", "actor", "action", "entity", "digest", "data"),
    PUBLIC: ("seq", "prev_hash", "at", "actor", "action", "subject", "summary"),
}


def normalize(value: Any) -> Any:
    """The value as the canonical form sees it (rule 1). Unknown types pass through unchanged
    (binary attributes of registry items); :func:`dumps` refuses them."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, Mapping):
        return {_key(k): normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(normalize(v) for v in value)
    return value


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"object member names must be strings, not {type(key).__name__}")
    return key


def _number(value: int | float | Decimal) -> int | float:
    """JSON numbers are IEEE-754 doubles (RFC 8785): an integral value below 2**53 is an int,
    anything else the double nearest to it (DynamoDB keeps ``repr(float)`` exactly)."""
    if isinstance(value, int):
        return value if abs(value) < SAFE_INTEGER else float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no canonical form (JSON has no NaN or infinity)")
    elif not value.is_finite():
        raise ValueError(f"{value} has no canonical form (JSON has no NaN or infinity)")
    number = float(value)
    if number.is_integer() and abs(number) < SAFE_INTEGER:
        return int(number)
    return number


def dumps(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (rules 1 and 2)."""
    return _encode(normalize(value)).encode("utf-8")


def _encode(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return es_number(value)
    if isinstance(value, dict):
        names = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(f"{_encode(k)}:{_encode(value[k])}" for k in names) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def es_number(value: float) -> str:
    """ECMAScript Number::toString (ECMA-262 §6.1.6.1.20), as RFC 8785 §3.2.2.3 requires."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), int(exponent) + len(digits)  # value = 0.digits × 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"
    return sign + text


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(dumps(value)).hexdigest()


def chain_of(entry: Mapping[str, Any]) -> str:
    """The chain an entry belongs to: ``chain`` as served, ``pk`` as stored."""
    chain = entry.get("chain") or entry.get("pk")
    if chain not in HASHED_FIELDS:
        raise ValueError(f"unknown chain {chain!r}")
    return str(chain)


def hashed_view(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The object whose canonical JSON is hashed: ``chain`` and the chain's fields present."""
    chain = chain_of(entry)
    view = {k: entry[k] for k in HASHED_FIELDS[chain] if entry.get(k) is not None}
    return {"chain": chain, **view}


def entry_hash(entry: Mapping[str, Any]) -> str:
    return sha256_hex(hashed_view(entry))
