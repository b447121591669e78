"""Voice registration routes (音声登録)."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint
from pydantic import Field

from functions.api.http import Call, MemberPath, PageQuery, VoicePath, id_example, route
from shared import access, ids
from shared.access import Principal
from shared.members.models import Reason
from shared.voices import conflicts, service
from shared.voices.models import Voice, VoiceCreated, VoicePage, VoicePublic, VoiceRegistration

bp = Blueprint(__name__)
TAG = "voices"


# How a client sends the audio after POST /v1/voices (and /v1/traces, /v1/screens): a
# presigned S3 POST, documented as an extension because OpenAPI cannot describe a request to a
# URL taken from a response.
PRESIGNED_UPLOAD = {
    "x-presigned-upload": {
        "upload": "$response.body#/upload",
        "method": "POST",
        "url": "$response.body#/upload/url",
        "content_type": "multipart/form-data",
        "form": "every pair of upload.fields as a form field, in order, then the file",
        "file_field": "file",
        "file_last": True,
        "max_bytes": "$response.body#/upload/max_bytes",
        "expires_at": "$response.body#/upload/expires_at",
        "success": [204, 201, 200],
    }
}
UPLOAD_STEPS = (
    "The answer's `upload` is a presigned POST to storage, not to this API: send "
    "`multipart/form-data` to `upload.url` with every pair of `upload.fields` as form fields "
    "(unchanged, in order) and then the audio as the form field `file`, last; at most "
    "`upload.max_bytes`, before `upload.expires_at`. No bearer token: the fields authorise it. "
    "Storage answers 204. Then poll the resource (link `{link}`) until its `status` leaves "
    "`awaiting_upload` and `processing`."
)


def poll_link(kind: str, id_field: str, until: str) -> dict[str, Any]:
    """The response link from a created upload job to the GET that polls it (``{kind}s.get``)."""
    return {
        kind: {
            "operationId": f"{kind}s.get",
            "parameters": {id_field: f"$response.body#/{id_field}"},
            "description": f"poll until {until}",
        }
    }


@route(
    bp,
    "/v1/voices",
    "POST",
    name="voices.register",
    tag=TAG,
    body=VoiceRegistration,
    response=VoiceCreated,
    status=201,
    summary="Register a voice: the rights sheet → voice_no and a presigned upload (holder)",
    description=UPLOAD_STEPS.format(link="voice") + " A voice ends `registered`, `rejected` "
    "(with `error`) or `conflict`.",
    links=poll_link("voice", "voice_no", "registered, rejected or conflict"),
    extensions=PRESIGNED_UPLOAD,
    examples={
        "a voice": {
            "title": "Narration sample",
            "performer_ids": [id_example("member")],
            "language": "ja",
            "rights": {"holder_role": "agency"},
            "file": {"filename": "voice.wav", "size_bytes": 960044, "content_type": "audio/wav"},
        }
    },
)
def register(call: Call) -> VoiceCreated:
    voice, upload = service.register(call.body, call.require_principal())
    return VoiceCreated(voice_no=voice["voice_no"], status=voice["status"], upload=upload)


class VoiceQuery(PageQuery):
    holder: str | None = Field(default=None, max_length=40, description="member id (operator)")
    status: Literal["conflict"] | None = Field(
        default=None,
        description="`conflict`: the voices waiting for an operator's decision, the longest "
        "waiting first (every holder's for an operator)",
    )


@route(
    bp,
    "/v1/voices",
    "GET",
    name="voices.list",
    tag=TAG,
    response=VoicePage,
    summary="The caller's own voices (holder); any holder's with ?holder= (operator); "
    "?status=conflict: those in conflict (every holder's for an operator)",
    query=VoiceQuery,
)
def list_voices(call: Call) -> VoicePage:
    args: VoiceQuery = call.args
    holder = _holder(call.require_principal(), args.holder, args.status)
    if args.status == "conflict":
        voices, cursor = service.list_conflicts(holder, args.limit, args.cursor)
    else:
        voices, cursor = service.list_for_holder(holder or "", args.limit, args.cursor)
    return VoicePage(voices=[Voice.model_validate(v) for v in voices], next=cursor)


def _holder(principal: Principal, asked: str | None, status: str | None) -> str | None:
    """Whose voices a list shows: the caller's own; an operator's choice, or everyone's queue."""
    if not principal.is_operator:
        return principal.member_id
    if asked is not None:
        return ids.normalize(asked, "member") or asked
    return None if status == "conflict" else principal.member_id


@route(
    bp,
    "/v1/voices/{voice_no}",
    "GET",
    name="voices.get",
    tag=TAG,
    response=(Voice, VoicePublic),
    summary="A voice: public view, or the full record for its holder, performers, operators",
    path=VoicePath,
)
def get_voice(call: Call) -> Voice | VoicePublic:
    voice, full = service.view(service.require(call.path.voice_no), call.principal)
    return Voice.model_validate(voice) if full else VoicePublic.model_validate(voice)


@route(
    bp,
    "/v1/performers/{member_id}/voices",
    "GET",
    name="voices.of_performer",
    tag=TAG,
    response=VoicePage,
    summary="The registered voices that name this performer (that performer, operator); a "
    "voice in `conflict` is registered audio that two holders claim",
    path=MemberPath,
)
def performer_voices(call: Call) -> VoicePage:
    member_id = call.path.member_id
    access.require_owner(call.principal, [member_id], "performer")
    found = service.for_performer(member_id, statuses=service.IN_REGISTRY)
    return VoicePage(voices=[Voice.model_validate(v) for v in found])


@route(
    bp,
    "/v1/voices/{voice_no}/resolve",
    "POST",
    name="voices.resolve",
    tag=TAG,
    body=Reason,
    response=Voice,
    summary="Decide a conflict: this voice holds the recording (back to `registered`); the "
    "voices in conflict with it are rejected with `conflict_lost` (operator)",
    path=VoicePath,
)
def resolve_conflict(call: Call) -> Voice:
    principal = call.require_principal()
    kept = conflicts.resolve(call.path.voice_no, principal, call.body.reason)
    return Voice.model_validate(service.view(kept, principal)[0])
