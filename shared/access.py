"""Authorization in one place: who may call which operation, and who may read a private record.

Every operation the API serves must be listed in :data:`POLICY` (the app refuses to start
otherwise), and the access-table test walks this table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from shared.errors import Forbidden, Unauthorized

Role = Literal["performer", "rights_holder", "business", "operator"]
MEMBER_ROLES: frozenset[str] = frozenset({"performer", "rights_holder", "business"})
ALL_ROLES: frozenset[str] = MEMBER_ROLES | {"operator"}


@dataclass(frozen=True)
class Principal:
    """The caller behind a bearer token."""

    member_id: str
    role: Role
    token_prefix: str

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True)
class Rule:
    """``roles`` None: public. Otherwise the roles that may call; record checks come after."""

    roles: frozenset[str] | None
    note: str = ""

    @property
    def public(self) -> bool:
        return self.roles is None


PUBLIC = Rule(None)
OPERATOR = Rule(frozenset({"operator"}))


def only(*roles: str, note: str = "") -> Rule:
    """These member roles, and operators reading on the association's behalf."""
    return Rule(frozenset(roles) | {"operator"}, note)


def acting(*roles: str, note: str = "") -> Rule:
    """These member roles alone: the operator approves, suspends and revokes, but never acts
    for a member (registers voices, AI systems, contracts or labels, or grants agencies)."""
    return Rule(frozenset(roles), note)


POLICY: dict[str, Rule] = {
    # meta
    "health": PUBLIC,
    "openapi": PUBLIC,
    "docs": PUBLIC,
    "docs.asset": PUBLIC,
    # membership
    "members.apply": PUBLIC,
    "members.list": OPERATOR,
    "members.get": Rule(None, "public profile; full record for the member and operators"),
    "members.approve": OPERATOR,
    "members.reject": OPERATOR,
    "members.suspend": OPERATOR,
    "members.reinstate": OPERATOR,
    "members.tokens.rotate": Rule(ALL_ROLES, "the member itself, or an operator"),
    # intents
    "intents.put": acting(
        "performer", "rights_holder", note="the performer itself, or an agency it authorised"
    ),
    "intents.get": PUBLIC,
    "intents.history": PUBLIC,
    "intents.list": PUBLIC,
    "intents.agents.list": only("performer", note="the performer itself"),
    "intents.agents.add": acting("performer", note="the performer itself"),
    "intents.agents.remove": acting("performer", note="the performer itself"),
    # voices
    "voices.register": acting("rights_holder"),
    "voices.list": only("rights_holder", note="the caller's own voices"),
    "voices.get": Rule(None, "public view; full record for holder, performers, operators"),
    "voices.usage": Rule(ALL_ROLES, "the voice's holder, its member performers, operators"),
    "voices.resolve": OPERATOR,
    "voices.of_performer": only("performer", note="that performer"),
    # AI systems and contracts
    "ai_systems.register": acting("business"),
    "ai_systems.list": PUBLIC,
    "ai_systems.get": Rule(None, "public part; training data for its business and operators"),
    "ai_systems.update": acting("business", note="the AI system's business"),
    "ai_systems.check": acting("business", note="the AI system's business"),
    "contracts.file": acting("business", note="the AI system's business"),
    "contracts.list": Rule(ALL_ROLES, "the caller's own contracts"),
    "contracts.get": Rule(ALL_ROLES, "its parties and operators"),
    "contracts.confirm": acting("rights_holder", note="a rights holder of the voices"),
    "contracts.revoke": acting("business", "rights_holder", note="either party"),
    # labels
    "labels.issue": acting("business", note="the AI system's business"),
    "labels.get": PUBLIC,
    "labels.verify": PUBLIC,
    "labels.revoke": OPERATOR,
    "labels.reinstate": OPERATOR,
    "labels.jwks": PUBLIC,
    "labels.page": PUBLIC,
    "labels.badge": PUBLIC,
    "labels.qr": PUBLIC,
    "labels.page.head": PUBLIC,
    "labels.badge.head": PUBLIC,
    "labels.lookup": PUBLIC,
    "labels.check_file": PUBLIC,
    "labels.criteria": PUBLIC,
    "labels.cawg": PUBLIC,
    # traces
    "traces.create": acting(*MEMBER_ROLES),
    "traces.get": acting(*MEMBER_ROLES, note="its owner"),
    "traces.fingerprint": acting(*MEMBER_ROLES),
    # voice-likeness screening
    "screens.create": acting(*MEMBER_ROLES),
    "screens.get": acting(*MEMBER_ROLES, note="its owner"),
    # bulk dataset audits
    "audits.create": acting("business", note="the AI system's business"),
    "audits.get": only("business", note="its owner, and operators"),
    "voiceprints.get": only("performer", note="the performer itself"),
    # logs
    "audit.list": OPERATOR,
    "log.list": PUBLIC,
    # the portal's pages (functions/portal/): public pages, then the members' own
    **dict.fromkeys(
        (
            "portal.home",
            "portal.apply",
            "portal.signin",
            "portal.signin_link",
            "portal.signout",
            "portal.intents",
            "portal.ai_systems",
            "portal.log",
            "portal.static",
        ),
        PUBLIC,
    ),
    "portal.dashboard": Rule(ALL_ROLES),
    "portal.tokens": Rule(ALL_ROLES, "the member's own API token"),
    "portal.voice": Rule(ALL_ROLES, "the voice's holder, its member performers, operators"),
    "portal.intent": acting("performer"),
    "portal.my_voices": acting("performer"),
    "portal.voices": acting("rights_holder"),
    "portal.contracts": acting("business", "rights_holder", note="its parties"),
    "portal.ai": acting("business"),
    "portal.operator": OPERATOR,
    "portal.trace": acting(*MEMBER_ROLES, note="a trace's owner reads it"),
    "portal.agency": acting("rights_holder", note="agencies the performer authorised"),
    "log.checkpoints": PUBLIC,
}


def authorize(operation: str, principal: Principal | None) -> None:
    """Raise unless ``principal`` may call ``operation`` at all."""
    rule = POLICY[operation]
    if rule.public:
        return
    if principal is None:
        raise Unauthorized("A bearer token is required.", code="unauthorized")
    if principal.role not in rule.roles:  # type: ignore[operator]
        raise Forbidden(
            f"Your role ({principal.role}) may not call this operation.", code="forbidden_role"
        )


def can_read_private(principal: Principal | None, owners: Iterable[str]) -> bool:
    """A private record is readable by the members in ``owners`` and by operators."""
    if principal is None:
        return False
    return principal.is_operator or principal.member_id in set(owners)


def require_owner(principal: Principal | None, owners: Iterable[str], what: str) -> None:
    """Refuse a private record to anybody but its owners and operators.

    Answers 403 rather than 404 only where the record's existence is already public.
    """
    if not can_read_private(principal, owners):
        raise Forbidden(f"Only the {what} or an operator may do this.", code="not_owner")
