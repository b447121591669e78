"""Where a registered voice is used: the AI systems that declare it in their training data, the
contracts that cover it, and the labels that rely on it (for its holder and performers)."""

from __future__ import annotations

from typing import Any

from shared import keys, store
from shared.business import ai_systems, contracts
from shared.labels import service as labels


def of_voice(voice_no: str) -> dict[str, Any]:
    systems = []
    for marker in store.markers(keys.voice_pk(voice_no), keys.USED_BY):
        ai = ai_systems.get(marker["ai_no"])
        if ai:
            systems.append(
                {
                    "ai_no": ai["ai_no"],
                    "name": ai["name"],
                    "kind": ai["kind"],
                    "business_id": ai["business_id"],
                    "since": marker["since"],
                    "label_no": ai.get("label_no"),
                    "label_status": ai.get("label_status"),
                }
            )
    covering = [
        {
            "contract_id": c["contract_id"],
            "ai_no": c["ai_no"],
            "status": c["status"],
            "in_force": contracts.in_force(c),
            "uses": c["uses"],
            "starts_on": c["starts_on"],
            "ends_on": c["ends_on"],
        }
        for c in contracts.for_voice(voice_no)
    ]
    relying = []
    for marker in store.markers(keys.voice_pk(voice_no), keys.LABEL):
        label = labels.get(marker["label_no"])
        if label:
            relying.append(
                {
                    "label_no": label["label_no"],
                    "ai_no": label["ai_no"],
                    "status": labels.status_at(label)[0],
                    "expires_at": label["expires_at"],
                }
            )
    return {"voice_no": voice_no, "ai_systems": systems, "contracts": covering, "labels": relying}
