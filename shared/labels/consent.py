"""Labels follow consent: the domain events that can break (or mend) the fairness of a label,
and how to find the labels that depend on them, through markers rather than scans.

Re-evaluation reads the current state, never the event's payload: delivering an event twice, or
late, leaves a label where the current state puts it."""

from __future__ import annotations

from shared import events, keys
from shared.labels import service
from shared.logging import logger


def _reevaluate(pks: list[str], event: events.DomainEvent) -> None:
    for label_no in service.labels_depending_on(pks):
        _in_step(label_no, event)


def _in_step(label_no: str, event: events.DomainEvent) -> None:
    changed = service.reevaluate(label_no, f"{event.action} #{event.seq}")
    if changed:
        logger.info(
            "label status changed",
            extra={"label_no": label_no, "status": changed["status"], "cause": event.action},
        )


@events.subscribe("intent.changed", requires=("performer_id",))
def on_intent(event: events.DomainEvent) -> None:
    _reevaluate([keys.performer_pk(event.data["performer_id"])], event)


@events.subscribe("contract.", requires=("ai_no",))
def on_contract(event: events.DomainEvent) -> None:
    _reevaluate([keys.ai_pk(event.data["ai_no"])], event)


@events.subscribe("voice.", requires=("voice_no",))
def on_voice(event: events.DomainEvent) -> None:
    _reevaluate([keys.voice_pk(event.data["voice_no"])], event)


@events.subscribe("member.")
def on_member(event: events.DomainEvent) -> None:
    if event.data.get("to") in ("suspended", "active"):
        member_id = event.entity.split(":", 1)[1]
        _reevaluate([keys.performer_pk(member_id), keys.member_pk(member_id)], event)


@events.subscribe("label.issued", requires=("label_no",))
def on_issued(event: events.DomainEvent) -> None:
    """A label is decided on what its issuer read: consent withdrawn between that read and the
    label's commit found no label to suspend yet. Its own event reads the state after both."""
    _in_step(event.data["label_no"], event)


@events.subscribe("ai_system.updated", requires=("ai_no",))
def on_ai_system(event: events.DomainEvent) -> None:
    _reevaluate([keys.ai_pk(event.data["ai_no"])], event)
