"""Compact JWS (RFC 7515) with ES256 for label tokens: sign through any signer that returns an
ECDSA P-256 signature (KMS gives DER), verify offline against a JWKS — no KMS call."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

TYP = "ailas-label+jwt"
# A checkpoint is signed with the same key, so its own type keeps one from passing as a label.
CHECKPOINT_TYP = "ailas-checkpoint+jwt"
TYPES = (TYP, CHECKPOINT_TYP)
LEEWAY_S = 60


class TokenError(Exception):
    """Why a token does not verify: ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class Signer(Protocol):
    kid: str

    def sign_der(self, message: bytes) -> bytes:
        """An ECDSA P-256 / SHA-256 signature of ``message``, DER-encoded."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise TokenError("malformed", "bad base64url") from error


def der_to_raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def raw_to_der(raw: bytes) -> bytes:
    if len(raw) != 64:
        raise TokenError("bad_signature", "an ES256 signature has 64 bytes")
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def sign(claims: dict[str, Any], signer: Signer, typ: str = TYP) -> str:
    if typ not in TYPES:
        raise ValueError(f"this key signs only {', '.join(TYPES)}")
    header = {"alg": "ES256", "typ": typ, "kid": signer.kid}
    signing_input = f"{b64url(_json(header))}.{b64url(_json(claims))}".encode()
    return f"{signing_input.decode()}.{b64url(der_to_raw(signer.sign_der(signing_input)))}"


MAX_TOKEN_CHARS = 20_000
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


def normalize(token: str) -> str:
    """The token as issued: surrounding whitespace (a pasted newline) removed. Used once, by
    callers, for both the signature check and the lookup, so that the two cannot disagree."""
    return token.strip()


def _parts(token: str) -> tuple[str, str, str]:
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed", f"longer than {MAX_TOKEN_CHARS} characters")
    parts = normalize(token).split(".")
    if len(parts) != 3 or not all(_B64URL.match(p) for p in parts):
        raise TokenError("malformed", "a compact JWS has three dot-separated base64url parts")
    return parts[0], parts[1], parts[2]


def _json_object(encoded: str, what: str) -> dict[str, Any]:
    """A base64url JSON object, bounded: invalid UTF-8 or 12,000 nested '[' fail cleanly."""
    from . import json_input

    try:
        value = json_input.loads(b64url_decode(encoded), max_depth=16, check_strings=False)
    except json_input.JsonRejected as error:
        raise TokenError("malformed", f"the {what} is not JSON ({error.code})") from None
    if not isinstance(value, dict):
        raise TokenError("malformed", f"the {what} is not an object")
    return value


def header(token: str) -> dict[str, Any]:
    return _json_object(_parts(token)[0], "header")


def public_key(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise TokenError("unknown_kid", "not a P-256 key")
    try:
        x = int.from_bytes(b64url_decode(str(jwk["x"])), "big")
        y = int.from_bytes(b64url_decode(str(jwk["y"])), "big")
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except (KeyError, ValueError) as error:  # a JWKS given to `ailas verify` may be anything
        raise TokenError("unknown_kid", "the key is not a valid P-256 point") from error


def verify(
    token: str,
    jwks: dict[str, Any],
    *,
    now: float | None = None,
    check_expiry: bool = True,
    leeway_s: int = LEEWAY_S,
    typ: str = TYP,
) -> dict[str, Any]:
    """The claims of a token of type ``typ`` whose ES256 signature verifies with a key of
    ``jwks``."""
    encoded_header, encoded_claims, encoded_signature = _parts(token)
    head = header(token)
    if head.get("alg") != "ES256":
        raise TokenError("alg_not_allowed", f"alg {str(head.get('alg'))[:20]!r}")
    if "crit" in head:  # RFC 7515 §4.1.11: extensions this verifier does not know
        raise TokenError("unsupported_header", "crit names extensions this verifier does not know")
    if not isinstance(head.get("kid"), str):
        raise TokenError("unknown_kid", "the header names no key")
    jwk = next((k for k in jwks.get("keys", []) if k.get("kid") == head.get("kid")), None)
    if jwk is None:
        raise TokenError("unknown_kid", f"no key {head['kid'][:80]!r} in the JWKS")
    try:
        public_key(jwk).verify(
            raw_to_der(b64url_decode(encoded_signature)),
            f"{encoded_header}.{encoded_claims}".encode(),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature:
        raise TokenError("bad_signature") from None
    if head.get("typ") != typ:  # checked once signed: a genuine token of another kind
        raise TokenError("wrong_type", f"typ {str(head.get('typ'))[:40]!r}, expected {typ!r}")
    claims = _json_object(encoded_claims, "claims")
    moment = time.time() if now is None else now
    if (
        check_expiry
        and isinstance(claims.get("exp"), int | float)
        and moment > claims["exp"] + leeway_s
    ):
        raise TokenError("expired")
    if isinstance(claims.get("iat"), int | float) and claims["iat"] > moment + leeway_s:
        raise TokenError("not_yet_valid")
    return claims
