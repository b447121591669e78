"""The audit's verdicts come from the one fairness rule (shared/labels/fairness.py): the AI
system is judged as if its training data were the voices found — exactly what ``POST
/v1/labels`` would decide for a training-data sheet naming them."""

from __future__ import annotations

from typing import Any

from shared.clock import now
from shared.labels import fairness
from shared.members import service as members
from shared.voices import service as voices


def fairness_verdict(ai: dict[str, Any], voice_nos: list[str]) -> fairness.Verdict:
    """The fairness rule's facts for the voices found (not the sheet's), judged now."""
    return fairness.evaluate(fairness.load_facts(ai, now(), voice_nos))


def _performers(voice: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for performer_id in voice.get("performer_ids", []):
        member = members.get(performer_id) or {}
        found.append({"performer_id": performer_id, "name": member.get("display_name")})
    found += [{"performer_id": None, "name": n} for n in voice.get("performer_names", [])]
    return found


def for_voices(ai: dict[str, Any], voice_nos: list[str]) -> dict[str, dict[str, Any]]:
    """Per voice found: title, status, performers, ``covered`` and the problems that say why
    not (a problem of the AI system as a whole, such as a suspended business, counts for every
    voice)."""
    if not voice_nos:
        return {}
    problems = [p.as_dict() for p in fairness_verdict(ai, voice_nos).problems]
    general = [
        p for p in problems if p["voice_no"] is None and p["reason"] != "no_registered_voices"
    ]
    result = {}
    for voice_no in voice_nos:
        voice = voices.get(voice_no) or {}
        own = [p for p in problems if p["voice_no"] == voice_no] + general
        result[voice_no] = {
            "voice_no": voice_no,
            "title": voice.get("title"),
            "status": voice.get("status"),
            "performers": _performers(voice),
            "covered": not any(p["blocking"] for p in own),
            "problems": [p for p in own if p["blocking"]],
            "notices": [p for p in own if not p["blocking"]],
        }
    return result
