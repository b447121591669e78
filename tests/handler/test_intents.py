"""The intent registry over the API: versions, ?at=, history, agents, exports, bad input."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pytest

from shared.clock import now_iso
from tests.scenario import Registry

INTENT = {
    "uses": {
        "training": "deny",
        "fine_tuning": "contract",
        "tts": "contract",
        "voice_conversion": "deny",
        "singing": "deny",
        "research": "allow",
    },
    "commercial": "contract",
    "conditions": {
        "credit_required": True,
        "prohibited_content": ["political", "adult"],
        "territories": ["JP", "US"],
    },
    "valid_until": (date.today() + timedelta(days=365)).isoformat(),
    "note": "事務所経由でご相談ください",
}


def _path(member_id: str) -> str:
    return f"/v1/performers/{member_id}/intent"


def test_versions_history_and_at_agree_with_what_was_written(registry: Registry) -> None:
    api = registry.api
    performer = registry.member("performer")
    assert api.get(_path(performer.member_id)).json["code"] == "no_intent"
    first = api.put(_path(performer.member_id), INTENT, token=performer.token)
    assert first.status == 200 and first.json["version"] == 1
    between = now_iso()
    time.sleep(0.01)
    second_body = {"uses": {"training": "allow"}, "commercial": "allow"}
    second = api.put(_path(performer.member_id), second_body, token=performer.token)
    assert second.json["version"] == 2

    now = api.get(_path(performer.member_id)).json
    assert now["version"] == 2
    # a use left out counts as contract
    assert now["uses"] == {
        "training": "allow",
        "fine_tuning": "contract",
        "tts": "contract",
        "voice_conversion": "contract",
        "singing": "contract",
        "research": "contract",
    }
    assert {u["code"]: (u["name_ja"], u["decision_en"]) for u in now["use_names"]}["tts"] == (
        "音声合成",
        "Contract required",
    )
    then = api.get(_path(performer.member_id) + f"?at={between}").json
    assert then["version"] == 1 and then["uses"]["voice_conversion"] == "deny"
    assert then["note"] == INTENT["note"]
    assert then["conditions"]["prohibited_content"] == ["adult", "political"]
    before = api.get(_path(performer.member_id) + "?at=2020-01-01")
    assert before.status == 404
    history = api.get(_path(performer.member_id) + "/history").json["versions"]
    assert {i["performer_name"] for i in api.get("/v1/intents").json["intents"]} == {
        api.get(f"/v1/members/{performer.member_id}").json["display_name"]
    }
    assert [(v["version"], v["author"], v["author_role"]) for v in history] == [
        (1, performer.member_id, "performer"),
        (2, performer.member_id, "performer"),
    ]
    assert history[0]["effective_at"] == first.json["effective_at"]


def test_registry_filters_by_use_and_value(registry: Registry) -> None:
    api = registry.api
    deniers = [registry.member("performer") for _ in range(2)]
    allower = registry.member("performer")
    for p in deniers:
        api.put(_path(p.member_id), {"uses": {"voice_conversion": "deny"}}, token=p.token)
    api.put(_path(allower.member_id), {"uses": {"voice_conversion": "allow"}}, token=allower.token)
    found = api.get("/v1/intents?use=voice_conversion&value=deny").json["intents"]
    assert {i["performer_id"] for i in found} == {p.member_id for p in deniers}
    assert len(api.get("/v1/intents").json["intents"]) == 3
    assert api.get("/v1/intents?use=flying").status == 422
    assert api.get("/v1/intents?use=tts&value=maybe").status == 422


def test_an_authorised_agency_writes_and_is_named(registry: Registry) -> None:
    api = registry.api
    performer = registry.member("performer")
    agency = registry.member("rights_holder")
    other = registry.member("rights_holder")
    body = {"uses": {"tts": "allow"}}
    refused = api.put(_path(performer.member_id), body, token=agency.token)
    assert refused.status == 403 and refused.json["code"] == "not_agent"
    added = api.post(
        f"/v1/performers/{performer.member_id}/agents",
        {"agent_id": agency.member_id},
        token=performer.token,
    )
    assert added.status == 201
    assert [a["agent_id"] for a in added.json["agents"]] == [agency.member_id]
    assert api.put(_path(performer.member_id), body, token=agency.token).status == 200
    assert api.put(_path(performer.member_id), body, token=other.token).status == 403
    history = api.get(_path(performer.member_id) + "/history").json["versions"]
    assert (history[-1]["author"], history[-1]["author_role"]) == (agency.member_id, "agent")
    audit = api.get(
        f"/v1/audit?entity=performer:{performer.member_id}", token=registry.operator
    ).json["entries"]
    changed = [e for e in audit if e["action"] == "intent.changed"]
    assert changed[-1]["actor"] == agency.member_id
    assert changed[-1]["data"]["author_role"] == "agent"
    removed = api.delete(
        f"/v1/performers/{performer.member_id}/agents/{agency.member_id}", token=performer.token
    )
    assert removed.status == 200 and removed.json["agents"] == []
    assert api.put(_path(performer.member_id), body, token=agency.token).status == 403
    # an agent must be a rights holder
    business = registry.member("business")
    wrong = api.post(
        f"/v1/performers/{performer.member_id}/agents",
        {"agent_id": business.member_id},
        token=performer.token,
    )
    assert wrong.status == 422 and wrong.json["code"] == "not_a_rights_holder"


def test_an_agency_removed_while_it_writes_writes_nothing(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agency was checked before the write's transaction: removed in between, its version
    was written after its removal (5 of 8 races). The transaction now checks it too."""
    from shared.intents import service

    api = registry.api
    performer, agency = registry.member("performer"), registry.member("rights_holder")
    api.post(f"/v1/performers/{performer.member_id}/agents", {"agent_id": agency.member_id},
             token=performer.token)  # fmt: skip
    checked = service.author_role

    def removed_right_after_the_check(performer_id: str, principal: Any) -> str:
        role = checked(performer_id, principal)
        api.delete(f"/v1/performers/{performer_id}/agents/{agency.member_id}",
                   token=performer.token)  # fmt: skip
        return role

    monkeypatch.setattr(service, "author_role", removed_right_after_the_check)
    late = api.put(_path(performer.member_id), {"uses": {"tts": "allow"}}, token=agency.token)
    assert late.status == 403 and late.json["code"] == "not_agent", late.json
    assert api.get(_path(performer.member_id)).status == 404  # no version was written


