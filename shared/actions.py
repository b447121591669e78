"""Every action the registry audits, and the data its domain event carries: the one list.

An audit entry's ``data`` is the domain event that the audit stream delivers to subscribers
(shared/events.py). ``audit.commit`` refuses an action missing from :data:`CATALOG` or data that
does not fit its model, and ``events.subscribe`` refuses a subscriber that reads a field some
action under its prefix does not declare — so a subscriber can never meet an event without the
fields it needs (a ``voice.created`` with no ``voice_no`` once jammed the stream).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventData(BaseModel):
    """Declared fields only; ``from`` is spelt ``from_`` in Python."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Transition(EventData):
    from_: str = Field(alias="from")
    to: str


class MemberApplied(EventData):
    kind: str


class MemberDecided(Transition):
    kind: str


class TokenRotated(EventData):
    old_prefix: str | None = None
    new_prefix: str


class TokenRevoked(EventData):
    old_prefix: str


class OperatorCreated(EventData):
    member_id: str


class IntentChanged(EventData):
    performer_id: str
    version: int
    author_role: str
    old: dict[str, Any] | None = None
    new: dict[str, Any]
    valid_until: str | None = None


class AgentChanged(EventData):
    performer_id: str
    agent_id: str


class VoiceCreated(EventData):
    voice_no: str
    holder_id: str


class VoiceChanged(Transition):
    voice_no: str
    code: str | None = None
    duplicate_of: str | None = None
    with_: str | None = Field(default=None, alias="with")


class VoiceReindexed(EventData):
    voice_no: str
    algorithm: str


class AiSystemRegistered(EventData):
    ai_no: str
    voices: list[str]


class AiSystemUpdated(EventData):
    ai_no: str
    version: int
    voices_added: list[str]
    voices_removed: list[str]


class ContractEvent(EventData):
    contract_id: str
    ai_no: str
    voice_nos: list[str]
    holder_id: str | None = None
    active: bool | None = None
    by: str | None = None


class LabelEvent(EventData):
    label_no: str
    ai_no: str
    status: str
    reasons: list[str] = []
    note: str | None = None


class TraceEvent(EventData):
    trace_id: str
    matches: int | None = None


class ScreenEvent(EventData):
    screen_id: str
    matches: int | None = None


class DatasetAuditEvent(EventData):
    dataset_audit_id: str
    matches: int | None = None


CATALOG: dict[str, type[EventData]] = {
    "member.applied": MemberApplied,
    "member.approved": MemberDecided,
    "member.rejected": MemberDecided,
    "member.suspended": MemberDecided,
    "member.reinstated": MemberDecided,
    "member.token_rotated": TokenRotated,
    "member.token_revoked": TokenRevoked,
    "operator.created": OperatorCreated,
    "intent.changed": IntentChanged,
    "intent.agent_added": AgentChanged,
    "intent.agent_removed": AgentChanged,
    "voice.created": VoiceCreated,
    "voice.processing": VoiceChanged,
    "voice.registered": VoiceChanged,
    "voice.rejected": VoiceChanged,
    "voice.conflict": VoiceChanged,
    "voice.reindexed": VoiceReindexed,
    "ai_system.registered": AiSystemRegistered,
    "ai_system.updated": AiSystemUpdated,
    "contract.filed": ContractEvent,
    "contract.confirmed": ContractEvent,
    "contract.activated": ContractEvent,
    "contract.revoked": ContractEvent,
    "contract.ended": ContractEvent,
    "label.issued": LabelEvent,
    "label.suspended": LabelEvent,
    "label.restored": LabelEvent,
    "label.revoked": LabelEvent,
    "label.reinstated": LabelEvent,
    "label.expired": LabelEvent,
    "trace.created": TraceEvent,
    "trace.done": TraceEvent,
    "trace.failed": TraceEvent,
    "screen.created": ScreenEvent,
    "screen.done": ScreenEvent,
    "screen.failed": ScreenEvent,
    "dataset_audit.created": DatasetAuditEvent,
    "dataset_audit.done": DatasetAuditEvent,
    "dataset_audit.failed": DatasetAuditEvent,
}


class UndeclaredAction(ValueError):
    """A programming error: the code audits an action or a field the catalog does not list."""


def model_for(action: str) -> type[EventData]:
    try:
        return CATALOG[action]
    except KeyError:
        raise UndeclaredAction(f"{action!r} is not in shared/actions.py CATALOG") from None


def checked(action: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as declared for ``action`` (aliases kept; nulls left out, as storage does)."""
    model = model_for(action)
    try:
        parsed = model.model_validate(data)
    except ValueError as error:
        raise UndeclaredAction(f"{action}: data does not fit its declaration: {error}") from None
    return parsed.model_dump(by_alias=True, exclude_none=True)


def declared_fields(action: str) -> set[str]:
    """The field names (as stored) that every event of ``action`` carries or may carry."""
    model = model_for(action)
    return {f.alias or name for name, f in model.model_fields.items()}


def required_fields(action: str) -> set[str]:
    model = model_for(action)
    return {f.alias or name for name, f in model.model_fields.items() if f.is_required()}


def actions_under(prefix: str) -> list[str]:
    return sorted(a for a in CATALOG if a.startswith(prefix))
