"""Register once, every signal: an intent exported as a CAWG ``cawg.training-mining`` assertion
and as a W3C TDMRep policy (ODRL), so that C2PA tools and TDM crawlers read the same consent.

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

from datetime import datetime
from typing import Any

from shared.errors import NotFound, ValidationFailed
from shared.intents import service
from shared.intents.uses import USES, most_restrictive
from shared.settings import get_settings

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


def tdmrep(intent: dict[str, Any], intent_url: str, performer_url: str) -> dict[str, Any]:
    """A TDMRep policy: an ODRL Offer permitting ``tdm:mine`` under duties.

    Duties: ``obtainConsent`` (from the performer, through AILAS) for the uses that need a
    contract, ``compensate`` when commercial use needs a contract. Denied uses are listed as
    prohibitions with the AILAS use codes as constraints.
    """
    uses = intent["uses"]
    contract_uses = [u for u, d in uses.items() if d == "contract"]
    denied = [u for u, d in uses.items() if d == "deny"]
    duties: list[dict[str, Any]] = []
    if contract_uses:
        duties.append(
            {
                "action": "obtainConsent",
                "consentingParty": performer_url,
                "ailas:uses": contract_uses,
            }
        )
    if intent["commercial"] != "allow":
        duties.append({"action": "compensate", "compensatedParty": performer_url})
    policy: dict[str, Any] = {
        "@context": [
            "http://www.w3.org/ns/odrl.jsonld",
            {"tdm": "http://www.w3.org/ns/tdmrep#", "ailas": intent_url + "#"},
        ],
        "@type": "Offer",
        "uid": intent_url,
        "profile": "http://www.w3.org/ns/tdmrep",
        "assigner": performer_url,
        "permission": [
            {
                "target": performer_url,
                "action": "tdm:mine",
                "duty": duties,
                "ailas:uses": [u for u, d in uses.items() if d != "deny"],
            }
        ],
    }
    if denied:
        policy["prohibition"] = [
            {"target": performer_url, "action": "tdm:mine", "ailas:uses": denied}
        ]
    return policy


def published(
    performer_id: str, at: datetime | None, fmt: str
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """The performer's intent in force (now, or at ``at``) as ``fmt``: the public view (no
    headers) for ``json``, else the export and the headers to serve it with."""
    performer = service.require_performer(performer_id)
    record = service.at_time(performer_id, at) if at else service.current(performer_id)
    if record is None:
        raise NotFound(
            "This performer had registered no intent then; every use counts as 'contract'.",
            code="no_intent",
        )
    intent = service.view(record, performer["display_name"], at)
    base = get_settings().public_base_url
    intent_url = f"{base}/v1/performers/{performer_id}/intent"
    match fmt:
        case "json":
            return intent, None
        case "cawg":
            return cawg(intent, intent_url), {}
        case "tdmrep":
            performer_url = f"{base}/v1/members/{performer_id}"
            return tdmrep(intent, intent_url, performer_url), {
                "Content-Type": "application/ld+json"
            }
        case other:
            raise ValidationFailed(
                f"Unknown format {other!r}; use json, cawg or tdmrep.", code="invalid_format"
            )
