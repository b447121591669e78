"""An operator's decision on a recording that two holders claim (``conflict``): the voice
kept goes back to ``registered``, and the others that claimed the same audio are rejected,
naming it. Labels, the audit export and voiceprints follow through the voices' events.

Without it a conflict had no way out: any rights holder could upload a copy of a registered
recording and keep every label relying on it suspended."""

from __future__ import annotations

from typing import Any

from shared.access import Principal
from shared.errors import Conflict
from shared.voices import service


def resolve(voice_no: str, operator: Principal, reason: str) -> dict[str, Any]:
    """Keep ``voice_no``; reject the voices in conflict with it. The others go first, so a
    failure half-way leaves the kept voice in ``conflict`` and a repeated decision finishes."""
    kept = service.require(voice_no)
    if kept["status"] != "conflict":
        raise Conflict(f"{voice_no} is {kept['status']}, not in conflict.", code="not_in_conflict")
    for other_no in kept.get("conflict_with", []):
        other = service.get(other_no)
        if other is None or other["status"] != "conflict":
            continue  # decided already (a repeated decision), or never got that far
        service.transition(
            other_no,
            to="rejected",
            allowed_from=("conflict",),
            actor=operator.member_id,
            action="voice.rejected",
            changes={
                "conflict_with": [],
                "error": {
                    "code": "conflict_lost",
                    "message": f"An operator decided that {voice_no} holds this recording: "
                    f"{reason}",
                },
            },
            data={"code": "conflict_lost", "with": voice_no},
        )
    return service.transition(
        voice_no,
        to="registered",
        allowed_from=("conflict",),
        actor=operator.member_id,
        action="voice.registered",
        changes={"conflict_with": [], "conflict_resolved": {"reason": reason}},
        data={"code": "conflict_resolved"},
    )
