"""A subscriber that fails on one member's application, loaded into a test stack through
AILAS_LOCAL_PLUGINS: the way a bug in one subscriber would meet one unusual record."""

from __future__ import annotations

from shared import events
from shared.members import service as members

BROKEN_NAME = "壊れた 会員"


@events.subscribe("member.applied")
def breaks_on_one_member(event: events.DomainEvent) -> None:
    member = members.get(event.entity.split(":", 1)[1])
    if member and member["display_name"] == BROKEN_NAME:
        raise RuntimeError("this subscriber cannot handle that member")
