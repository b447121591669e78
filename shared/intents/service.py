"""Writing and reading intents. Versions are immutable items; a ``CURRENT`` item per performer is
the version in force and the entry in the public registry. A new version is one transaction:
the version item, the CURRENT pointer (conditional on the version it replaces), the audit entry
and its public log entry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from shared import audit, keys, store
from shared.access import Principal
from shared.clock import now, now_iso
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.formats.uses import DECISION_NAMES, USE_CODES, USES
from shared.intents.models import IntentBody
from shared.members import service as members
from shared.settings import get_settings


def require_performer(performer_id: str) -> dict[str, Any]:
    member = members.get(performer_id)
    if member is None or member["kind"] == "operator":
        raise NotFound(f"No member {performer_id}.", code="member_not_found")
    if member["kind"] != "performer":
        raise ValidationFailed(
            f"{performer_id} is a {member['kind']}, not a performer; only "
            "performers register intents.",
            code="not_a_performer",
        )
    if member["status"] not in ("active", "suspended"):
        raise NotFound(f"No performer {performer_id}.", code="member_not_found")
    return member


# --- agents -------------------------------------------------------------------------------


def is_agent(performer_id: str, member_id: str) -> bool:
    return store.get(keys.agent(performer_id, member_id)) is not None


def agents(performer_id: str) -> list[dict[str, Any]]:
    found = store.markers(keys.performer_pk(performer_id), keys.AGENT)
    return [keys.without_keys(i) for i in found]


def represented_by(agent_id: str) -> list[dict[str, Any]]:
    """The performers who authorised the agency ``agent_id``, with their public names."""
    grants = store.query_all(Key("gsi1pk").eq(keys.agency(agent_id)), index="gsi1")
    found = members.MEMBER.get_many({g["performer_id"] for g in grants})
    return [
        {"performer_id": p, "display_name": found[p]["display_name"]}
        for p in (g["performer_id"] for g in grants)
        if p in found
    ]


def agency_fields(performer_id: str, agent_id: str) -> dict[str, str]:
    """What puts a grant in its agency's gsi1 partition (``represented_by``)."""
    return {
        "performer_id": performer_id,
        "gsi1pk": keys.agency(agent_id),
        "gsi1sk": f"PERFORMER#{performer_id}",
    }


def add_agent(performer_id: str, agent_id: str, actor: Principal) -> dict[str, Any]:
    require_performer(performer_id)
    agent = members.get(agent_id)
    if agent is None or agent["kind"] != "rights_holder" or agent["status"] != "active":
        raise ValidationFailed(
            f"{agent_id} is not an active rights holder (agency).", code="not_a_rights_holder"
        )
    item = {
        **keys.agent(performer_id, agent_id),
        **agency_fields(performer_id, agent_id),
        "agent_id": agent_id,
        "display_name": agent["display_name"],
        "granted_at": now_iso(),
        "granted_by": actor.member_id,
    }
    tx = store.Transaction()
    tx.put(get_settings().registry_table, item, "attribute_not_exists(pk)")
    audit.commit(
        tx,
        audit.Event(
            actor=actor.member_id,
            action="intent.agent_added",
            entity=f"performer:{performer_id}",
            state=item,
            data={"performer_id": performer_id, "agent_id": agent_id},
        ),
        conflict=Conflict(f"{agent_id} is already an agent.", code="already_agent"),
    )
    return item


def remove_agent(performer_id: str, agent_id: str, actor: Principal) -> None:
    require_performer(performer_id)
    tx = store.Transaction()
    tx.delete(
        get_settings().registry_table, keys.agent(performer_id, agent_id), "attribute_exists(pk)"
    )
    audit.commit(
        tx,
        audit.Event(
            actor=actor.member_id,
            action="intent.agent_removed",
            entity=f"performer:{performer_id}",
            state={"agent_id": agent_id, "removed": True},
            data={"performer_id": performer_id, "agent_id": agent_id},
        ),
        conflict=NotFound(f"{agent_id} is not an agent of {performer_id}.", code="not_agent"),
    )


# --- writing ------------------------------------------------------------------------------


def author_role(performer_id: str, principal: Principal) -> str:
    if principal.member_id == performer_id:
        return "performer"
    if principal.role == "rights_holder" and is_agent(performer_id, principal.member_id):
        return "agent"
    raise Forbidden(
        "Only the performer, or an agency the performer has authorised, may write this intent.",
        code="not_agent",
    )


def current(performer_id: str) -> dict[str, Any] | None:
    return store.get(keys.intent_current(performer_id))


def write(
    performer_id: str, body: IntentBody, principal: Principal, based_on: int | None = None
) -> dict[str, Any]:
    """A new version: the version item, the CURRENT pointer (conditional on the version it
    replaces), the audit entry and its public log entry, in one transaction. ``based_on``: the
    version ``body`` was made from; another one in force meanwhile refuses it (its changes would
    be undone unseen)."""
    performer = require_performer(performer_id)
    role = author_role(performer_id, principal)
    previous = current(performer_id)
    if based_on is not None and (previous or {}).get("version") != based_on:
        raise Conflict("The intent changed meanwhile; read it again.", code="concurrent_write")
    record = _record(performer, body, principal, role, previous)
    writes = _version_writes(performer_id, record, previous)
    # an agency writes only while it is one: removed meanwhile, its version is not written
    agency = None
    if role == "agent":
        agency = writes.check(
            get_settings().registry_table,
            keys.agent(performer_id, principal.member_id),
            "attribute_exists(pk)",
        )
    try:
        audit.commit(writes, _changed_event(performer, record, previous))
    except store.TransactionFailed as failure:
        if agency is not None and failure.failed_at(agency):
            raise Forbidden(
                "The performer removed this agency; it may no longer write the intent.",
                code="not_agent",
            ) from None
        raise Conflict(
            "Another version was written at the same time; read it and retry.",
            code="concurrent_write",
        ) from None
    return record


