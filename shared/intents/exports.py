"""Register once, every signal: an intent exported as a CAWG ``cawg.training-mining`` assertion
and as a W3C TDMRep policy (ODRL), so that C2PA tools and TDM crawlers read the same consent.

The CAWG assertion itself is in :mod:`shared.formats.cawg` (the client writes it into audio too).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.errors import NotFound, ValidationFailed
from shared.formats.cawg import cawg
from shared.intents import service
from shared.settings import get_settings


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
