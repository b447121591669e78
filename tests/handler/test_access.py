"""The access table: every private operation, called by an unrelated member of each kind, is
refused (403/404) and leaks no private field. Every operation in shared.access.POLICY that is
not public must appear here; a new route without an entry fails this test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shared.access import POLICY
from shared.audio.engine import AUDIT_ALGORITHM
from tests.scenario import Actor, Registry, ai_sheet, contract_filing, voice_sheet


@dataclass
class World:
    """Records that belong to somebody else (the victims), and their private values."""

    victim: Actor
    pending: str
    voice: str
    ai: str
    contract: str
    trace: str
    secrets: list[str]
    screen: str = ""
    audit: str = ""


@pytest.fixture
def world(registry: Registry, registered_voice) -> World:
    victim = registry.member("performer", email="victim@example.jp", name="被害 者")
    pending = registry.apply("business", email="pending@example.jp")
    holder = registry.member("rights_holder", email="holder@example.jp")
    business = registry.member("business", email="business@example.jp")
    voice = registered_voice(holder, [victim.member_id])
    ai = registry.api.post("/v1/ai-systems", ai_sheet([voice]), token=business.token)
    contract = registry.api.post(
        "/v1/contracts", contract_filing(ai.json["ai_no"], [voice]), token=business.token
    )
    secrets = [
        victim.token,
        holder.token,
        business.token,
        "victim@example.jp",
        "被害 者",
        "pending@example.jp",
        "holder@example.jp",
        "RIGHTS-SHEET-PRIVATE",
        "PRIVATE-DATASET",
        "PRIVATE-COMPENSATION",
        "ab" * 32,
    ]
    trace = registry.api.post(
        "/v1/traces",
        {"file": {"filename": "q.wav", "size_bytes": 100, "content_type": "audio/wav"}},
        token=holder.token,
    )
    return World(
        victim,
        pending,
        voice,
        ai.json["ai_no"],
        contract.json["contract_id"],
        trace.json["trace_id"],
        secrets,
        screen=registry.api.post(
            "/v1/screens",
            {"file": {"filename": "q.wav", "size_bytes": 100, "content_type": "audio/wav"}},
            token=holder.token,
        ).json["screen_id"],
        audit=registry.api.post(
            "/v1/audits",
            {
                "ai_no": ai.json["ai_no"],
                "algorithm": AUDIT_ALGORITHM,
                "files": 1,
                "size_bytes": 10,
            },
            token=business.token,
        ).json["audit_id"],
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
    "voices.usage": ("GET", "/v1/voices/{voice}/usage", None),
    "ai_systems.update": ("PUT", "/v1/ai-systems/{ai}", ai_sheet([])),
    "contracts.file": ("POST", "/v1/contracts", contract_filing("{ai}", ["{voice}"])),
    "contracts.get": ("GET", "/v1/contracts/{contract}", None),
    "contracts.confirm": ("POST", "/v1/contracts/{contract}/confirm", None),
    "contracts.revoke": ("POST", "/v1/contracts/{contract}/revoke", {"reason": "x"}),
    "labels.issue": ("POST", "/v1/labels", {"ai_no": "{ai}"}),
    "traces.get": ("GET", "/v1/traces/{trace}", None),
    "screens.get": ("GET", "/v1/screens/{screen}", None),
    "audits.get": ("GET", "/v1/audits/{audit}", None),
    "voiceprints.get": ("GET", "/v1/performers/{victim}/voiceprint", None),
    "labels.revoke": ("POST", "/v1/labels/L-0000-0000-0/revoke", {"reason": "x"}),
    "voices.resolve": ("POST", "/v1/voices/V-0000-0000-0/resolve", {"reason": "x"}),
    "labels.reinstate": ("POST", "/v1/labels/L-0000-0000-0/reinstate", {"reason": "x"}),
}
# Operations scoped to the caller's own records: an intruder may call them (or its role may
# not), but sees nothing of the victims'.
SCOPED_CALLS: dict[str, tuple[str, str, Any]] = {
    "voices.register": (
        "POST",
        "/v1/voices",
        voice_sheet(["{victim}"], rights={"holder_role": "other"}),
    ),
    "voices.list": ("GET", "/v1/voices", None),
    "voices.of_performer": ("GET", "/v1/performers/{victim}/voices", None),
    "ai_systems.check": ("POST", "/v1/ai-systems/{ai}/check", None),
    "ai_systems.register": (
        "POST",
        "/v1/ai-systems",
        ai_sheet(["{voice}"], training_data={"voices": ["{voice}"]}),
    ),
    "contracts.list": ("GET", "/v1/contracts", None),
    "traces.create": (
        "POST",
        "/v1/traces",
        {"file": {"filename": "q.wav", "size_bytes": 10, "content_type": "audio/wav"}},
    ),
    "screens.create": (
        "POST",
        "/v1/screens",
        {"file": {"filename": "q.wav", "size_bytes": 10, "content_type": "audio/wav"}},
    ),
    "traces.fingerprint": (
        "POST",
        "/v1/traces/fingerprint",
        {"algorithm": "x", "frames": "", "hz": ""},
    ),
    "audits.create": (
        "POST",
        "/v1/audits",
        {"ai_no": "{ai}", "algorithm": AUDIT_ALGORITHM, "files": 1, "size_bytes": 10},
    ),
}
# Public operations whose answer has private parts for the owner: the intruder gets the public
# part only.
MIXED_CALLS: dict[str, tuple[str, str]] = {
    "members.get": ("GET", "/v1/members/{victim}"),
    "voices.get": ("GET", "/v1/voices/{voice}"),
    "ai_systems.get": ("GET", "/v1/ai-systems/{ai}"),
}


def test_every_private_operation_is_in_the_access_table() -> None:
    # The portal's pages take a session cookie, not a token: tests/handler/test_portal.py
    # calls them as unrelated members.
    private = {
        name for name, rule in POLICY.items() if not rule.public and not name.startswith("portal.")
    }
    covered = PRIVATE_CALLS.keys() | SCOPED_CALLS.keys()
    assert private <= covered, f"add to the access table: {private - covered}"


def _path(template: str, world: World) -> str:
    return template.format(
        victim=world.victim.member_id,
        pending=world.pending,
        voice=world.voice,
        ai=world.ai,
        contract=world.contract,
        trace=world.trace,
        screen=world.screen,
        audit=world.audit,
    )


def _body(body: Any, world: World) -> Any:
    if isinstance(body, dict):
        return {k: _body(v, world) for k, v in body.items()}
    if isinstance(body, list):
        return [_body(v, world) for v in body]
    return _path(body, world) if isinstance(body, str) else body


@pytest.mark.parametrize("intruder_kind", ["performer", "rights_holder", "business"])
def test_unrelated_members_are_refused_everything_private(
    registry: Registry, world: World, intruder_kind: str
) -> None:
    intruder = registry.member(intruder_kind)
    for operation, (method, template, body) in PRIVATE_CALLS.items():
        reply = registry.api.request(
            method, _path(template, world), json_body=_body(body, world), token=intruder.token
        )
        assert reply.status in (403, 404), (operation, reply)
        assert reply.json["code"], operation
        for secret in world.secrets:
            assert secret not in reply.body.decode(), (operation, secret)
        anonymous = registry.api.request(
            method, _path(template, world), json_body=_body(body, world)
        )
        assert anonymous.status in (401, 403, 404), (operation, anonymous)
    for operation, (method, template, body) in SCOPED_CALLS.items():
        reply = registry.api.request(
            method, _path(template, world), json_body=_body(body, world), token=intruder.token
        )
        assert reply.status in (200, 201, 403, 422), (operation, reply)
        for secret in world.secrets:
            assert secret not in reply.body.decode(), (operation, secret)
    for operation, (method, template) in MIXED_CALLS.items():
        reply = registry.api.request(method, _path(template, world), token=intruder.token)
        assert reply.status == 200, operation
        for secret in world.secrets:
            assert secret not in reply.body.decode(), (operation, secret)
    # nothing changed for the victim
    victim = registry.api.get(f"/v1/members/{world.victim.member_id}", token=world.victim.token)
    assert victim.status == 200 and victim.json["status"] == "active"
