"""Label-signing keys in KMS (ECC_NIST_P256, SIGN_VERIFY) and their public JWKs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.formats.jws import b64url

TAG = {"TagKey": "ailas:label-signing", "TagValue": "true"}
_public_keys: dict[str, dict[str, Any]] = {}  # KMS key id → JWK; public keys never change


def jwk_of(public: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    numbers = public.public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }
    # RFC 7638 thumbprint: stable, and derivable by anyone from the JWKS
    thumbprint = hashlib.sha256(
        json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    ).digest()
    return {**jwk, "kid": b64url(thumbprint), "use": "sig", "alg": "ES256"}


def jwk_for_key(kms: Any, key_id: str) -> dict[str, Any]:
    if key_id not in _public_keys:
        der = kms.get_public_key(KeyId=key_id)["PublicKey"]
        public = serialization.load_der_public_key(der)
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise ValueError(f"{key_id} is not an EC key")
        _public_keys[key_id] = jwk_of(public)
    return _public_keys[key_id]


def signing_key_ids(kms: Any, alias: str) -> list[str]:
    """The alias's current key first, then every key tagged for label signing (older keys stay
    published so that labels they signed keep verifying)."""
    current = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    ids = [current]
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            if key["KeyId"] in ids:
                continue
            if TAG in _tags(kms, key["KeyId"]):
                ids.append(key["KeyId"])
    return ids


def _tags(kms: Any, key_id: str) -> list[dict[str, str]]:
    """A key's tags; none for a key this role may not read (another team's key in a shared
    account, whose policy does not defer to IAM) or one deleted meanwhile: not ours."""
    try:
        return list(kms.list_resource_tags(KeyId=key_id).get("Tags", []))
    except ClientError as error:
        if error.response["Error"]["Code"] in ("AccessDeniedException", "NotFoundException"):
            return []
        raise


def jwks(kms: Any, key_ids: list[str]) -> dict[str, Any]:
    return {"keys": [jwk_for_key(kms, key_id) for key_id in key_ids]}


class KmsSigner:
    """Signs with KMS (ECDSA_SHA_256); the ``kid`` is the public key's JWK thumbprint."""

    def __init__(self, key_id: str, kms: Any) -> None:
        self.kms = kms
        self.key_id = kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"]
        self.kid = jwk_for_key(kms, self.key_id)["kid"]

    def sign_der(self, message: bytes) -> bytes:
        return self.kms.sign(
            KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
        )["Signature"]


class LocalSigner:
    """A signer holding its own key (tests and tools)."""

    def __init__(self, private: ec.EllipticCurvePrivateKey | None = None) -> None:
        from cryptography.hazmat.primitives import hashes

        self._hashes = hashes
        self.private = private or ec.generate_private_key(ec.SECP256R1())
        self.jwk = jwk_of(self.private.public_key())
        self.kid = self.jwk["kid"]

    def sign_der(self, message: bytes) -> bytes:
        return self.private.sign(message, ec.ECDSA(self._hashes.SHA256()))