def _record(
    performer: dict[str, Any],
    body: IntentBody,
    principal: Principal,
    role: str,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "performer_id": performer["member_id"],
        "performer_name": performer["display_name"],
        "version": previous["version"] + 1 if previous else 1,
        "effective_at": now_iso(),
        "author": principal.member_id,
        "author_role": role,
        "uses": body.decisions(),
        "commercial": body.commercial,
        "conditions": body.conditions.model_dump(exclude_none=True),
        "valid_until": body.valid_until.isoformat() if body.valid_until else None,
        "note": body.note,
    }


def _version_writes(
    performer_id: str, record: dict[str, Any], previous: dict[str, Any] | None
) -> store.Transaction:
    table = get_settings().registry_table
    tx = store.Transaction()
    version_key = keys.intent_version(performer_id, record["version"])
    tx.put(table, {**version_key, **record}, "attribute_not_exists(pk)")
    pointer = {
        **keys.intent_current(performer_id),
        **record,
        "gsi1pk": keys.INTENTS,
        "gsi1sk": performer_id,
    }
    if previous:
        tx.put(table, pointer, "version = :previous", {":previous": previous["version"]})
    else:
        tx.put(table, pointer, "attribute_not_exists(pk)")
    return tx


def _changed_event(
    performer: dict[str, Any], record: dict[str, Any], previous: dict[str, Any] | None
) -> audit.Event:
    performer_id, version = performer["member_id"], record["version"]
    decisions = {"uses": record["uses"], "commercial": record["commercial"]}
    return audit.Event(
        actor=record["author"],
        action="intent.changed",
        entity=f"performer:{performer_id}",
        state=record,
        data={
            "performer_id": performer_id,
            "version": version,
            "author_role": record["author_role"],
            "old": in_force_decisions(previous) if previous else None,
            "new": decisions,
            "valid_until": record["valid_until"],
        },
        public={
            "performer_id": performer_id,
            "display_name": performer["display_name"],
            "version": version,
            **decisions,
            "valid_until": record["valid_until"],
            "author_role": record["author_role"],
        },
    )


# --- reading ------------------------------------------------------------------------------


def lapsed(record: dict[str, Any], at: datetime) -> bool:
    until = record.get("valid_until")
    return bool(until) and at.astimezone(UTC).date().isoformat() > str(until)


def in_force_decisions(record: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
    """The decisions a record stands for at ``at``: a lapsed intent is all ``contract``."""
    if lapsed(record, at or now()):
        return {"uses": dict.fromkeys(USE_CODES, "contract"), "commercial": "contract"}
    return {
        "uses": {c: record["uses"].get(c, "contract") for c in USE_CODES},
        "commercial": record.get("commercial", "contract"),
    }


def history(performer_id: str) -> list[dict[str, Any]]:
    return store.query_all(
        Key("pk").eq(keys.performer_pk(performer_id))
        & Key("sk").between("INTENT#000000", "INTENT#999999"),
        consistent=True,
    )


def stamp(at: datetime) -> str:
    """``at`` as the registry writes ``effective_at`` (UTC, microseconds, ``Z``)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def at_time(performer_id: str, at: datetime) -> dict[str, Any] | None:
    """The version that was in force at ``at`` (None before the first one)."""
    candidates = [v for v in history(performer_id) if v["effective_at"] <= stamp(at)]
    return candidates[-1] if candidates else None


def withdrawn(record: dict[str, Any]) -> IntentBody:
    """The intent ``record`` with consent to every use withdrawn: each use and commercial use
    denied, the conditions (territories, refused content, credit) kept; the public note
    dropped (it may say what was allowed: "TTS allowed" beside "deny" misleads), and the end
    date too (a lapsed intent counts as "contract": the withdrawal would expire)."""
    return IntentBody.model_validate(
        {
            "uses": dict.fromkeys(USES, "deny"),
            "commercial": "deny",
            "conditions": record.get("conditions") or {},
            "valid_until": None,  # a withdrawal does not lapse back into "contract"
            "note": None,
        }
    )


def view(
    record: dict[str, Any], performer_name: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """The public view: decisions in force, with Japanese and English names."""
    moment = at or now()
    decisions = in_force_decisions(record, moment)
    return {
        "performer_id": record["performer_id"],
        "performer_name": performer_name or record.get("performer_name"),
        "version": record["version"],
        "effective_at": record["effective_at"],
        "author": record["author"],
        "author_role": record["author_role"],
        "uses": decisions["uses"],
        "commercial": decisions["commercial"],
        "conditions": record.get("conditions", {}),
        "valid_until": record.get("valid_until"),
        "lapsed": lapsed(record, moment),
        "note": record.get("note"),
        "use_names": [
            {
                "code": code,
                "decision": decision,
                "name_ja": USES[code][0],
                "name_en": USES[code][1],
                "decision_ja": DECISION_NAMES[decision][0],
                "decision_en": DECISION_NAMES[decision][1],
            }
            for code, decision in decisions["uses"].items()
        ],
    }


def registry_page(
    use: str | None, value: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The public registry of intents in force, optionally those with ``use`` = ``value``."""
    records, next_cursor = store.query_page(
        Key("gsi1pk").eq(keys.INTENTS), limit=limit, cursor=cursor
    )
    moment = now()
    views = [view(r, at=moment) for r in records]
    if use is not None:
        views = [v for v in views if value is None or v["uses"][use] == value]
    return views, next_cursor
