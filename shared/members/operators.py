"""Operators of the association: members of kind ``operator``, created only by operator commands
(never through the public API)."""

from __future__ import annotations

from typing import Any

from shared import audit, ids, keys, store
from shared.clock import now_iso
from shared.members import tokens
from shared.settings import get_settings


def create_operator(name: str, email: str, token: str | None = None) -> tuple[dict[str, Any], str]:
    """Create an active operator and its token; the raw token is returned once."""
    if token is None:
        token, _ = tokens.new_token()
    at = now_iso()
    member_id = ids.new_id("member")
    prefix = tokens.prefix_of(token)
    operator = {
        **keys.member(member_id),
        "member_id": member_id,
        "kind": "operator",
        "name": name,
        "name_kana": "オペレーター",
        "display_name": name,
        "email": email.lower(),
        "organization": "AILAS",
        "terms_version": "-",
        "status": "active",
        "created_at": at,
        "updated_at": at,
        "approved_at": at,
        "token_prefix": prefix,
        "gsi1pk": keys.MEMBERS,
        "gsi1sk": f"{at}#{member_id}",
    }
    table = get_settings().registry_table
    tx = store.Transaction()
    tx.put(table, operator, "attribute_not_exists(pk)")
    tx.put(table, tokens.token_item(token, member_id, "operator"), "attribute_not_exists(pk)")
    # operators sign in to the portal by e-mail link like every member
    tx.put(table, {**keys.email(email.lower()), "member_id": member_id})
    audit.commit(
        tx,
        audit.Event(
            actor="system",
            action="operator.created",
            entity=f"member:{member_id}",
            state={k: v for k, v in operator.items() if k != "pk"},
            data={"member_id": member_id},
        ),
    )
    return operator, token


def ensure_local_operator(token: str) -> dict[str, Any]:
    """The local stack's operator, whose token API.md fixes (env or generated)."""
    existing = tokens.resolve(token)
    if existing is not None:
        return {"member_id": existing.member_id}
    operator, _ = create_operator("Local operator", "operator@localhost", token)
    return operator
