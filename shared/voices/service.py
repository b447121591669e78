"""Registering voices: the rights sheet and its presigned upload, views, and status changes."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from shared import audit, aws, ids, keys, store
from shared.access import Principal, can_read_private
from shared.clock import iso, now, now_iso
from shared.errors import PayloadTooLarge, ValidationFailed
from shared.members import service as members
from shared.settings import get_settings
from shared.uploads import VOICE_PREFIX
from shared.voices.models import VoiceRegistration

VOICE = store.Entity("voice", keys.voice, "voice_not_found")
# The voices in the registry: registered audio, including audio two holders claim (conflict);
# what a trace reports and a performer's voice list shows.
IN_REGISTRY = ("registered", "conflict")
key, get, require = keys.voice, VOICE.get, VOICE.require
state = keys.without_keys


def owners(voice: dict[str, Any]) -> list[str]:
    """Who may see the full record: the holder and the voice's member performers."""
    return [voice["holder_id"], *voice.get("performer_ids", [])]


def size_range(declared: int) -> tuple[int, int]:
    """The sizes an upload declared as ``declared`` bytes may have: the declaration within
    0.1 % (at least 1 KiB), so a registration cannot be used to store some other, larger file."""
    margin = max(1024, declared // 1000)
    return max(1, declared - margin), min(get_settings().upload_max_bytes, declared + margin)


def presigned_upload(object_key: str, content_type: str, size_bytes: int) -> dict[str, Any]:
    settings = get_settings()
    expires = now() + timedelta(seconds=settings.upload_expiry_s)
    low, high = size_range(size_bytes)
    post = aws.s3.presigned_post(
        settings.bucket,
        object_key,
        {"Content-Type": content_type},
        [["starts-with", "$Content-Type", "audio/"], ["content-length-range", low, high]],
        settings.upload_expiry_s,
    )
    return {
        "url": post["url"],
        "fields": post["fields"],
        "expires_at": iso(expires),
        "max_bytes": high,
    }


def register(sheet: VoiceRegistration, holder: Principal) -> tuple[dict[str, Any], dict]:
    settings = get_settings()
    if sheet.file.size_bytes > settings.upload_max_bytes:
        raise PayloadTooLarge(
            f"The file is larger than the {settings.upload_max_bytes} bytes a voice may have.",
            code="too_large",
        )
    performer_ids = _member_performers(sheet.performer_ids)
    if not performer_ids and not sheet.performer_names:
        raise ValidationFailed(
            "Name at least one performer (performer_ids or performer_names).", code="no_performer"
        )
    voice = _new_voice(sheet, holder, performer_ids)
    voice_no = voice["voice_no"]
    tx = store.Transaction()
    tx.put(settings.registry_table, voice, "attribute_not_exists(pk)")
    for performer_id in performer_ids:  # the voices that name a performer, without a scan
        marker = keys.marker(keys.performer_pk(performer_id), keys.VOICE, voice_no)
        tx.put(settings.registry_table, {**marker, "voice_no": voice_no})
    audit.commit(
        tx,
        audit.Event(
            actor=holder.member_id,
            action="voice.created",
            entity=f"voice:{voice_no}",
            state=state(voice),
            data={"voice_no": voice_no, "holder_id": holder.member_id},
        ),
    )
    upload = presigned_upload(voice["upload_key"], sheet.file.content_type, sheet.file.size_bytes)
    return voice, upload


def _member_performers(raw_ids: list[str]) -> list[str]:
    """The named member performers, normalised; each must be an active performer."""
    performer_ids = []
    for raw in dict.fromkeys(raw_ids):
        performer_id = ids.normalize(raw, "member")
        performer = members.get(performer_id) if performer_id else None
        if performer is None or performer["kind"] != "performer" or performer["status"] != "active":
            raise ValidationFailed(
                f"{raw} is not an active performer member; name performers "
                "who are not members in performer_names.",
                code="unknown_performer",
                details={"performer_id": raw},
            )
        performer_ids.append(performer["member_id"])
    return performer_ids


def _new_voice(
    sheet: VoiceRegistration, holder: Principal, performer_ids: list[str]
) -> dict[str, Any]:
    at = now_iso()
    voice_no = ids.new_id("voice")
    return {
        **key(voice_no),
        "voice_no": voice_no,
        "status": "awaiting_upload",
        "title": sheet.title,
        "holder_id": holder.member_id,
        "performer_ids": performer_ids,
        "performer_names": sheet.performer_names,
        "language": sheet.language,
        "rights": sheet.rights.model_dump(),
        "retention": sheet.retention,
        "file": sheet.file.model_dump(),
        "upload_key": f"{VOICE_PREFIX}{voice_no}/{secrets.token_hex(8)}",
        "created_at": at,
        "updated_at": at,
        "gsi1pk": keys.holder(holder.member_id),
        "gsi1sk": f"VOICE#{at}#{voice_no}",
    }


def voice_markers(performer_id: str) -> list[dict[str, Any]]:
    return store.markers(keys.performer_pk(performer_id), keys.VOICE)


def for_performer(
    performer_id: str, statuses: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Every voice that names the performer (or those in ``statuses``), newest first."""
    found = list(VOICE.get_many(m["voice_no"] for m in voice_markers(performer_id)).values())
    found = [v for v in found if statuses is None or v["status"] in statuses]
    found.sort(key=lambda v: v["created_at"], reverse=True)
    return [{**v, "performers": performers_of(v)} for v in found]


def performers_of(voice: dict[str, Any]) -> list[dict[str, Any]]:
    refs = []
    for performer_id in voice.get("performer_ids", []):
        member = members.get(performer_id)
        refs.append(
            {
                "member_id": performer_id,
                "display_name": member["display_name"] if member else performer_id,
            }
        )
    refs += [{"member_id": None, "display_name": n} for n in voice.get("performer_names", [])]
    return refs


def view(voice: dict[str, Any], principal: Principal | None) -> tuple[dict[str, Any], bool]:
    """The record as ``principal`` may see it, and whether that is the full record."""
    shown = {**voice, "performers": performers_of(voice)}
    return shown, can_read_private(principal, owners(voice))


def list_for_holder(
    holder_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    voices, cursor = store.query_page(
        Key("gsi1pk").eq(keys.holder(holder_id)) & Key("gsi1sk").begins_with(keys.VOICE),
        limit=limit,
        cursor=cursor,
        forward=False,
    )
    return [{**v, "performers": performers_of(v)} for v in voices], cursor


def queue_fields(voice: dict[str, Any], to: str, at: str) -> dict[str, Any]:
    """A voice in ``conflict`` is in the operators' queue (the sparse gsi2), oldest first, and
    leaves it with its next status."""
    if to == "conflict":  # a new conflict: no decision of an earlier one holds for it
        since = voice.get("gsi2sk") or f"{at}#{voice['voice_no']}"
        fresh = {"decided_for": None, "decided_at": None} if voice["status"] != "conflict" else {}
        return {"gsi2pk": keys.VOICE_CONFLICTS, "gsi2sk": since, **fresh}
    return {"gsi2pk": None, "gsi2sk": None}  # removing an absent attribute is no error


def list_conflicts(
    holder_id: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Voices in ``conflict``: every holder's, the longest waiting first (the operators'
    queue), or ``holder_id``'s own, oldest first, read in its own partition (a cursor of the
    shared queue would carry other holders' voice numbers)."""
    if holder_id:
        voices, cursor = store.query_page(
            Key("gsi1pk").eq(keys.holder(holder_id)) & Key("gsi1sk").begins_with(keys.VOICE),
            limit=limit,
            cursor=cursor,
            filter_=Attr("status").eq("conflict"),
        )
    else:
        voices, cursor = store.query_page(
            Key("gsi2pk").eq(keys.VOICE_CONFLICTS), limit=limit, cursor=cursor, index="gsi2"
        )
    return [{**v, "performers": performers_of(v)} for v in voices], cursor


def transition(
    voice_no: str,
    *,
    to: str,
    allowed_from: tuple[str, ...],
    actor: str,
    action: str,
    changes: dict[str, Any] | None = None,
    extra_condition: tuple[str, dict[str, Any]] | None = None,
    tx: store.Transaction | None = None,
    data: dict[str, Any] | None = None,
    unchanged_since: str | None = None,
) -> dict[str, Any]:
    """Move a voice to ``to`` if it is in one of ``allowed_from`` (a conditional write), with
    its audit entry. Raises store.TransactionFailed (index 0) when the condition fails.
    ``unchanged_since``: the ``updated_at`` the caller read, for changes computed from that
    read (a list extended): the write then holds only if nothing changed the voice since."""
    voice = require(voice_no)
    at = now_iso()
    fields = {"status": to, "updated_at": at, **queue_fields(voice, to, at), **(changes or {})}
    new = {**voice, **fields}
    guard = (
        store.Guard("updated_at", (unchanged_since,))
        if unchanged_since
        else store.Guard("status", allowed_from, extra_condition)
    )
    store.transition(
        key(voice_no),
        fields,
        guard=guard,
        tx=tx,
        event=audit.Event(
            actor=actor,
            action=action,
            entity=f"voice:{voice_no}",
            state=state(new),
            data={"voice_no": voice_no, "from": voice["status"], "to": to, **(data or {})},
        ),
    )
    return new
