"""Every key of the registry table, built in one place (the single-table layout of DESIGN.md).

An entity lives at ``{"pk": "<KIND>#<id>", "sk": "<KIND>"}``; markers (``<partition>``,
``<KIND>#<id>``) let one entity be found from another without a scan; ``gsi1`` holds the lists;
the sparse ``gsi2`` holds only what waits for an operator.
"""

from __future__ import annotations

from typing import Any

Key = dict[str, str]

# Partitions of the gsi1 index (the public lists and the jobs' queues).
MEMBERS = "MEMBERS"
AI_SYSTEMS = "AI_SYSTEMS"
INTENTS = "INTENTS"
LIVE_LABELS = "LABELS#live"
ACTIVE_CONTRACTS = "CONTRACTS#active"

# Partitions of the sparse gsi2 index: what waits for an operator's decision.
VOICE_CONFLICTS = "VOICES#conflict"


def member_pk(member_id: str) -> str:
    return f"MEMBER#{member_id}"


def performer_pk(performer_id: str) -> str:
    return f"PERFORMER#{performer_id}"


def voice_pk(voice_no: str) -> str:
    return f"VOICE#{voice_no}"


def ai_pk(ai_no: str) -> str:
    return f"AI#{ai_no}"


def holder(holder_id: str) -> str:
    """The gsi1 partition of a rights holder's voices."""
    return f"HOLDER#{holder_id}"


def member(member_id: str) -> Key:
    return {"pk": member_pk(member_id), "sk": "PROFILE"}


def email(address: str) -> Key:
    return {"pk": f"EMAIL#{address}", "sk": "EMAIL"}


def token(prefix: str) -> Key:
    return {"pk": f"TOKEN#{prefix}", "sk": "TOKEN"}


def voice(voice_no: str) -> Key:
    return {"pk": voice_pk(voice_no), "sk": "VOICE"}


def pcm(sha256: str) -> Key:
    return {"pk": f"PCM#{sha256}", "sk": "PCM"}


def ai(ai_no: str) -> Key:
    return {"pk": ai_pk(ai_no), "sk": "AI"}


def ai_version(ai_no: str, version: int) -> Key:
    return {"pk": ai_pk(ai_no), "sk": f"AI#{version:06d}"}


def contract(contract_id: str) -> Key:
    return {"pk": f"CONTRACT#{contract_id}", "sk": "CONTRACT"}


def label(label_no: str) -> Key:
    return {"pk": f"LABEL#{label_no}", "sk": "LABEL"}


def job(kind: str, job_id: str) -> Key:
    """A member's query job: ``trace`` or ``screen``."""
    return {"pk": f"{kind.upper()}#{job_id}", "sk": kind.upper()}


def intent_current(performer_id: str) -> Key:
    return {"pk": performer_pk(performer_id), "sk": "INTENT#CURRENT"}


def intent_version(performer_id: str, version: int) -> Key:
    return {"pk": performer_pk(performer_id), "sk": f"INTENT#{version:06d}"}


def agent(performer_id: str, agent_id: str) -> Key:
    return {"pk": performer_pk(performer_id), "sk": f"AGENT#{agent_id}"}


def agency(agent_id: str) -> str:
    """The gsi1 partition of an agency's grants: the performers who authorised it."""
    return f"AGENCY#{agent_id}"


# Singletons: the domain events' delivery cursor, the published label keys (JWKS).
EVENTS_CURSOR: Key = {"pk": "EVENTS", "sk": "CURSOR"}
JWKS: Key = {"pk": "KEYS#LABEL", "sk": "JWKS"}


def mailed(seq: int) -> Key:
    """The mail sent for the audit entry ``seq`` (sent once, whatever the redeliveries)."""
    return {"pk": f"MAILED#{seq}", "sk": "MAILED"}


# Marker kinds: the sort-key prefix of a marker under another entity's partition.
USED_BY, CONTRACT, LABEL, VOICE, AGENT = "USEDBY#", "CONTRACT#", "LABEL#", "VOICE#", "AGENT#"
SPEAKER = "SPEAKER#"  # a voice's speaker embedding, under its performer


def marker(pk: str, kind: str, ident: str) -> Key:
    """``kind`` + ``ident`` under ``pk``: e.g. the label ``ident`` that depends on a voice."""
    return {"pk": pk, "sk": f"{kind}{ident}"}


KEY_FIELDS = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")


def without_keys(item: dict[str, Any]) -> dict[str, Any]:
    """The entity's state: the item without its table and index keys."""
    return {k: v for k, v in item.items() if k not in KEY_FIELDS}
