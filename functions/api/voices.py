"""Voice registration routes (音声登録)."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import Field

from functions.api.http import Call, PageQuery, route
from shared import access, ids
from shared.errors import NotFound
from shared.voices import service
from shared.voices.models import Voice, VoiceCreated, VoicePage, VoicePublic, VoiceRegistration

bp = Blueprint(__name__)
TAG = "voices"


def voice_no_of(call: Call) -> str:
    voice_no = ids.normalize(call.params["voice_no"], "voice")
    if voice_no is None:
        raise NotFound(
            "No such voice (check the number and its last character).", code="voice_not_found"
        )
    return voice_no


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
)
def register(call: Call) -> VoiceCreated:
    voice, upload = service.register(call.body, call.require_principal())
    return VoiceCreated(voice_no=voice["voice_no"], status=voice["status"], upload=upload)


class VoiceQuery(PageQuery):
    holder: str | None = Field(default=None, max_length=40, description="member id (operator)")


@route(
    bp,
    "/v1/voices",
    "GET",
    name="voices.list",
    tag=TAG,
    response=VoicePage,
    summary="The caller's own voices (holder); any holder's with ?holder= (operator)",
    query=VoiceQuery,
)
def list_voices(call: Call) -> VoicePage:
    args: VoiceQuery = call.args
    principal = call.require_principal()
    holder = principal.member_id
    if principal.is_operator and args.holder is not None:
        holder = ids.normalize(args.holder, "member") or args.holder
    voices, cursor = service.list_for_holder(holder, args.limit, args.cursor)
    return VoicePage(voices=[Voice.model_validate(v) for v in voices], next=cursor)


@route(
    bp,
    "/v1/voices/{voice_no}",
    "GET",
    name="voices.get",
    tag=TAG,
    response=Voice,
    summary="A voice: public view, or the full record for its holder, performers, operators",
)
def get_voice(call: Call) -> Voice | VoicePublic:
    voice, full = service.view(service.require(voice_no_of(call)), call.principal)
    return Voice.model_validate(voice) if full else VoicePublic.model_validate(voice)


@route(
    bp,
    "/v1/performers/{member_id}/voices",
    "GET",
    name="voices.of_performer",
    tag=TAG,
    response=VoicePage,
    summary="The registered voices that name this performer (that performer, operator)",
)
def performer_voices(call: Call) -> VoicePage:
    member_id = ids.normalize(call.params["member_id"], "member")
    if member_id is None:
        raise NotFound("No such member.", code="member_not_found")
    access.require_owner(call.principal, [member_id], "performer")
    return VoicePage(voices=[Voice.model_validate(v) for v in service.for_performer(member_id)])
