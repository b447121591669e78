"""Signing in to the portal by e-mail link, and the sessions that follow.

- A sign-in link carries 256 random bits; only their SHA-256 is stored (``LOGIN#<hash>``), with
  its expiry. It works once: using it is a conditional write (not used, not expired).
- A session is the same: a random cookie value, stored hashed (``SESSION#<hash>``) with the
  member, an expiry and the CSRF token that every form of the session must send back.
- Both items carry ``ttl`` (epoch seconds), so DynamoDB deletes them after they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared import keys, store
from shared.access import Principal
from shared.clock import iso, now, now_iso
from shared.members import service as members
from shared.settings import get_settings


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _key(kind: str, secret: str) -> dict[str, str]:
    return {"pk": f"{kind}#{_hash(secret)}", "sk": kind}


@dataclass(frozen=True)
class Link:
    """A used sign-in link: whose it was and the portal page it was asked for from."""

    member_id: str
    landing: str
    created_at: str  # a link from before the member's last suspension is refused


@dataclass(frozen=True)
class Session:
    principal: Principal
    display_name: str
    csrf: str
    secret: str


def member_by_email(email: str) -> dict[str, Any] | None:
    found = store.get(keys.email(email.strip().lower()), consistent=False)
    member = members.get(found["member_id"]) if found else None
    return member if member and member["status"] == "active" else None


HOME = "/portal"


def landing(path: str | None) -> str:
    """Where a sign-in lands: the portal page asked for (``/signin?next=``), never another
    site's address (no scheme, no ``//`` host, no backslash, no control character)."""
    path = path or ""
    own = path == HOME or path.startswith((HOME + "/", HOME + "?"))
    plain = path.isascii() and path.isprintable() and len(path) <= 300  # a Location header
    where = path.split("?", 1)[0].lower()  # no ../ (nor %2e%2e/, which browsers read so) out
    walks = "//" in path or "\\" in path or "/." in where or "%2e" in where
    return path if own and plain and not walks else HOME


def new_link(member_id: str, ttl_s: int, next_page: str = HOME) -> str:
    """A one-time sign-in secret for ``member_id``; the caller mails the link."""
    secret = secrets.token_urlsafe(32)
    expires = now() + timedelta(seconds=ttl_s)
    store.registry().put_item(
        Item={
            **_key("LOGIN", secret),
            "member_id": member_id,
            "landing": landing(next_page),
            "created_at": now_iso(),
            "expires_at": iso(expires),
            "ttl": int(expires.timestamp()) + 3600,
        }
    )
    return secret


def redeem(link_secret: str) -> Link | None:
    """The member whose link this is, once: a second use or an expired link gives None."""
    if not 20 <= len(link_secret) <= 100:
        return None
    try:
        item = store.registry().update_item(
            Key=_key("LOGIN", link_secret),
            UpdateExpression="SET used_at = :now",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(used_at) "
            "AND expires_at > :now",
            ExpressionAttributeValues={":now": iso(now())},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    return Link(
        str(item["member_id"]),
        landing(str(item.get("landing") or HOME)),
        str(item.get("created_at") or ""),
    )


def may_sign_in(link: Link) -> bool:
    """Only an active member, and only by a link mailed after their last suspension: a link
    from before it does not come back with a reinstatement, as a session does not."""
    member = members.get(link.member_id)
    if not member or member["status"] != "active":
        return False
    if not link.created_at:  # mailed before links were dated: good unless ever suspended
        return not member.get("suspended_at")
    return link.created_at > str(member.get("suspended_at") or "")


def start(member_id: str) -> str:
    """A new session for the member; returns the cookie value."""
    secret = secrets.token_urlsafe(32)
    expires = now() + timedelta(seconds=get_settings().session_ttl_s)
    store.registry().put_item(
        Item={
            **_key("SESSION", secret),
            "member_id": member_id,
            "csrf": secrets.token_urlsafe(24),
            "started_at": now_iso(),
            "expires_at": iso(expires),
            "ttl": int(expires.timestamp()) + 3600,
        },
        ConditionExpression="attribute_not_exists(pk)",
    )
    return secret


def resume(secret: str | None) -> Session | None:
    """The live session behind a cookie value: not expired, its member still active, and
    begun after the member's last suspension (suspending ends every session at once; a
    reinstated member signs in again)."""
    if not secret or len(secret) > 100:
        return None
    item = store.registry().get_item(Key=_key("SESSION", secret), ConsistentRead=True).get("Item")
    if not item or item["expires_at"] <= iso(now()):
        return None
    member = members.get(str(item["member_id"]))
    if member is None or member["status"] != "active":
        return None
    if str(item.get("started_at", "")) <= str(member.get("suspended_at") or ""):
        return None
    # a session is not a token: the prefix names where the principal came from
    principal = Principal(member["member_id"], member["kind"], "web")
    return Session(principal, member["display_name"], str(item["csrf"]), secret)


def end(secret: str) -> None:
    store.registry().delete_item(Key=_key("SESSION", secret))


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf, sent or "")