def test_lapsed_intent_counts_as_all_contract(registry: Registry, monkeypatch) -> None:
    from shared.intents import service

    api = registry.api
    performer = registry.member("performer")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    api.put(
        _path(performer.member_id),
        {"uses": {"tts": "allow"}, "valid_until": tomorrow},
        token=performer.token,
    )
    assert api.get(_path(performer.member_id)).json["uses"]["tts"] == "allow"
    record = service.current(performer.member_id)
    from datetime import UTC, datetime

    later = datetime.now(UTC) + timedelta(days=3)
    view = service.view(record, None, later)
    assert view["lapsed"] and set(view["uses"].values()) == {"contract"}
    at = api.get(_path(performer.member_id) + f"?at={later.isoformat()}").json
    assert at["lapsed"] and at["uses"]["tts"] == "contract"


def test_exports_cawg_and_tdmrep(registry: Registry) -> None:
    api = registry.api
    performer = registry.member("performer")
    api.put(_path(performer.member_id), INTENT, token=performer.token)
    cawg = api.get(_path(performer.member_id) + "?format=cawg").json
    assert cawg["label"] == "cawg.training-mining"
    entries = cawg["data"]["entries"]
    assert set(entries) == {
        "cawg.ai_training",
        "cawg.ai_generative_training",
        "cawg.ai_inference",
        "cawg.data_mining",
    }
    assert entries["cawg.ai_training"]["use"] == "notAllowed"  # training: deny
    assert entries["cawg.ai_inference"]["use"] == "notAllowed"  # voice_conversion: deny
    assert entries["cawg.data_mining"] == {"use": "allowed"}  # research: allow
    api.put(
        _path(performer.member_id),
        {
            "uses": {
                "training": "contract",
                "fine_tuning": "allow",
                "tts": "allow",
                "voice_conversion": "allow",
                "singing": "allow",
                "research": "allow",
            }
        },
        token=performer.token,
    )
    entries = api.get(_path(performer.member_id) + "?format=cawg").json["data"]["entries"]
    assert entries["cawg.ai_training"]["use"] == "constrained"
    assert "training" in entries["cawg.ai_training"]["constraints_info"]
    assert entries["cawg.ai_inference"] == {"use": "allowed"}
    reply = api.get(_path(performer.member_id) + "?format=tdmrep")
    assert reply.headers["content-type"].startswith("application/ld+json")
    policy = reply.json
    assert policy["@type"] == "Offer" and policy["profile"] == "http://www.w3.org/ns/tdmrep"
    permission = policy["permission"][0]
    assert permission["action"] == "tdm:mine"
    duties = {d["action"] for d in permission["duty"]}
    assert duties == {"obtainConsent", "compensate"}
    assert api.get(_path(performer.member_id) + "?format=xml").status == 422


