"""The label-signing public keys as verifiers see them: a JWKS kept in the registry table (by
the signer, and by the operator's key rotation), cached in-process. Verification never calls KMS.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from shared import aws, store
from shared import keys as registry_keys
from shared.formats import jws
from shared.labels import keys
from shared.settings import get_settings

JWKS_KEY = registry_keys.JWKS
CACHE_S = 300
# A token signed by a key the cache does not know yet (a rotation minutes ago, published by
# another process) re-reads the JWKS, at most this often: random kids cannot flood the table.
UNKNOWN_KID_REREAD_S = 5.0
_cache: dict[str, Any] = {"jwks": None, "at": 0.0, "reread_at": -UNKNOWN_KID_REREAD_S}
_lock = threading.Lock()


def publish() -> dict[str, Any]:
    """Rebuild the JWKS from KMS (current key + every key tagged for label signing) and store
    it. Called by the signer when it meets a new key, and by ``infra.ops rotate-label-key``."""
    kms = aws.kms.client()
    jwks = keys.jwks(kms, keys.signing_key_ids(kms, get_settings().label_key_id))
    store.registry().put_item(Item={**JWKS_KEY, "jwks": jwks})
    with _lock:
        _cache.update(jwks=jwks, at=time.monotonic())
    return jwks


def jwks(max_age_s: float = CACHE_S, consistent: bool = False) -> dict[str, Any]:
    with _lock:
        if _cache["jwks"] is not None and time.monotonic() - _cache["at"] < max_age_s:
            return _cache["jwks"]
    item = store.get(JWKS_KEY, consistent=consistent)
    found = item["jwks"] if item else {"keys": []}
    with _lock:
        _cache.update(jwks=found, at=time.monotonic())
    return found


def jwks_for(token: str) -> dict[str, Any]:
    """The JWKS to verify ``token`` with: the cached one, read again when it lacks the token's
    key (otherwise a label signed after a rotation read as forged for up to CACHE_S)."""
    found = jwks()
    try:
        kid = jws.header(token).get("kid")
    except jws.TokenError:
        return found  # the verification says what is wrong with it
    if kid is None or any(k.get("kid") == kid for k in found.get("keys", [])):
        return found
    with _lock:
        if time.monotonic() - _cache["reread_at"] < UNKNOWN_KID_REREAD_S:
            return found
        _cache["reread_at"] = time.monotonic()
    return jwks(max_age_s=0, consistent=True)  # a rotation a moment ago: not a stale replica


def knows(kid: str) -> bool:
    return any(k.get("kid") == kid for k in jwks().get("keys", []))


def forget() -> None:
    with _lock:
        _cache.update(jwks=None, at=0.0)
