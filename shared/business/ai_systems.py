"""AI systems (事業登録): the registered system, its versioned training-data sheet, and the
per-voice usage markers that let a rights holder see where a voice is used."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from shared import audit, ids, keys, store
from shared.access import Principal
from shared.business.models import AiSystemSheet
from shared.clock import now_iso
from shared.errors import Conflict, Forbidden, ValidationFailed
from shared.members import service as members
from shared.settings import get_settings
from shared.voices import service as voices

AI_SYSTEM = store.Entity("AI system", keys.ai, "ai_system_not_found")
key, get, require = keys.ai, AI_SYSTEM.get, AI_SYSTEM.require


def require_owner(ai: dict[str, Any], principal: Principal) -> None:
    if principal.member_id != ai["business_id"]:
        raise Forbidden(
            "Only the business that registered this AI system may do this.", code="not_owner"
        )


def require_registered_voices(voice_nos: list[str]) -> list[dict[str, Any]]:
    """Every voice must exist and be ``registered``; one problem per voice otherwise."""
    found, problems = [], []
    known = voices.VOICE.get_many(voice_nos)
    for voice_no in voice_nos:
        voice = known.get(voice_no)
        if voice is None:
            problems.append({"voice_no": voice_no, "reason": "voice_not_found"})
        elif voice["status"] != "registered":
            problems.append(
                {"voice_no": voice_no, "reason": "voice_not_registered", "status": voice["status"]}
            )
        else:
            found.append(voice)
    if problems:
        raise ValidationFailed(
            "Every voice must be registered: " + ", ".join(p["voice_no"] for p in problems),
            code="voice_not_registered",
            details=problems,
        )
    return found


def _record(sheet: AiSystemSheet) -> dict[str, Any]:
    return {
        "name": sheet.name,
        "kind": sheet.kind,
        "role": sheet.role,
        "commercial": sheet.commercial,
        "uses": sheet.uses,
        "description": sheet.description,
        "services": [
            {"name": s.name, "url": str(s.url) if s.url else None} for s in sheet.services
        ],
        "training_data": sheet.training_data.model_dump(),
    }


def _usage_marker(voice_no: str, ai_no: str, name: str, business_id: str) -> dict[str, Any]:
    return {
        **keys.marker(keys.voice_pk(voice_no), keys.USED_BY, ai_no),
        "ai_no": ai_no,
        "name": name,
        "business_id": business_id,
        "since": now_iso(),
    }


def register(sheet: AiSystemSheet, business: Principal) -> dict[str, Any]:
    require_registered_voices(sheet.training_data.voices)
    at = now_iso()
    ai_no = ids.new_id("ai")
    record = {
        **_record(sheet),
        "ai_no": ai_no,
        "business_id": business.member_id,
        "version": 1,
        "registered_at": at,
        "updated_at": at,
    }
    table = get_settings().registry_table
    tx = store.Transaction()
    tx.put(
        table,
        {**key(ai_no), **record, "gsi1pk": keys.AI_SYSTEMS, "gsi1sk": f"{at}#{ai_no}"},
        "attribute_not_exists(pk)",
    )
    tx.put(table, {**keys.ai_version(ai_no, 1), **record}, "attribute_not_exists(pk)")
    for voice_no in sheet.training_data.voices:
        tx.put(table, _usage_marker(voice_no, ai_no, sheet.name, business.member_id))
    audit.commit(
        tx,
        audit.Event(
            actor=business.member_id,
            action="ai_system.registered",
            entity=f"ai:{ai_no}",
            state=record,
            data={"ai_no": ai_no, "voices": sheet.training_data.voices},
            public={
                "ai_no": ai_no,
                "name": sheet.name,
                "kind": sheet.kind,
                "business_id": business.member_id,
            },
        ),
    )
    return record


def update(ai_no: str, sheet: AiSystemSheet, principal: Principal) -> dict[str, Any]:
    """A new version of the sheet; label checks follow through the ``ai_system.updated`` event."""
    ai = require(ai_no)
    require_owner(ai, principal)
    require_registered_voices(sheet.training_data.voices)
    version = ai["version"] + 1
    record = {**ai, **_record(sheet), "version": version, "updated_at": now_iso()}
    record = keys.without_keys(record)
    table = get_settings().registry_table
    tx = store.Transaction()
    tx.put(
        table,
        {
            **key(ai_no),
            **record,
            "gsi1pk": keys.AI_SYSTEMS,
            "gsi1sk": f"{ai['registered_at']}#{ai_no}",
        },
        "version = :v",
        {":v": ai["version"]},
    )
    tx.put(table, {**keys.ai_version(ai_no, version), **record}, "attribute_not_exists(pk)")
    added, removed = _move_usage_markers(tx, ai, sheet)
    audit.commit(
        tx,
        audit.Event(
            actor=principal.member_id,
            action="ai_system.updated",
            entity=f"ai:{ai_no}",
            state=record,
            data={
                "ai_no": ai_no,
                "version": version,
                "voices_added": added,
                "voices_removed": removed,
            },
        ),
        conflict=Conflict(
            "The sheet changed meanwhile; read it and retry.", code="concurrent_write"
        ),
    )
    return record


def _move_usage_markers(
    tx: store.Transaction, ai: dict[str, Any], sheet: AiSystemSheet
) -> tuple[list[str], list[str]]:
    """Markers for the voices the new sheet adds, deletes for those it drops."""
    table, ai_no = get_settings().registry_table, ai["ai_no"]
    before, after = set(ai["training_data"]["voices"]), set(sheet.training_data.voices)
    for voice_no in sorted(after - before):
        tx.put(table, _usage_marker(voice_no, ai_no, sheet.name, ai["business_id"]))
    for voice_no in sorted(before - after):
        tx.delete(table, keys.marker(keys.voice_pk(voice_no), keys.USED_BY, ai_no))
    return sorted(after - before), sorted(before - after)


def with_business(ai: dict[str, Any], business: dict[str, Any] | None = None) -> dict[str, Any]:
    if business is None:
        business = members.get(ai["business_id"]) or {}
    return {
        **ai,
        "business": {
            "member_id": ai["business_id"],
            "display_name": business.get("display_name", ""),
        },
    }


def public_page(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    items, cursor = store.query_page(
        Key("gsi1pk").eq(keys.AI_SYSTEMS), limit=limit, cursor=cursor, forward=False
    )
    businesses = members.MEMBER.get_many({i["business_id"] for i in items})
    return [with_business(i, businesses.get(i["business_id"], {})) for i in items], cursor


def set_label(ai_no: str, label_no: str | None, status: str | None, tx: store.Transaction) -> None:
    """Part of a label transaction: the AI system shows its label's live status."""
    expression, names, values = store.set_fields({"label_no": label_no, "label_status": status})
    tx.update(
        get_settings().registry_table, key(ai_no), expression, "attribute_exists(pk)", values, names
    )