BAD_INTENTS = [
    ("unknown use", {"uses": {"flying": "allow"}}, "validation_error"),
    ("bad value", {"uses": {"tts": "maybe"}}, "validation_error"),
    ("past valid_until", {"valid_until": "2001-01-01"}, "validation_error"),
    ("unknown content", {"conditions": {"prohibited_content": ["weird"]}}, "validation_error"),
    ("bad territory", {"conditions": {"territories": ["Japan"]}}, "validation_error"),
    ("long note", {"note": "あ" * 1001}, "validation_error"),
    ("unknown field", {"uses": {}, "secret": 1}, "validation_error"),
]


@pytest.mark.parametrize(("case", "body", "code"), BAD_INTENTS, ids=[c[0] for c in BAD_INTENTS])
def test_bad_intents_leave_the_previous_version_in_force(
    registry: Registry, case: str, body: dict, code: str
) -> None:
    api = registry.api
    performer = registry.member("performer")
    api.put(_path(performer.member_id), INTENT, token=performer.token)
    reply = api.put(_path(performer.member_id), body, token=performer.token)
    assert reply.status == 422 and reply.json["code"] == code
    current = api.get(_path(performer.member_id)).json
    assert current["version"] == 1 and current["uses"]["training"] == "deny"


def test_only_performers_have_intents(registry: Registry) -> None:
    api = registry.api
    business = registry.member("business")
    agency = registry.member("rights_holder")
    assert api.put(_path(business.member_id), {"uses": {}}, token=business.token).status == 403
    reply = api.put(_path(business.member_id), {"uses": {}}, token=agency.token)
    assert reply.status == 422 and reply.json["code"] == "not_a_performer"
    assert api.get(_path(business.member_id)).json["code"] == "not_a_performer"


def test_intent_change_is_a_domain_event_with_old_and_new_decisions(
    registry: Registry, app
) -> None:
    from shared import audit
    from shared.events import delivery_cursor

    api = registry.api
    performer = registry.member("performer")
    api.put(_path(performer.member_id), {"uses": {"tts": "allow"}}, token=performer.token)
    api.put(_path(performer.member_id), {"uses": {"tts": "deny"}}, token=performer.token)
    entry = audit.latest(audit.AUDIT)
    assert entry["action"] == "intent.changed"
    assert entry["data"]["old"]["uses"]["tts"] == "allow"
    assert entry["data"]["new"]["uses"]["tts"] == "deny"
    public = api.get("/v1/log?limit=200").json["entries"][-1]
    assert public["action"] == "intent.changed" and public["summary"]["uses"]["tts"] == "deny"
    # deliver the stream record exactly as Lambda would
    import boto3

    from infra.local_worker import StreamPoller
    from shared.events import stream_arn
    from shared.settings import get_settings

    arn = boto3.client("dynamodb").describe_table(TableName=get_settings().audit_table)["Table"][
        "LatestStreamArn"
    ]
    assert stream_arn()
    delivered = StreamPoller(app.handler_map["domain_events"], "domain_events", arn).poll_once()
    assert delivered > 0
    assert delivery_cursor()["last_seq"] == entry["seq"]
    assert api.get("/v1/health").json["events"]["last_delivered_seq"] == entry["seq"]


def test_withdrawing_every_consent_keeps_the_conditions_and_drops_a_lapsed_end() -> None:
    from shared.intents.service import withdrawn

    record = {
        "uses": {"tts": "allow"},
        "commercial": "allow",
        "conditions": {"credit_required": True, "territories": ["JP"]},
        "valid_until": "2001-01-01",  # lapsed: a new version may not carry it
        "note": "朗読のみ",
    }
    body = withdrawn(record)
    assert set(body.uses.values()) == {"deny"} and len(body.uses) > 1
    assert body.commercial == "deny" and body.valid_until is None and body.note is None
    assert body.conditions.territories == ["JP"] and body.conditions.credit_required
    # nor a future one: a lapsed intent counts as "contract", so the withdrawal would expire
    assert withdrawn({**record, "valid_until": "2999-01-01"}).valid_until is None
