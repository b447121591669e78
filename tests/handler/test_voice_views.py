"""What the voice routes show: a performer's list holds the voices in the registry (API.md: "the
registered voices that name this performer"), and anyone may read why a voice was rejected."""

from __future__ import annotations

from typing import Any

from shared.voices import service
from tests.scenario import Registry, voice_sheet

REJECTION = {"code": "no_speech", "message": "No speech was found."}


def _voice_ending(registry: Registry, holder: Any, performer_id: str, status: str) -> str:
    """A voice naming the performer, moved through processing to ``status``."""
    reply = registry.api.post("/v1/voices", voice_sheet([performer_id]), token=holder.token)
    voice_no = str(reply.json["voice_no"])
    moves = [("awaiting_upload", "processing"), ("processing", status)]
    for was, to in moves[: 1 if status == "processing" else 2]:
        service.transition(
            voice_no,
            to=to,
            allowed_from=(was,),
            actor="test",
            action=f"voice.{to}",
            changes={"error": REJECTION} if to == "rejected" else {},
        )
    return voice_no


def test_a_performers_list_holds_the_voices_in_the_registry_only(
    registry: Registry, registered_voice: Any
) -> None:
    holder, performer = registry.member("rights_holder"), registry.member("performer")
    registered = registered_voice(holder, [performer.member_id])
    ended = {
        status: _voice_ending(registry, holder, performer.member_id, status)
        for status in ("processing", "rejected", "conflict")
    }
    awaiting = registry.api.post(
        "/v1/voices", voice_sheet([performer.member_id]), token=holder.token
    ).json["voice_no"]
    listed = registry.api.get(
        f"/v1/performers/{performer.member_id}/voices", token=performer.token
    ).json["voices"]
    assert {v["voice_no"] for v in listed} == {registered, ended["conflict"]}
    assert {v["status"] for v in listed} == {"registered", "conflict"}
    assert awaiting not in {v["voice_no"] for v in listed}
    # each of them is still the performer's to read one by one
    for voice_no in (*ended.values(), awaiting):
        own = registry.api.get(f"/v1/voices/{voice_no}", token=performer.token)
        assert own.status == 200 and own.json["holder_id"] == holder.member_id


def test_anyone_may_read_why_a_voice_was_rejected_and_nothing_private(
    registry: Registry,
) -> None:
    holder, performer = registry.member("rights_holder"), registry.member("performer")
    voice_no = _voice_ending(registry, holder, performer.member_id, "rejected")
    public = registry.api.get(f"/v1/voices/{voice_no}").json
    assert public["status"] == "rejected"
    assert public["error"] == REJECTION
    for private in ("holder_id", "rights", "file", "performer_ids", "retention"):
        assert private not in public
