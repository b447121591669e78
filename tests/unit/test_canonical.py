"""The canonical form: RFC 8785 serialisation, and the DynamoDB round trip keeping every hash."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import store
from shared.formats import canonical

ROOT = Path(__file__).resolve().parents[2]
finite = st.floats(allow_nan=False, allow_infinity=False)
storable = finite.filter(lambda x: x == 0 or 1e-120 < abs(x) < 1e120)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | storable
    | st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-1e12, max_value=1e12)
    | st.text(max_size=10)
    | st.sampled_from(["", "山田 花子", "ｶﾀｶﾅ", "𠮷", "\u2028", "\x00\x1f\x7f"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)


def dynamodb_round_trip(value: object) -> object:
    """What a put and a get do to an attribute value: boto3's serialiser, the wire, back."""
    wire = TypeSerializer().serialize(store.to_dynamo(value))
    return store.from_dynamo(TypeDeserializer().deserialize(json.loads(json.dumps(wire))))


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_what_dynamodb_keeps_hashes_as_what_was_written(value: object) -> None:
    assert canonical.dumps(dynamodb_round_trip(value)) == canonical.dumps(value)
    assert canonical.sha256_hex(dynamodb_round_trip(value)) == canonical.sha256_hex(value)


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_canonical_json_is_json_and_normalising_is_idempotent(value: object) -> None:
    text = canonical.dumps(value)
    assert json.loads(text) == json.loads(canonical.dumps(json.loads(text)))
    assert canonical.normalize(canonical.normalize(value)) == canonical.normalize(value)


@settings(max_examples=1000, deadline=None)
@given(x=finite)
def test_numbers_read_back_as_the_same_double(x: float) -> None:
    assert float(json.loads(canonical.es_number(x))) == x


def test_rfc8785_examples() -> None:
    """RFC 8785 §3.2.2.3 and Appendix B number samples, and its key-ordering example."""
    samples = {
        1e21: "1e+21",
        1e-7: "1e-7",
        333333333.3333333: "333333333.3333333",
        0.000001: "0.000001",
        -0.0: "0",
        5e-324: "5e-324",
        1.7976931348623157e308: "1.7976931348623157e+308",
        9007199254740992.0: "9007199254740992",
        295147905179352830000.0: "295147905179352830000",
    }
    assert {x: canonical.es_number(x) for x in samples} == samples
    ordered = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "ö": 7}
    names = list(json.loads(canonical.dumps(ordered)))
    assert names == ["\r", "1", "\u0080", "ö", "\u20ac", "\U0001f600", "\ufb33"]


def test_nulls_in_objects_are_dropped_and_integral_numbers_are_integers() -> None:
    value = {"a": None, "b": [None, 2.0, Decimal("2.50")], "c": {"d": None}, "e": ""}
    assert canonical.dumps(value) == b'{"b":[null,2,2.5],"c":{},"e":""}'
    with pytest.raises(ValueError, match="no canonical form"):
        canonical.dumps({"x": math.nan})


def test_the_client_side_modules_do_not_import_boto3() -> None:
    code = (
        "import sys, ailas.log, ailas.cli, shared.formats.canonical, shared.formats.logchain; "
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, sorted(sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=os.environ, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
