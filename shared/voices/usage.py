"""Where a registered voice is used: the AI systems that declare it in their training data, the
contracts that cover it, and the labels that rely on it (for its holder and performers)."""

from __future__ import annotations

from typing import Any

from shared import keys, store
from shared.business import ai_systems, contracts
from shared.labels import service as labels
from shared.members import service as members


def of_voice(voice_no: str) -> dict[str, Any]:
    return {
        "voice_no": voice_no,
        "ai_systems": _systems(voice_no),
        "contracts": [_contract(c) for c in contracts.for_voice(voice_no)],
        "labels": _labels(voice_no),
    }


def _systems(voice_no: str) -> list[dict[str, Any]]:
    """The AI systems that declare the voice (one batch read for all of them)."""
    used = store.markers(keys.voice_pk(voice_no), keys.USED_BY)
    systems = ai_systems.AI_SYSTEM.get_many(m["ai_no"] for m in used)
    businesses = members.MEMBER.get_many({ai["business_id"] for ai in systems.values()})
    return [
        {
            **{k: ai[k] for k in ("ai_no", "name", "kind", "business_id")},
            "business_name": businesses.get(ai["business_id"], {}).get("display_name"),
            "since": marker["since"],
            "label_no": ai.get("label_no"),
            "label_status": ai.get("label_status"),
        }
        for marker in used
        if (ai := systems.get(marker["ai_no"]))
    ]


def _contract(contract: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: contract[k] for k in ("contract_id", "ai_no", "status", "uses")},
        "in_force": contracts.in_force(contract),
        "starts_on": contract["starts_on"],
        "ends_on": contract["ends_on"],
    }


def _labels(voice_no: str) -> list[dict[str, Any]]:
    relying = store.markers(keys.voice_pk(voice_no), keys.LABEL)
    found = labels.LABEL.get_many(m["label_no"] for m in relying)
    return [
        {
            "label_no": label["label_no"],
            "ai_no": label["ai_no"],
            "status": labels.status_at(label)[0],
            "expires_at": label["expires_at"],
        }
        for label in found.values()
    ]
