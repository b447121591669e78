"""Membership rules: apply, decide, suspend, reinstate, rotate tokens. Every change is one
conditional transaction with its audit entry, so concurrent operators cannot both win."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from shared import audit, ids, keys, store
from shared.access import Principal, can_read_private
from shared.clock import now_iso
from shared.errors import Conflict
from shared.members import tokens
from shared.members.models import Application
from shared.settings import get_settings

PUBLIC_FIELDS = ("member_id", "kind", "display_name", "organization", "status", "approved_at")
MEMBER = store.Entity("member", keys.member, "member_not_found")
get, require = MEMBER.get, MEMBER.require
state = keys.without_keys


def public_view(member: dict[str, Any]) -> dict[str, Any]:
    return {k: member.get(k) for k in PUBLIC_FIELDS}


def visible(member_id: str, principal: Principal | None) -> tuple[dict[str, Any], bool]:
    """The member as ``principal`` may see it, and whether that is the full record. Operators
    are not members to the API; applications stay private until approved."""
    member = get(member_id)
    if member is None or member["kind"] == "operator":
        raise MEMBER.missing(member_id)
    if can_read_private(principal, [member_id]):
        return member, True
    if member["status"] not in ("active", "suspended"):
        raise MEMBER.missing(member_id)
    return public_view(member), False


def apply(application: Application) -> dict[str, Any]:
    """A pending application. An address an active member uses is not refused here — that
    would tell anyone who is a member, which sign-in takes care not to: the application is
    taken and marked, the address's owner is told by mail, and approving it is refused."""
    in_use = store.get(keys.email(application.email), consistent=False) is not None
    at = now_iso()
    member_id = ids.new_id("member")
    member = {
        **keys.member(member_id),
        **application.model_dump(),
        "member_id": member_id,
        "status": "pending",
        "created_at": at,
        "updated_at": at,
        "gsi1pk": keys.MEMBERS,
        "gsi1sk": f"{at}#{member_id}",
        **({"email_in_use": True} if in_use else {}),
    }
    tx = store.Transaction()
    tx.put(get_settings().registry_table, member, "attribute_not_exists(pk)")
    audit.commit(
        tx,
        audit.Event(
            actor=member_id,
            action="member.applied",
            entity=f"member:{member_id}",
            state=state(member),
            data={"kind": application.kind},
        ),
    )
    return member  # an address in use: its owner is told from the event (members/notices.py)


