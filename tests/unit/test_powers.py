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
    "ai_systems.register": {BUSINESS},
    "ai_systems.list": PUBLIC,
    "ai_systems.get": PUBLIC,  # public / owner, operator
    "ai_systems.update": {BUSINESS},
    "contracts.file": {BUSINESS},
    "contracts.list": MEMBERS | {OPERATOR},
    "contracts.get": MEMBERS | {OPERATOR},
    "contracts.confirm": {HOLDER},  # "rights holder of the voices"
    "contracts.revoke": {BUSINESS, HOLDER},  # "either party"
    "labels.issue": {BUSINESS},
    "labels.get": PUBLIC,
    "labels.verify": PUBLIC,
    "labels.revoke": {OPERATOR},
    "labels.reinstate": {OPERATOR},
    "labels.jwks": PUBLIC,
    "labels.page": PUBLIC,
    "labels.badge": PUBLIC,
    "labels.qr": PUBLIC,
    "traces.create": MEMBERS,  # "member"
    "traces.get": MEMBERS,  # "its owner"
    "traces.fingerprint": MEMBERS,
    "screens.create": MEMBERS,  # "member"
    "screens.get": MEMBERS,  # "its owner"
    "voiceprints.get": {PERFORMER, OPERATOR},  # README: that performer, operator
    "audit.list": {OPERATOR},
    "log.list": PUBLIC,
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
    for operation in ACTS_FOR_A_MEMBER:
        assert OPERATOR not in (POLICY[operation].roles or ()), operation


# Routes added by later issues, each checked where it is built.
NEWER_ROUTES: set[str] = set()
