"""Scheduled jobs (EventBridge in AWS; the local worker fires them too)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from shared.business import contracts
from shared.logging import logger

bp = Blueprint(__name__)


@bp.schedule(
    Rate(1, unit=Rate.HOURS),
    name="end_contracts",
    description="End contracts whose end date has passed",
)
def end_contracts(event: Any) -> dict[str, Any]:
    ended = contracts.end_expired()
    logger.info("contracts ended", extra={"count": len(ended)})
    return {"ended": ended}
