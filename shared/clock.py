"""Time, always timezone-aware UTC, as ISO-8601 strings that sort as they read."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from shared.errors import BadRequest

# The range of times a query may ask about: the registry's past and a plausible future.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
# The days a contract or an intent may name: "no end" is written as a far day, and 9999-12-31
# has no next day to compute (its end instant overflowed and froze the labels relying on it).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)


def within_days(value: date, field: str) -> date:
    """``value`` when it is a day the registry works with, else a ValueError naming ``field``."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"{field} must be between {FIRST_DAY} and {LAST_DAY}")
    return value


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
    if not text.isascii() or len(text) > 40:
        raise BadRequest(f"{field} must be an ISO-8601 date or date-time.", code="invalid_time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        # Normalised to UTC here, once: 0001-01-01T00:00:00+14:00 is before year 1 and would
        # raise OverflowError wherever it was next compared or converted.
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest(
            f"{field} must be an ISO-8601 date or date-time.", code="invalid_time"
        ) from None
    if not EARLIEST <= moment <= LATEST:
        raise BadRequest(
            f"{field} must lie between {EARLIEST.year} and {LATEST.year}.", code="invalid_time"
        )
    return moment


JST = timezone(timedelta(hours=9), "JST")


def japan_time(instant: str | None, with_time: bool = True, missing: str = "") -> str:
    """A stored UTC instant as people here read it: Japan's date and time (an intent saved at
    02:00 in Tokyo is dated the day before in UTC). Text that is no instant is shown as it is."""
    if not instant:
        return missing
    try:
        at = datetime.fromisoformat(str(instant).replace("Z", "+00:00")).astimezone(JST)
    except ValueError:
        return str(instant)
    return at.strftime("%Y-%m-%d %H:%M JST") if with_time else at.strftime("%Y-%m-%d")
