"""Domain events through the real handler and the same poller the local stack runs: every
declared action delivers, a failing subscriber costs only its own event (set aside, then
redriven), delivering twice changes nothing, and labels need registered, consented voices."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from shared import actions, audit, events
from tests.scenario import CONTRACT_INTENT, Registry, ai_sheet, fair_trade, voice_sheet

ROOT = Path(__file__).resolve().parents[2]


def _example(action: str) -> dict[str, Any]:
    """The smallest data an action may carry: its required fields, with plausible values."""
    values = {str: "X-TEST-0000-0", int: 1, bool: True, list: [], dict: {}}
    model = actions.model_for(action)
    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if field.is_required():
            origin = getattr(field.annotation, "__origin__", field.annotation)
            data[field.alias or name] = values.get(origin, "x")
    return data


@pytest.fixture
def poller(app, aws):
    from infra.local_worker import StreamPoller

    return StreamPoller(
        app.handler_map["domain_events"],
        "domain_events",
        aws["AuditStreamArn"],
        failure_queue_url=aws["EventsFailedQueueUrl"],
        retry_after_s=0,
    )


def drain(poller) -> int:
    total = 0
    while (count := poller.poll_once()) > 0:
        total += count
    return total


def test_every_action_the_code_audits_is_declared() -> None:
    """Literal actions in the code (f-strings are checked when they commit)."""
    found: set[str] = set()
    for path in (ROOT / "shared").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "action":
                value = node.value
                if isinstance(value, ast.Constant) and "." in str(value.value):
                    found.add(value.value)
    assert found, "the scan found no actions"
    assert found <= set(actions.CATALOG), found - set(actions.CATALOG)


def test_an_undeclared_action_or_field_is_refused_at_commit(aws) -> None:
    with pytest.raises(actions.UndeclaredAction):
        audit.commit(None, audit.Event("test", "voice.vanished", "voice:V", {}, {}))
    with pytest.raises(actions.UndeclaredAction):
        audit.commit(None, audit.Event("test", "voice.created", "voice:V", {}, {"holder": "M"}))


def test_a_subscriber_reading_an_undeclared_field_is_refused_at_import() -> None:
    # voice.created carries the holder; voice.processing and the others do not
    with pytest.raises(actions.UndeclaredAction, match=r"holder_id.*does not declare"):
        events.subscribe("voice.", requires=("holder_id",))(lambda event: None)


def test_every_declared_action_is_delivered_through_the_real_handler(aws, poller) -> None:
    committed = [
        audit.commit(None, audit.Event("test", action, f"test:{action}", {}, _example(action)))
        for action in sorted(actions.CATALOG)
    ]
    assert drain(poller) >= len(committed)
    assert poller.set_aside == 0
    assert events.delivery_cursor()["last_seq"] == committed[-1]["seq"]


@pytest.fixture
def flaky():
    """A subscriber that fails on one entity's events, and one that counts every call."""
    calls: list[int] = []
    state = {"broken": "member:BROKEN"}

    def fail_on_one(event: events.DomainEvent) -> None:
        if event.entity == state["broken"]:
            raise RuntimeError("this subscriber cannot handle that event")

    def count(event: events.DomainEvent) -> None:
        calls.append(event.seq)

    before = list(events._SUBSCRIPTIONS)
    events.subscribe("member.")(fail_on_one)
    events.subscribe("member.")(count)
    yield state, calls
    events._SUBSCRIPTIONS[:] = before


def test_a_failing_event_is_set_aside_and_the_others_still_arrive(aws, poller, flaky) -> None:
    from infra import event_failures

    state, calls = flaky
    entries = [
        audit.commit(
            None,
            audit.Event("test", "member.applied", entity, {}, {"kind": "performer"}),
        )
        for entity in ("member:A", "member:BROKEN", "member:C", "member:D")
    ]
    drain(poller)
    broken = entries[1]["seq"]
    # the others arrived, the broken one was tried 1 + retries times, then set aside
    assert events.delivery_cursor()["last_seq"] == entries[-1]["seq"]
    assert {e["seq"] for e in entries} - {broken} <= set(calls)
    assert calls.count(broken) == 1 + poller.max_retries  # the other subscriber still ran
    assert poller.set_aside == 1
    (waiting,) = event_failures.set_aside()
    assert waiting.condition == "RetryAttemptsExhausted"
    assert waiting.seqs == [broken]
    assert waiting.entries[0]["entity"] == "member:BROKEN"
    body = json.loads(
        event_failures.client("sqs").receive_message(
            QueueUrl=aws["EventsFailedQueueUrl"], VisibilityTimeout=0
        )["Messages"][0]["Body"]
    )
    assert set(body["DDBStreamBatchInfo"]) >= {"shardId", "startSequenceNumber", "streamArn"}
    assert events.set_aside_count() == 1
    # still broken: the redrive reports it and keeps the message
    assert event_failures.redrive(waiting) == [broken]
    assert len(event_failures.set_aside()) == 1
    # mended: the redrive delivers it and empties the queue
    state["broken"] = None
    (waiting,) = event_failures.set_aside()
    assert event_failures.redrive(waiting) == []
    assert event_failures.set_aside() == []
    assert calls.count(broken) == 1 + poller.max_retries + 2  # and once per redrive


