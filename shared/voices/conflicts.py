"""An operator's decision on a recording that two holders claim (``conflict``): the voice
kept goes back to ``registered``, and the others that claimed the same audio are rejected,
naming it. Labels, the audit export and voiceprints follow through the voices' events.

Without it a conflict had no way out: any rights holder could upload a copy of a registered
recording and keep every label relying on it suspended.

Two operators deciding one conflict at once (each keeping a different voice) rejected every
voice of it: the decision first marks the whole group, in one transaction, with the voice it
keeps; a different decision meanwhile is refused, and the same decision sent twice (a double
click) finishes as one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import store
from shared.access import Principal
from shared.clock import iso, now, now_iso
from shared.errors import Conflict
from shared.settings import get_settings
from shared.voices import service

# A decision that stopped half-way (its function died, the audit chain stayed busy) holds the
# conflict for its voice this long; then another decision may take it over.
DECISION_LEASE_S = 600


def resolve(voice_no: str, operator: Principal, reason: str) -> dict[str, Any]:
    """Keep ``voice_no``; reject the voices in conflict with it. The others go first, so a
    failure half-way leaves the kept voice in ``conflict`` and a repeated decision finishes."""
    kept = service.require(voice_no)
    if kept["status"] != "conflict":
        raise Conflict(f"{voice_no} is {kept['status']}, not in conflict.", code="not_in_conflict")
    others = [n for n in kept.get("conflict_with", []) if _in_conflict(n)]
    _mark_decided(voice_no, [voice_no, *others])
    for other_no in others:
        _reject(other_no, voice_no, operator, reason)
    try:
        return service.transition(
            voice_no,
            to="registered",
            allowed_from=("conflict",),
            actor=operator.member_id,
            action="voice.registered",
            changes={
                "conflict_with": [],
                "conflict_resolved": {"reason": reason},
                # kept straight from its upload's conflict, it is registered from now
                "registered_at": kept.get("registered_at") or now_iso(),
            },
            data={"code": "conflict_resolved"},
        )
    except store.TransactionFailed:
        return _decided_already(voice_no)  # the same decision, sent twice at once


def _in_conflict(voice_no: str) -> bool:
    other = service.get(voice_no)
    return other is not None and other["status"] == "conflict"  # else decided already


def _mark_decided(kept_no: str, group: list[str]) -> None:
    """Every voice of the conflict says which voice this decision keeps, or the decision is
    refused: one transaction, each voice decided alike already (whatever its status since:
    the same decision sent twice), or in ``conflict`` and undecided (or its decision's lease
    past)."""
    stale = iso(now() - timedelta(seconds=DECISION_LEASE_S))
    tx = store.Transaction()
    for voice_no in group:
        tx.update(
            get_settings().registry_table,
            service.key(voice_no),
            "SET decided_for = :kept, decided_at = :at",
            "decided_for = :kept OR (#status = :conflict AND "
            "(attribute_not_exists(decided_for) OR decided_at < :stale))",
            {":kept": kept_no, ":conflict": "conflict", ":at": now_iso(), ":stale": stale},
            {"#status": "status"},
        )
    try:
        tx.commit()
    except store.TransactionFailed:
        current = service.require(kept_no)
        if current["status"] == "registered" and current.get("conflict_resolved"):
            return  # decided meanwhile for this very voice: the steps below find it done
        raise Conflict(
            f"Another operator is deciding this conflict (keeping "
            f"{_decided_for(group) or 'another voice'}); reload to see the decision.",
            code="being_decided",
        ) from None


def _decided_for(group: list[str]) -> str | None:
    for voice_no in group:
        voice = service.get(voice_no) or {}
        if voice.get("decided_for"):
            return str(voice["decided_for"])
    return None


def _reject(other_no: str, kept_no: str, operator: Principal, reason: str) -> None:
    try:
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
                    "message": f"An operator decided that {kept_no} holds this recording: {reason}",
                },
            },
            data={"code": "conflict_lost", "with": kept_no},
        )
    except store.TransactionFailed:
        if _in_conflict(other_no):
            raise
        # rejected by the same decision sent at the same moment


def _decided_already(voice_no: str) -> dict[str, Any]:
    current = service.require(voice_no)
    if current["status"] != "registered":
        raise Conflict(f"{voice_no} is {current['status']}.", code="not_in_conflict")
    return current
