"""CAWG ``cawg.training-mining``: an intent as a C2PA tools read it.

Mapping of the six uses onto CAWG's four entries (the most restrictive decision wins):
| CAWG entry                    | from the uses                                       |
|-------------------------------|-----------------------------------------------------|
| cawg.ai_training              | training, fine_tuning                               |
| cawg.ai_generative_training   | training, fine_tuning, tts, voice_conversion, singing |
| cawg.ai_inference             | tts, voice_conversion, singing                      |
| cawg.data_mining              | research                                            |

allow → ``allowed``; contract → ``constrained`` (``constraints_info`` says a contract through
AILAS is needed, and which uses); deny → ``notAllowed``.
"""

from __future__ import annotations

from typing import Any

from .uses import USES, most_restrictive

CAWG_MAPPING: dict[str, tuple[str, ...]] = {
    "cawg.ai_training": ("training", "fine_tuning"),
    "cawg.ai_generative_training": (
        "training",
        "fine_tuning",
        "tts",
        "voice_conversion",
        "singing",
    ),
    "cawg.ai_inference": ("tts", "voice_conversion", "singing"),
    "cawg.data_mining": ("research",),
}
CAWG_VALUE = {"allow": "allowed", "contract": "constrained", "deny": "notAllowed"}


def cawg(intent: dict[str, Any], intent_url: str) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for entry, uses in CAWG_MAPPING.items():
        decision = most_restrictive([intent["uses"][u] for u in uses])
        value: dict[str, Any] = {"use": CAWG_VALUE[decision]}
        if decision == "contract":
            needing = [u for u in uses if intent["uses"][u] == "contract"]
            value["constraints_info"] = (
                "A contract confirmed through the AILAS Fair-Trade Voice Registry is required for: "
                + ", ".join(f"{u} ({USES[u][1]})" for u in needing)
                + f". Commercial use: {intent['commercial']}. Intent: {intent_url}"
            )
        entries[entry] = value
    return {
        "label": "cawg.training-mining",
        "data": {"entries": entries},
        "metadata": {
            "ailas:performer": intent["performer_id"],
            "ailas:version": intent["version"],
            "ailas:effective_at": intent["effective_at"],
        },
    }