def test_delivering_events_twice_changes_nothing(registry: Registry, registered_voice, app, aws):
    from infra.local_worker import StreamPoller

    api = registry.api
    (performer, *_), label_no = fair_trade(registry, registered_voice)
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {**CONTRACT_INTENT, "uses": {**CONTRACT_INTENT["uses"], "tts": "deny"}},
        token=performer.token,
    )

    def fresh_poller() -> StreamPoller:  # a mapping that starts again at the trim horizon
        return StreamPoller(app.handler_map["domain_events"], "d", aws["AuditStreamArn"])

    drain(fresh_poller())
    label = api.get(f"/v1/labels/{label_no}").json
    assert label["status"] == "suspended"
    head = audit.latest(audit.AUDIT)["seq"], audit.latest(audit.PUBLIC)["seq"]
    drain(fresh_poller())  # every event again, in order
    drain(fresh_poller())
    assert (audit.latest(audit.AUDIT)["seq"], audit.latest(audit.PUBLIC)["seq"]) == head
    again = api.get(f"/v1/labels/{label_no}").json
    assert again["status"] == "suspended" and again["reasons"] == label["reasons"]


def test_a_label_certifies_registered_voices_only(registry: Registry) -> None:
    business = registry.member("business")
    ai_no = registry.api.post("/v1/ai-systems", ai_sheet([]), token=business.token).json["ai_no"]
    refused = registry.api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert refused.status == 422
    assert [p["reason"] for p in refused.json["problems"]] == ["no_registered_voices"]


def test_non_member_performers_block_unless_the_holder_attests_consent(
    registry: Registry, registered_voice
) -> None:
    from shared.voices import service

    api = registry.api
    holder = registry.member("rights_holder")
    business = registry.member("business")
    voice_no = registered_voice(holder)  # performer_names only, consent attested
    plain = voice_sheet(rights={"holder_role": "agency"})  # nothing attested
    unattested = api.post("/v1/voices", plain, token=holder.token).json["voice_no"]
    service.transition(
        unattested,
        to="registered",
        allowed_from=("awaiting_upload",),
        actor="test",
        action="voice.registered",
    )
    sheet = ai_sheet([unattested], uses=["research"], commercial=False)
    ai_no = api.post("/v1/ai-systems", sheet, token=business.token).json["ai_no"]
    refused = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert refused.status == 422
    (problem,) = refused.json["problems"]
    assert problem["reason"] == "performer_not_registered"
    assert problem["performer_name"] == "非会員 花子"

    sheet = ai_sheet([voice_no], uses=["research"], commercial=False)
    ai_no = api.post("/v1/ai-systems", sheet, token=business.token).json["ai_no"]
    issued = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert issued.status == 201, issued
    label = api.get(f"/v1/labels/{issued.json['label_no']}").json
    assert label["status"] == "valid"
    (notice,) = label["reasons"]
    assert notice["reason"] == "performer_consent_attested" and notice["blocking"] is False
    page = api.get(f"/verify/{issued.json['label_no']}?lang=en").body.decode()
    assert 'id="notices"' in page and "consent was attested by the rights holder" in page
    assert "非会員 花子" in page and 'id="reasons"' not in page


def test_the_operator_does_not_act_for_members(registry: Registry, registered_voice) -> None:
    api, op = registry.api, registry.operator
    performer = registry.member("performer")
    holder = registry.member("rights_holder")
    voice_no = registered_voice(holder, [performer.member_id])
    calls = [
        ("POST", "/v1/voices", voice_sheet([performer.member_id])),
        ("POST", "/v1/ai-systems", ai_sheet([voice_no])),
        ("POST", "/v1/labels", {"ai_no": "A-0000-0000-0"}),
        ("POST", f"/v1/performers/{performer.member_id}/agents", {"agent_id": holder.member_id}),
        ("PUT", f"/v1/performers/{performer.member_id}/intent", CONTRACT_INTENT),
    ]
    for method, path, body in calls:
        reply = api.request(method, path, json_body=body, token=op)
        assert reply.status == 403, (path, reply)
        assert reply.json["code"] == "forbidden_role"


def test_an_audit_entry_edited_in_place_is_not_delivered_again(aws, poller, flaky) -> None:
    """The audit log is append-only: an edit of a stored entry (tampering, which the chain's
    verification reports) reaches the stream as a MODIFY, and was dispatched again as if new,
    with the edited data."""
    from shared import store

    _, calls = flaky
    data = _example("member.applied")
    entry = audit.commit(None, audit.Event("test", "member.applied", "member:EDITED", {}, data))
    drain(poller)
    assert calls.count(entry["seq"]) == 1
    key = {"pk": entry["pk"], "sk": entry["sk"]}
    store.audit_table().update_item(
        Key=key,
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":d": {"kind": "edited"}},
    )
    drain(poller)
    assert calls.count(entry["seq"]) == 1
    assert poller.set_aside == 0
