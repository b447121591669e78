"""Powers exactly as API.md says, row by row: who may call each operation at all (record checks
— "its owner", "either party" — come after, in the handler tests). The operator approves,
suspends and revokes, and reads on the association's behalf; it never acts for a member."""

from __future__ import annotations

import pytest

from shared.access import POLICY

PERFORMER, HOLDER, BUSINESS, OPERATOR = "performer", "rights_holder", "business", "operator"
MEMBERS = {PERFORMER, HOLDER, BUSINESS}
PUBLIC = None

# operation -> the roles API.md (or, for routes API.md does not list, the README) gives it
API_MD: dict[str, set[str] | None] = {
    "health": PUBLIC,
    "openapi": PUBLIC,
    "docs": PUBLIC,
    "docs.asset": PUBLIC,
    "members.apply": PUBLIC,
    "members.list": {OPERATOR},
    "members.get": PUBLIC,  # public profile; full record for self and operator
    "members.approve": {OPERATOR},
    "members.reject": {OPERATOR},
    "members.suspend": {OPERATOR},
    "members.reinstate": {OPERATOR},
    "members.tokens.rotate": MEMBERS | {OPERATOR},  # "the member, operator"
    "intents.put": {PERFORMER, HOLDER},  # "that performer" (or its authorised agency)
    "intents.get": PUBLIC,
    "intents.history": PUBLIC,
    "intents.list": PUBLIC,
    "intents.agents.list": {PERFORMER, OPERATOR},
    "intents.agents.add": {PERFORMER},  # no agency grant without the performer
    "intents.agents.remove": {PERFORMER},
    "voices.register": {HOLDER},  # "rights holder"
    "voices.list": {HOLDER, OPERATOR},
    "voices.get": PUBLIC,  # public / holder, its performers, operator
    "voices.usage": MEMBERS | {OPERATOR},  # holder, its performers, operator
    "voices.of_performer": {PERFORMER, OPERATOR},  # "that performer, operator"
    "ai_systems.register": {BUSINESS},
    "ai_systems.list": PUBLIC,
    "ai_systems.get": PUBLIC,  # public / owner, operator
    "ai_systems.update": {BUSINESS},
    "ai_systems.check": {BUSINESS},  # "owner"
    "contracts.file": {BUSINESS},
    "contracts.list": MEMBERS | {OPERATOR},
    "contracts.get": MEMBERS | {OPERATOR},
    "contracts.confirm": {HOLDER},  # "rights holder of the voices"
    "contracts.revoke": {BUSINESS, HOLDER},  # "either party"
    "labels.issue": {BUSINESS},
    "labels.get": PUBLIC,
    "labels.verify": PUBLIC,
    "labels.revoke": {OPERATOR},
    "voices.resolve": {OPERATOR},
    "labels.reinstate": {OPERATOR},
    "labels.jwks": PUBLIC,
    "labels.page": PUBLIC,
    "labels.badge": PUBLIC,
    "labels.qr": PUBLIC,
    "labels.page.head": PUBLIC,
    "labels.badge.head": PUBLIC,
    "labels.lookup": PUBLIC,  # GET /verify (API.md: "GET / , /verify")
    "labels.check_file": PUBLIC,  # POST /verify: a file's C2PA label checked
    "labels.criteria": PUBLIC,
    "labels.cawg": PUBLIC,
    "traces.create": MEMBERS,  # "member"
    "traces.get": MEMBERS,  # "its owner"
    "traces.fingerprint": MEMBERS,
    "screens.create": MEMBERS,  # "member"
    "screens.get": MEMBERS,  # "its owner"
    "voiceprints.get": {PERFORMER, OPERATOR},  # README: that performer, operator
    "audits.create": {BUSINESS},  # README: the AI system's business
    "audits.get": {BUSINESS, OPERATOR},  # README: its owner, operators
    "audit.list": {OPERATOR},
    "log.list": PUBLIC,
    "log.checkpoints": PUBLIC,
}

# What an operator must never do for a member.
ACTS_FOR_A_MEMBER = {
    "voices.register",
    "ai_systems.register",
    "ai_systems.update",
    "contracts.file",
    "contracts.confirm",
    "contracts.revoke",
    "labels.issue",
    "intents.put",
    "intents.agents.add",
    "intents.agents.remove",
    "screens.create",
    "audits.create",
}


@pytest.mark.parametrize("operation", sorted(API_MD))
def test_each_operation_has_the_roles_api_md_gives(operation: str) -> None:
    rule = POLICY[operation]
    expected = API_MD[operation]
    if expected is PUBLIC:
        assert rule.public, operation
    else:
        assert not rule.public and set(rule.roles or ()) == expected, operation


def test_every_operation_of_the_policy_is_in_this_table() -> None:
    # a new route must be read against API.md and added here
    assert set(POLICY) - set(API_MD) <= NEWER_ROUTES
    assert set(API_MD) <= set(POLICY)


def test_the_operator_never_acts_for_a_member() -> None:
    for operation in ACTS_FOR_A_MEMBER | {
        "portal.intent",
        "portal.my_voices",
        "portal.voices",
        "portal.contracts",
        "portal.ai",
    }:
        assert OPERATOR not in (POLICY[operation].roles or ()), operation


# The portal's pages are checked where they are built (tests/handler/test_portal.py,
# tests/e2e/test_portal_browser.py); every other operation must be read against API.md here.
NEWER_ROUTES: set[str] = {name for name in POLICY if name.startswith("portal.")}
