"""The label-signing public keys as verifiers see them: a JWKS kept in the registry table (by
the signer, and by the operator's key rotation), cached in-process. Verification never calls KMS.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from shared import aws, store
from shared import keys as registry_keys
from shared.labels import keys
from shared.settings import get_settings

JWKS_KEY = registry_keys.JWKS
CACHE_S = 300
_cache: dict[str, Any] = {"jwks": None, "at": 0.0}
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


def jwks(max_age_s: float = CACHE_S) -> dict[str, Any]:
    with _lock:
        if _cache["jwks"] is not None and time.monotonic() - _cache["at"] < max_age_s:
            return _cache["jwks"]
    item = store.get(JWKS_KEY, consistent=False)
    found = item["jwks"] if item else {"keys": []}
    with _lock:
        _cache.update(jwks=found, at=time.monotonic())
    return found


def knows(kid: str) -> bool:
    return any(k.get("kid") == kid for k in jwks().get("keys", []))


def forget() -> None:
    with _lock:
        _cache.update(jwks=None, at=0.0)
