"""The access table: every private operation, called by an unrelated member of each kind, is
refused (403/404) and leaks no private field. Every operation in shared.access.POLICY that is
not public must appear here; a new route without an entry fails this test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shared.access import POLICY
from tests.scenario import Actor, Registry


@dataclass
class World:
    """Records that belong to somebody else (the victim), and their private values."""

    victim: Actor
    pending: str
    secrets: list[str]


@pytest.fixture
def world(registry: Registry) -> World:
    victim = registry.member("performer", email="victim@example.jp", name="被害 者")
    pending = registry.apply("business", email="pending@example.jp")
    return World(
        victim, pending, [victim.token, "victim@example.jp", "被害 者", "pending@example.jp"]
    )


# operation -> (method, path template, body). Fields in braces come from World.
PRIVATE_CALLS: dict[str, tuple[str, str, Any]] = {
    "members.list": ("GET", "/v1/members", None),
    "members.approve": ("POST", "/v1/members/{pending}/approve", None),
    "members.reject": ("POST", "/v1/members/{pending}/reject", {"reason": "x"}),
    "members.suspend": ("POST", "/v1/members/{victim}/suspend", {"reason": "x"}),
    "members.reinstate": ("POST", "/v1/members/{victim}/reinstate", {"reason": "x"}),
    "members.tokens.rotate": ("POST", "/v1/members/{victim}/tokens", None),
    "audit.list": ("GET", "/v1/audit", None),
    "intents.put": ("PUT", "/v1/performers/{victim}/intent", {"uses": {"tts": "allow"}}),
    "intents.agents.list": ("GET", "/v1/performers/{victim}/agents", None),
    "intents.agents.add": ("POST", "/v1/performers/{victim}/agents", {"agent_id": "{pending}"}),
    "intents.agents.remove": ("DELETE", "/v1/performers/{victim}/agents/{pending}", None),
}
# Public operations whose answer has private parts for the owner: the intruder gets the public
# part only.
MIXED_CALLS: dict[str, tuple[str, str]] = {
    "members.get": ("GET", "/v1/members/{victim}"),
}


def test_every_private_operation_is_in_the_access_table() -> None:
    private = {name for name, rule in POLICY.items() if not rule.public}
    assert private <= PRIVATE_CALLS.keys(), (
        f"add to PRIVATE_CALLS: {private - PRIVATE_CALLS.keys()}"
    )


def _path(template: str, world: World) -> str:
    return template.format(victim=world.victim.member_id, pending=world.pending)


def _body(body: Any, world: World) -> Any:
    if isinstance(body, dict):
        return {k: _body(v, world) for k, v in body.items()}
    return _path(body, world) if isinstance(body, str) else body


@pytest.mark.parametrize("intruder_kind", ["performer", "rights_holder", "business"])
def test_unrelated_members_are_refused_everything_private(
    registry: Registry, world: World, intruder_kind: str
) -> None:
    intruder = registry.member(intruder_kind)
    for operation, (method, template, body) in PRIVATE_CALLS.items():
        reply = registry.api.request(
            method, _path(template, world), json_body=body, token=intruder.token
        )
        assert reply.status in (403, 404), (operation, reply)
        assert reply.json["code"], operation
        for secret in world.secrets:
            assert secret not in reply.body.decode(), (operation, secret)
        anonymous = registry.api.request(method, _path(template, world), json_body=body)
        assert anonymous.status in (401, 403, 404), (operation, anonymous)
    for operation, (method, template) in MIXED_CALLS.items():
        reply = registry.api.request(method, _path(template, world), token=intruder.token)
        assert reply.status == 200, operation
        for secret in world.secrets:
            assert secret not in reply.body.decode(), (operation, secret)
    # nothing changed for the victim
    victim = registry.api.get(f"/v1/members/{world.victim.member_id}", token=world.victim.token)
    assert victim.status == 200 and victim.json["status"] == "active"
