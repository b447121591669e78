"""Scheduled jobs (EventBridge in AWS; the local worker fires them too)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from shared import checkpoints
from shared.business import contracts
from shared.labels import service as labels
from shared.logging import logger

bp = Blueprint(__name__)


@bp.schedule(
    Rate(1, unit=Rate.HOURS),
    name="end_contracts",
    description="End contracts whose end date has passed, and expire labels past their exp",
)
def end_contracts(event: Any) -> dict[str, Any]:
    ended = contracts.end_expired()
    # Reads already report `expired` after exp; this records the transition in the audit and
    # transparency logs.
    expired = labels.expire_due()
    signed = checkpoints.create_all()  # the chains' heads, signed (when they moved)
    logger.info(
        "hourly housekeeping",
        extra={
            "contracts_ended": len(ended),
            "labels_expired": len(expired),
            "checkpoints": len(signed),
        },
    )
    return {"ended": ended, "labels_expired": expired}