def list_members(
    status: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    return store.query_page(
        Key("gsi1pk").eq(keys.MEMBERS),
        limit=limit,
        cursor=cursor,
        forward=False,
        filter_=Attr("status").eq(status) if status else None,
    )


def _transition(
    member_id: str,
    actor: Principal,
    *,
    action: str,
    allowed_from: tuple[str, ...],
    to: str,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
    tx: store.Transaction | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """Move a member between statuses, conditional on the status it was read in."""
    member = require(member_id)
    _check_transition(member, action, allowed_from, to)
    changes = {
        "status": to,
        "updated_at": now_iso(),
        "decided_by": actor.member_id,
        "decision_reason": reason,
        **(extra or {}),
    }
    new = {**member, **changes}
    summary = {k: member[k] for k in ("member_id", "kind", "display_name")} | {"status": to}
    event = audit.Event(
        actor=actor.member_id,
        action=f"member.{action}",
        entity=f"member:{member_id}",
        state=state(new),
        data={"kind": member["kind"], "from": member["status"], "to": to},
        public=summary if public else None,
    )
    try:
        store.transition(
            keys.member(member_id),
            changes,
            guard=store.Guard("status", (member["status"],)),
            event=event,
            tx=tx,
        )
    except store.TransactionFailed as failure:
        if failure.failed_at(0):
            raise Conflict(
                "Someone else changed this member first.", code="already_decided"
            ) from None
        raise Conflict(
            "This email address is already used by an active member.", code="email_taken"
        ) from None
    return new


def _check_transition(
    member: dict[str, Any], action: str, allowed_from: tuple[str, ...], to: str
) -> None:
    if member["kind"] == "operator":
        raise Conflict("Operators are managed with the operator commands.", code="is_operator")
    if member["status"] not in allowed_from:
        # decided already: the member is where the request would take it (a repeat, another
        # operator's tab), or an application was decided the other way
        decided = member["status"] == to or (
            member["status"] in ("active", "rejected") and action in ("approved", "rejected")
        )
        raise Conflict(
            f"The member is {member['status']}, so it cannot be {action}.",
            code="already_decided" if decided else "invalid_transition",
            details={"status": member["status"]},
        )


def approve(member_id: str, actor: Principal) -> tuple[dict[str, Any], str]:
    member = require(member_id)
    token, prefix = tokens.new_token()
    settings = get_settings()
    tx = store.Transaction()
    tx.put(
        settings.registry_table,
        {**keys.email(member["email"]), "member_id": member_id},
        "attribute_not_exists(pk)",
    )
    tx.put(
        settings.registry_table,
        tokens.token_item(token, member_id, member["kind"]),
        "attribute_not_exists(pk)",
    )
    # Performers and businesses appear in the public log once approved (API.md, /v1/log).
    public = member["kind"] in ("performer", "business")
    new = _transition(
        member_id,
        actor,
        action="approved",
        allowed_from=("pending",),
        to="active",
        tx=tx,
        public=public,
        extra={"approved_at": now_iso(), "token_prefix": prefix},
    )
    return new, token


def reject(member_id: str, actor: Principal, reason: str) -> dict[str, Any]:
    return _transition(
        member_id, actor, action="rejected", allowed_from=("pending",), to="rejected", reason=reason
    )


def suspend(member_id: str, actor: Principal, reason: str) -> dict[str, Any]:
    return _transition(
        member_id,
        actor,
        action="suspended",
        allowed_from=("active",),
        to="suspended",
        reason=reason,
        extra={"suspended_at": now_iso()},  # portal sessions begun before it end (sessions.py)
    )


def reinstate(member_id: str, actor: Principal, reason: str) -> dict[str, Any]:
    return _transition(
        member_id,
        actor,
        action="reinstated",
        allowed_from=("suspended",),
        to="active",
        reason=reason,
    )


def rotate_token(member_id: str, actor: Principal) -> tuple[dict[str, Any], str]:
    """A new token; the old one stops working in the same transaction."""
    member = require(member_id)
    if member["status"] != "active":
        raise Conflict(f"The member is {member['status']}.", code="invalid_transition")
    token, prefix = tokens.new_token()
    new = _swap_token(
        member,
        actor,
        token,
        "member.token_rotated",
        {"old_prefix": member.get("token_prefix"), "new_prefix": prefix},
        Conflict("The token was rotated concurrently; try again.", code="already_rotated"),
    )
    return new, token


def revoke_token(member_id: str, actor: Principal) -> dict[str, Any]:
    """Stop the member's API token without issuing another (the portal's "revoke")."""
    member = require(member_id)
    old_prefix = member.get("token_prefix")
    if not old_prefix:
        raise Conflict("There is no token to revoke.", code="no_token")
    return _swap_token(
        member,
        actor,
        None,
        "member.token_revoked",
        {"old_prefix": old_prefix},
        Conflict("The token changed meanwhile; try again.", code="already_rotated"),
    )


def _swap_token(
    member: dict[str, Any],
    actor: Principal,
    token: str | None,
    action: str,
    data: dict[str, Any],
    conflict: Conflict,
) -> dict[str, Any]:
    """The member's token replaced by ``token`` (or by none) and the old one revoked, in one
    transaction conditional on the token read."""
    member_id, old_prefix = member["member_id"], member.get("token_prefix")
    prefix = tokens.prefix_of(token) if token else None
    at, table = now_iso(), get_settings().registry_table
    expression, names, values = store.set_fields({"token_prefix": prefix, "updated_at": at})
    tx = store.Transaction()
    tx.update(
        table,
        keys.member(member_id),
        expression,
        "token_prefix = :old" if old_prefix else "attribute_not_exists(token_prefix)",
        values | ({":old": old_prefix} if old_prefix else {}),
        names,
    )
    if token:
        tx.put(
            table, tokens.token_item(token, member_id, member["kind"]), "attribute_not_exists(pk)"
        )
    if old_prefix:
        tx.update(
            table,
            keys.token(old_prefix),
            "SET #s = :revoked, revoked_at = :at",
            None,
            {":revoked": "revoked", ":at": at},
            {"#s": "status"},
        )
    new = {k: v for k, v in {**member, "token_prefix": prefix}.items() if v is not None}
    audit.commit(
        tx,
        audit.Event(
            actor=actor.member_id,
            action=action,
            entity=f"member:{member_id}",
            state=state(new),
            data=data,
        ),
        conflict=conflict,
    )
    return new
