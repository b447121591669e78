"""Voice-likeness screening routes: a clip against every performer's voiceprint, and a
performer's own voiceprint status."""

from __future__ import annotations

from chalice import Blueprint

from functions.api.http import Call, MemberPath, PathModel, ScreenId, route
from functions.api.voices import PRESIGNED_UPLOAD, UPLOAD_STEPS, poll_link
from shared.access import require_owner
from shared.intents import service as intents
from shared.screens import service, voiceprints
from shared.screens.models import Screen, ScreenCreated, ScreenRequest, Voiceprint

bp = Blueprint(__name__)
TAG = "screens"


class ScreenPath(PathModel):
    screen_id: ScreenId


@route(
    bp,
    "/v1/screens",
    "POST",
    name="screens.create",
    tag=TAG,
    body=ScreenRequest,
    response=ScreenCreated,
    status=201,
    summary="Screen a clip for the likeness of registered performers' voices (member)",
    description=UPLOAD_STEPS.format(link="screen"),
    links=poll_link("screen", "screen_id", "done or failed"),
    extensions=PRESIGNED_UPLOAD,
)
def create(call: Call) -> ScreenCreated:
    screen, upload = service.create(call.body.file, call.require_principal())
    return ScreenCreated(screen_id=screen["screen_id"], status=screen["status"], upload=upload)


@route(
    bp,
    "/v1/screens/{screen_id}",
    "GET",
    name="screens.get",
    tag=TAG,
    response=Screen,
    summary="A screen and the performers whose voice the clip resembles (its owner)",
    path=ScreenPath,
)
def get_screen(call: Call) -> Screen:
    screen = service.require_own(call.path.screen_id, call.require_principal())
    return Screen.model_validate(screen)


@route(
    bp,
    "/v1/performers/{member_id}/voiceprint",
    "GET",
    name="voiceprints.get",
    tag=TAG,
    response=Voiceprint,
    summary="The seconds of registered speech a performer's voiceprint rests on (that performer)",
    path=MemberPath,
)
def get_voiceprint(call: Call) -> Voiceprint:
    performer_id = call.path.member_id
    require_owner(call.require_principal(), [performer_id], "performer")
    intents.require_performer(performer_id)
    return Voiceprint.model_validate(voiceprints.status(performer_id))
