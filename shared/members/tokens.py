"""Bearer tokens: 256 bits from the OS's CSPRNG, shown once, stored only as a SHA-256 hash under a
short public prefix (the lookup key, also safe to show in lists and logs)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from shared import keys, store
from shared.access import Principal
from shared.clock import now_iso

_SHAPE = re.compile(r"^ailas_([0-9a-z]{8})_[A-Za-z0-9_-]{43}$")


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits: a fast hash suffices (nothing to brute-force).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def prefix_of(token: str) -> str:
    """The lookup key. Tokens of our own shape carry it; any other (e.g. an operator token
    chosen through AILAS_OPERATOR_TOKEN) is looked up by a prefix of its hash."""
    match = _SHAPE.match(token)
    return match.group(1) if match else "h" + token_hash(token)[:11]


def new_token() -> tuple[str, str]:
    prefix = "".join(secrets.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(8))
    return f"ailas_{prefix}_{secrets.token_urlsafe(32)}", prefix


def token_item(token: str, member_id: str, role: str) -> dict[str, Any]:
    prefix = prefix_of(token)
    return {
        **keys.token(prefix),
        "token_prefix": prefix,
        "token_hash": token_hash(token),
        "member_id": member_id,
        "role": role,
        "status": "active",
        "created_at": now_iso(),
    }


def resolve(token: str) -> Principal | None:
    """The active member behind ``token``, or None. Two reads: the token, then its member
    (so a suspension takes effect at once)."""
    if len(token) > 200:
        return None
    prefix = prefix_of(token)
    item = store.get(keys.token(prefix), consistent=False)
    if not item or item.get("status") != "active":
        return None
    if not hmac.compare_digest(item["token_hash"], token_hash(token)):
        return None
    member = store.get(keys.member(item["member_id"]), consistent=False)
    if not member or member.get("status") != "active" or member.get("token_prefix") != prefix:
        return None
    return Principal(member_id=item["member_id"], role=member["kind"], token_prefix=prefix)
