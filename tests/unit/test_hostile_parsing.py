"""The defensive parsers every request goes through: bounded JSON, query integers, instants,
signed cursors and label tokens. Each case is one the issue found answered by a 500."""

from __future__ import annotations

import base64
import json

import pytest

from shared import store
from shared.clock import parse_instant
from shared.errors import BadRequest
from shared.formats import json_input, jws


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[" * 50_000, "too_deep"),
        (b'{"a":' * 65 + b"1" + b"}" * 65, "too_deep"),
        (b'{"x": NaN}', "invalid_number"),
        (b'{"x": Infinity}', "invalid_number"),
        (b'{"x": -Infinity}', "invalid_number"),
        (b'{"x": 1e400}', "invalid_number"),
        (b'{"x": 1e-200}', "invalid_number"),
        (b'{"x": ' + b"9" * 60 + b"}", "invalid_number"),
        (b'{"x": "\xff\xfe"}', "invalid_json"),
        ('{"x": "a\u202eb"}'.encode(), "invalid_character"),  # right-to-left override
        ('{"x": "a\u200bb"}'.encode(), "invalid_character"),  # zero-width space
        ('{"a\u2066": 1}'.encode(), "invalid_character"),  # bidi isolate in a key
        (b'{"x": "\\ud800"}', "invalid_character"),  # a lone surrogate, escaped
        (b'{"x": ', "invalid_json"),
    ],
)
def test_hostile_json_is_refused_with_a_code(raw: bytes, code: str) -> None:
    with pytest.raises(json_input.JsonRejected) as rejected:
        json_input.loads(raw)
    assert rejected.value.code == code
    # out-of-range values and invisible characters are well-formed JSON (422 at the edge)
    assert isinstance(rejected.value, json_input.JsonValueRejected) == (
        code in ("invalid_number", "invalid_character")
    )


def test_ordinary_json_passes_unchanged() -> None:
    text = '{"name": "山田 花子 [x]", "n": 12, "f": 0.5, "z": 0, "nested": [[{"a": "]]]"}]]}'
    assert json_input.loads(text.encode()) == json.loads(text)
    assert json_input.depth(b'{"a": "[[[[[[[[["}') == 1  # brackets inside strings do not count


@pytest.mark.parametrize("raw", ["²", "٣", "1_0", "5.0", "-1", "0", "201", "9" * 40, " ", "0x5"])
def test_page_limit_takes_only_ascii_digits_in_range(raw: str) -> None:
    with pytest.raises(BadRequest) as refused:
        store.page_limit(raw)
    assert refused.value.code == "invalid_limit"


def test_page_limit_defaults_and_reads_plain_numbers() -> None:
    assert store.page_limit(None) == 50
    assert store.page_limit("7") == 7


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01",
        "1969-12-31T00:00:00Z",
        "２０２６-01-01",
        "2026-13-01",
        "x" * 100,
    ],
)
def test_instants_outside_a_sane_range_are_400(raw: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_instant(raw)
    assert refused.value.code == "invalid_time"


def test_instants_are_normalised_to_utc() -> None:
    assert parse_instant("2026-06-01T09:00:00+09:00").isoformat() == "2026-06-01T00:00:00+00:00"
    assert parse_instant("2026-06-01").isoformat() == "2026-06-01T00:00:00+00:00"


@pytest.fixture
def cursor_key(monkeypatch: pytest.MonkeyPatch):
    from shared.settings import reset_settings

    monkeypatch.setenv("AILAS_CURSOR_KEY", "unit-test-key")
    reset_settings()
    store.forget_cursor_key()
    yield
    monkeypatch.delenv("AILAS_CURSOR_KEY")
    reset_settings()
    store.forget_cursor_key()


def test_cursors_round_trip_and_forgeries_are_refused(cursor_key: None) -> None:
    key = {"pk": "MEMBER#M-1", "sk": "MEMBER", "gsi1pk": "MEMBERS", "gsi1sk": "2026"}
    cursor = store.encode_cursor(key)
    assert cursor is not None
    assert store.decode_cursor(cursor) == key
    forged_payload = base64.urlsafe_b64encode(b'{"pk":"x"}').decode().rstrip("=")
    payload, _, tag = cursor.partition(".")
    for forged in (
        forged_payload,  # the example: base64 of {"pk":"x"}, unsigned
        f"{forged_payload}.{tag}",  # someone else's tag
        f"{payload}.{tag[:-1]}A" if tag[-1] != "A" else f"{payload}.{tag[:-1]}B",
        "²",
        "." * 3000,
    ):
        with pytest.raises(BadRequest) as refused:
            store.decode_cursor(forged)
        assert refused.value.code == "invalid_cursor"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "...",
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode().rstrip("=") + ".e30.AAAA",
        base64.urlsafe_b64encode(b"[" * 12_000).decode().rstrip("=") + ".e30.AAAA",
        base64.urlsafe_b64encode(b'{"alg":"ES256","kid":["x"]}').decode().rstrip("=") + ".e30.AAAA",
        base64.urlsafe_b64encode(b'{"alg":"ES256","kid":"k"}').decode().rstrip("=")
        + ".e30.A",  # base64 of impossible length
        "é.é.é",
        "x" * 30_000,
    ],
)
def test_garbage_tokens_fail_cleanly(token: str) -> None:
    jwks = {"keys": [{"kty": "EC", "crv": "P-256", "kid": "k", "x": "AA", "y": "AA"}]}
    with pytest.raises(jws.TokenError) as failed:
        jws.verify(token, jwks)
    assert failed.value.reason in (
        "malformed",
        "unknown_kid",
        "bad_signature",
        "alg_not_allowed",
        "wrong_type",
        "unsupported_header",
    )


def test_a_token_with_a_trailing_newline_verifies_as_itself() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()

    class Signer:
        kid = "k1"

        def sign_der(self, message: bytes) -> bytes:
            return private.sign(message, ec.ECDSA(hashes.SHA256()))

    def b64(n: int) -> str:
        return jws.b64url(n.to_bytes(32, "big"))

    jwks = {
        "keys": [
            {"kty": "EC", "crv": "P-256", "kid": "k1", "x": b64(numbers.x), "y": b64(numbers.y)}
        ]
    }
    token = jws.sign({"label_no": "L-1", "exp": 4_000_000_000}, Signer())
    pasted = token + "\r\n"
    assert jws.normalize(pasted) == token
    assert jws.verify(pasted, jwks)["label_no"] == "L-1"


def test_a_token_naming_critical_extensions_is_refused_though_signed() -> None:
    """RFC 7515 §4.1.11: a verifier that does not understand what ``crit`` lists must refuse."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    key = {"kty": "EC", "crv": "P-256", "kid": "k1", "x": jws.b64url(numbers.x.to_bytes(32, "big")),
           "y": jws.b64url(numbers.y.to_bytes(32, "big"))}  # fmt: skip
    head = jws.b64url(json.dumps({"alg": "ES256", "typ": jws.TYP, "kid": "k1",
                                  "crit": ["exp-ext"], "exp-ext": 1}).encode())  # fmt: skip
    body = jws.b64url(json.dumps({"label_no": "L-1", "exp": 4_000_000_000}).encode())
    der = private.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    token = f"{head}.{body}.{jws.b64url(jws.der_to_raw(der))}"
    with pytest.raises(jws.TokenError) as failed:
        jws.verify(token, {"keys": [key]})
    assert failed.value.reason == "unsupported_header"
