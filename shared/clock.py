"""Time, always timezone-aware UTC, as ISO-8601 strings that sort as they read."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from shared.errors import BadRequest


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(now())


def today() -> date:
    return now().date()


def parse_instant(text: str, field: str = "at") -> datetime:
    """An ISO-8601 date or date-time from a query string; a date means its start (UTC)."""
    # An unencoded "+01:00" in a query string arrives as " 01:00": take it as meant.
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text.strip())
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{field} must be an ISO-8601 date or date-time.", code="invalid_time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
