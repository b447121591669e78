"""Labels over the API: refused while unfair, issued and signed once fair, verified online and
offline, and following consent as intents and contracts change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.formats import jws
from tests.scenario import (
    CONTRACT_INTENT,
    Registry,
    Trade,
    ai_sheet,
    confirm_contract,
    contract_filing,
    fair_trade,
    open_trade,
)


@pytest.fixture
def trade(registry: Registry, registered_voice) -> Trade:
    return open_trade(registry, registered_voice, display_name="声優 テスト")


def test_unfair_trade_lists_every_problem(registry: Registry, trade) -> None:
    api = registry.api
    _, holder, business, voice_no, ai_no = trade
    refused = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert refused.status == 422 and refused.json["code"] == "unfair"
    problems = {(p["voice_no"], p["use"], p["reason"]) for p in refused.json["problems"]}
    assert problems == {
        (voice_no, "tts", "contract_missing"),
        (voice_no, "fine_tuning", "contract_missing"),
        (voice_no, "commercial", "contract_missing"),
    }
    contract_id = api.post(
        "/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token
    ).json["contract_id"]
    waiting = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token).json["problems"]
    assert {p["reason"] for p in waiting} == {"contract_not_confirmed"}
    api.post(f"/v1/contracts/{contract_id}/confirm", token=holder.token)
    denied = api.put(
        f"/v1/ai-systems/{ai_no}",
        ai_sheet([voice_no], uses=["tts", "training"]),
        token=business.token,
    )
    assert denied.status == 200
    problems = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token).json["problems"]
    assert {(p["use"], p["reason"]) for p in problems} == {("training", "intent_denies")}


def test_full_label_lifecycle_follows_consent(registry: Registry, trade, deliver_events) -> None:
    api = registry.api
    performer, holder, business, voice_no, ai_no = trade
    contract_id = confirm_contract(api, trade)
    issued = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert issued.status == 201, issued
    label_no, token = issued.json["label_no"], issued.json["token"]
    assert issued.json["status"] == "valid"
    assert issued.json["verify_url"].endswith(f"/verify/{label_no}")
    issued_at = datetime.now(UTC).isoformat()

    # offline: the token verifies against the published keys alone
    keys = api.get("/.well-known/jwks.json").json
    claims = jws.verify(token, keys)
    assert claims["label_no"] == label_no and claims["ai_no"] == ai_no
    assert claims["voices"] == [voice_no] and claims["exp"] > claims["iat"]
    header = jws.header(token)
    assert header["alg"] == "ES256" and header["kid"] in {k["kid"] for k in keys["keys"]}
    # online
    online = api.post("/v1/labels/verify", {"token": token}).json
    assert online["signature_valid"] and online["label"]["status"] == "valid"
    # "signature_valid, and the label as above": its fields beside the flag, as clients read
    assert (online["status"], online["label_no"]) == ("valid", label_no)
    assert online["ai_system"] == online["label"]["ai_system"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert api.post("/v1/labels/verify", {"token": tampered}).json["signature_valid"] is False
    view = api.get(f"/v1/labels/{label_no}").json
    assert view["credits"] == ["声優 テスト"]
    assert api.get(f"/v1/ai-systems/{ai_no}").json["label_status"] == "valid"

    # the performer withdraws consent for tts → suspended
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {**CONTRACT_INTENT, "uses": {**CONTRACT_INTENT["uses"], "tts": "deny"}},
        token=performer.token,
    )
    deliver_events()
    suspended = api.get(f"/v1/labels/{label_no}").json
    assert suspended["status"] == "suspended"
    assert {(r["use"], r["reason"]) for r in suspended["reasons"]} == {("tts", "intent_denies")}
    assert api.post("/v1/labels/verify", {"token": token}).json["label"]["status"] == "suspended"
    # restored → valid again by itself
    api.put(f"/v1/performers/{performer.member_id}/intent", CONTRACT_INTENT, token=performer.token)
    deliver_events()
    assert api.get(f"/v1/labels/{label_no}").json["status"] == "valid"
    # the contract is revoked → suspended
    api.post(f"/v1/contracts/{contract_id}/revoke", {"reason": "解除"}, token=holder.token)
    deliver_events()
    revoked_contract = api.get(f"/v1/labels/{label_no}").json
    assert revoked_contract["status"] == "suspended"
    assert "contract_revoked" in {r["reason"] for r in revoked_contract["reasons"]}
    # what it was then
    assert api.get(f"/v1/labels/{label_no}?at={issued_at}").json["status"] == "valid"
    # an operator revokes: final
    final = api.post(
        f"/v1/labels/{label_no}/revoke", {"reason": "虚偽申告"}, token=registry.operator
    )
    assert final.json["status"] == "revoked"
    confirm_contract(api, trade)
    deliver_events()
    assert api.get(f"/v1/labels/{label_no}").json["status"] == "revoked"
    assert (
        api.post(
            f"/v1/labels/{label_no}/reinstate", {"reason": "x"}, token=registry.operator
        ).status
        == 409
    )
    log = [
        e
        for e in api.get("/v1/log?limit=200").json["entries"]
        if e["subject"] == f"label:{label_no}"
    ]
    assert [e["summary"]["status"] for e in log] == [
        "valid",
        "suspended",
        "valid",
        "suspended",
        "revoked",
    ]
    # the usage view shows the label
    usage = api.get(f"/v1/voices/{voice_no}/usage", token=holder.token).json
    assert [(lb["label_no"], lb["status"]) for lb in usage["labels"]] == [(label_no, "revoked")]


def test_page_badge_and_qr(registry: Registry, trade) -> None:
    api = registry.api
    business, ai_no = trade.business, trade.ai_no
    confirm_contract(api, trade)
    label_no = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token).json["label_no"]
    page = api.get(f"/verify/{label_no}")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    html = page.body.decode()
    assert "有効" in html and "Valid" in html and "声優 テスト" in html
    assert "<script" not in html and "https://" not in html
    badge = api.get(f"/v1/labels/{label_no}/badge.svg")
    assert badge.headers["content-type"].startswith("image/svg+xml")
    assert "max-age=60" in badge.headers["cache-control"]
    assert b"<svg" in badge.body
    assert b"<svg" in api.get(f"/v1/labels/{label_no}/qr.svg").body
    assert api.get("/verify/L-0000-0000-0").status == 404


def test_second_label_while_one_is_live_is_a_conflict(registry: Registry, trade) -> None:
    api = registry.api
    business, ai_no = trade.business, trade.ai_no
    confirm_contract(api, trade)
    first = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    again = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert again.status == 409 and again.json["details"]["label_no"] == first.json["label_no"]


def test_labels_expire_after_exp_and_the_schedule_records_it(
    registry: Registry, trade, app
) -> None:
    from infra.local_worker import LambdaContext, scheduled_event
    from shared import store

    api = registry.api
    business, ai_no = trade.business, trade.ai_no
    confirm_contract(api, trade)
    label_no = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token).json["label_no"]
    past = "2020-01-01T00:00:00.000000Z"
    store.registry().update_item(
        Key={"pk": f"LABEL#{label_no}", "sk": "LABEL"},
        UpdateExpression="SET expires_at = :p, gsi1sk = :k",
        ExpressionAttributeValues={":p": past, ":k": f"{past}#{label_no}"},
    )
    assert api.get(f"/v1/labels/{label_no}").json["status"] == "expired"  # reads follow exp
    result = app.handler_map["end_contracts"](scheduled_event(), LambdaContext("end_contracts"))
    assert result["labels_expired"] == [label_no]
    log = [
        e["summary"]["status"]
        for e in api.get("/v1/log?limit=200").json["entries"]
        if e["subject"] == f"label:{label_no}"
    ]
    assert log == ["valid", "expired"]


def test_consent_withdrawn_while_a_label_is_issued_suspends_it(
    registry: Registry, trade, deliver_events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issuer decides on what it read; a performer who denies the use between that read
    and the label's commit is delivered before the label exists (no label to suspend then).
    The label's own `label.issued` event brings it in step."""
    from shared.business import ai_systems
    from shared.labels import fairness

    api = registry.api
    performer, _, business, _, ai_no = trade
    confirm_contract(api, trade)
    read_before = fairness.verdict_now(ai_systems.require(ai_no))
    assert read_before.fair
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {**CONTRACT_INTENT, "uses": {**CONTRACT_INTENT["uses"], "tts": "deny"}},
        token=performer.token,
    )
    deliver_events()  # intent.changed: no label depends on it yet
    monkeypatch.setattr(fairness, "verdict_now", lambda ai: read_before)
    issued = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert (issued.status, issued.json["status"]) == (201, "valid")  # decided on the old read
    monkeypatch.undo()
    deliver_events()
    label = api.get(f"/v1/labels/{issued.json['label_no']}").json
    assert label["status"] == "suspended"
    assert {(r["use"], r["reason"]) for r in label["reasons"]} == {("tts", "intent_denies")}


def test_a_label_that_changes_often_keeps_following_within_dynamodbs_item_limit(
    registry: Registry, trade, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A label of a large sheet whose performers flip their intents: each change was appended
    to the item with every reason's texts, until the item passed DynamoDB's 400 KB and the
    label stopped following consent (found after ~115 flips of one voice; ~26 of 20 voices).
    The item keeps the issue and its recent history within a bound; `?at=` reads inside that
    history are answered, earlier ones point to the audit log, and before the issue is 404."""
    import json
    from urllib.parse import quote

    from shared import store
    from shared.labels import service

    api = registry.api
    confirm_contract(api, trade)
    label_no = api.post("/v1/labels", {"ai_no": trade.ai_no}, token=trade.business.token).json[
        "label_no"
    ]
    reasons = [
        service.fairness.Problem(f"V-{i:04d}", use, "intent_denies").as_dict()
        for i in range(20)
        for use in ("tts", "fine_tuning", "voice_conversion")
    ]
    monkeypatch.setattr(service, "HISTORY_BYTES", 30_000, raising=False)  # 150 KB deployed
    label = service.require(label_no)
    for flip in range(30):
        status = "suspended" if flip % 2 == 0 else "valid"
        action = "label.suspended" if status == "suspended" else "label.restored"
        label = service.transition(
            label, status, reasons if status == "suspended" else [], "system:test", action
        )
    stored = store.get({"pk": f"LABEL#{label_no}", "sk": "LABEL"})
    size = len(json.dumps(stored, default=str))
    assert size < 60_000, size
    assert stored["status"] == "valid" and stored["version"] == label["version"]
    assert stored["transitions"][0]["status"] == "valid"  # the issue is kept
    assert "message_en" not in stored["transitions"][-2]["reasons"][0]  # texts follow `reason`
    kept_from = stored["history_kept_from"]
    suspended_at = next(t["at"] for t in stored["transitions"][1:] if t["status"] == "suspended")
    at_then = api.get(f"/v1/labels/{label_no}?at={quote(suspended_at)}").json
    assert at_then["status"] == "suspended" and len(at_then["reasons"]) == 60
    assert at_then["reasons"][0]["message_en"]  # the texts come back on reading
    issued = datetime.fromisoformat(stored["issued_at"].replace("Z", "+00:00"))
    between = issued + (datetime.fromisoformat(kept_from.replace("Z", "+00:00")) - issued) / 2
    gap = api.get(f"/v1/labels/{label_no}?at={quote(between.isoformat())}")
    assert gap.status == 422 and gap.json["code"] == "history_in_audit_log"
    before = api.get(f"/v1/labels/{label_no}?at=2020-01-01T00:00:00Z")
    assert before.status == 404 and before.json["code"] == "not_issued"


def test_a_changed_training_data_sheet_is_labelled_anew_and_the_old_label_sends_readers_on(
    registry: Registry, trade, deliver_events
) -> None:
    """A label says "the training-data sheet changed; apply for a new label". Applying was
    `409 label_exists` (the suspended label counted as live), and no operator action freed the
    AI system: a dead end. The new application now replaces it: the new label is issued and
    the old one is revoked, naming its successor."""
    api = registry.api
    business, ai_no = trade.business, trade.ai_no
    confirm_contract(api, trade)
    old = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token).json["label_no"]
    changed = ai_sheet([trade.voice_no], uses=["tts"], commercial=False)
    assert api.put(f"/v1/ai-systems/{ai_no}", changed, token=business.token).status == 200
    deliver_events()
    suspended = api.get(f"/v1/labels/{old}").json
    assert suspended["status"] == "suspended"
    assert [r["reason"] for r in suspended["reasons"]] == ["training_data_changed"]
    check = api.post(f"/v1/ai-systems/{ai_no}/check", token=business.token).json
    assert check["fair"] and check["would_issue"]
    new = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert new.status == 201 and new.json["status"] == "valid", new.json
    deliver_events()
    replaced = api.get(f"/v1/labels/{old}").json
    assert replaced["status"] == "revoked"
    assert replaced["reasons"][0]["reason"] == "superseded"
    assert replaced["reasons"][0]["label_no"] == new.json["label_no"]
    assert api.get(f"/v1/ai-systems/{ai_no}").json["label_status"] == "valid"
    again = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert again.status == 409 and again.json["code"] == "label_exists"  # the new one is live


def test_a_label_follows_an_intent_that_lapses_though_no_event_says_so(
    registry: Registry, trade, deliver_events, app
) -> None:
    """The performer allows the uses (no contract needed) and the label is issued; later they
    give their intent an end date. Nothing happens on that day by itself — no event — so the
    label stayed `valid` after the intent lapsed. The re-evaluation that the change caused now
    schedules the label for the day after, and the hourly job re-evaluates it then."""
    from infra.local_worker import LambdaContext, scheduled_event
    from shared import store
    from shared.clock import today
    from shared.intents import service as intents

    api = registry.api
    performer, business = trade.performer, trade.business
    allow = {"uses": {"tts": "allow", "fine_tuning": "allow"}, "commercial": "allow"}
    api.put(f"/v1/performers/{performer.member_id}/intent", allow, token=performer.token)
    label_no = api.post("/v1/labels", {"ai_no": trade.ai_no}, token=business.token).json["label_no"]
    ends = today().isoformat()
    ending = {**allow, "valid_until": ends}
    assert (
        api.put(
            f"/v1/performers/{performer.member_id}/intent", ending, token=performer.token
        ).status
        == 200
    )
    deliver_events()
    label = store.get({"pk": f"LABEL#{label_no}", "sk": "LABEL"})
    assert label["status"] == "valid"
    tomorrow = (datetime.fromisoformat(ends) + timedelta(days=1)).date().isoformat()
    assert label["gsi1sk"].startswith(tomorrow), label["gsi1sk"]
    # the day comes: the intent has lapsed (its end moved into the past stands for the clock)
    current = intents.current(performer.member_id)
    store.registry().update_item(
        Key={"pk": current["pk"], "sk": current["sk"]},
        UpdateExpression="SET valid_until = :d",
        ExpressionAttributeValues={":d": "2020-01-01"},
    )
    past = "2020-01-02T00:00:00.000000Z"
    store.registry().update_item(
        Key={"pk": f"LABEL#{label_no}", "sk": "LABEL"},
        UpdateExpression="SET gsi1sk = :k",
        ExpressionAttributeValues={":k": f"{past}#{label_no}"},
    )
    assert api.get(f"/v1/labels/{label_no}").json["status"] == "valid"  # nothing said so yet
    app.handler_map["end_contracts"](scheduled_event(), LambdaContext("end_contracts"))
    after = api.get(f"/v1/labels/{label_no}").json
    assert after["status"] == "suspended"
    assert {r["reason"] for r in after["reasons"]} >= {"contract_missing"}


def test_an_operator_decides_a_conflict_and_the_label_follows(
    registry: Registry, trade, deliver_events
) -> None:
    """Any rights holder could upload a copy of a registered recording: both voices went to
    `conflict`, every label relying on the voice was suspended, and nothing could end it. An
    operator now decides which voice holds the recording; the other is rejected, naming it,
    and the label is valid again."""
    from shared.voices import service as voices
    from tests.scenario import voice_sheet

    api = registry.api
    confirm_contract(api, trade)
    label_no = api.post("/v1/labels", {"ai_no": trade.ai_no}, token=trade.business.token).json[
        "label_no"
    ]
    copier = registry.member("rights_holder")
    copy_no = api.post("/v1/voices", voice_sheet(), token=copier.token).json["voice_no"]
    voices.transition(copy_no, to="processing", allowed_from=("awaiting_upload",),
                      actor="test", action="voice.processing")  # fmt: skip
    for voice_no, other in ((trade.voice_no, copy_no), (copy_no, trade.voice_no)):
        voices.transition(
            voice_no,
            to="conflict",
            allowed_from=("registered", "processing"),
            actor="system:ingest",
            action="voice.conflict",
            changes={"conflict_with": [other]},
            data={"with": other},
        )
    deliver_events()
    assert api.get(f"/v1/labels/{label_no}").json["status"] == "suspended"
    queue = "/v1/voices?status=conflict"
    waiting = api.get(queue, token=registry.operator).json["voices"]
    assert [v["voice_no"] for v in waiting] == [trade.voice_no, copy_no]  # longest waiting first
    mine = api.get(queue, token=copier.token).json["voices"]
    assert [v["voice_no"] for v in mine] == [copy_no]  # a holder sees only its own
    path = f"/v1/voices/{trade.voice_no}/resolve"
    reason = {"reason": "原盤の権利者を確認"}
    assert api.post(path, reason, token=copier.token).status == 403
    assert api.post(path, {}, token=registry.operator).status == 422  # a reason is needed
    kept = api.post(path, reason, token=registry.operator)
    assert kept.status == 200 and kept.json["status"] == "registered", kept.json
    lost = api.get(f"/v1/voices/{copy_no}", token=copier.token).json
    assert lost["status"] == "rejected" and lost["error"]["code"] == "conflict_lost"
    assert trade.voice_no in lost["error"]["message"]
    deliver_events()
    assert api.get(f"/v1/labels/{label_no}").json["status"] == "valid"
    assert api.get(queue, token=registry.operator).json["voices"] == []  # decided, off the queue
    again = api.post(path, reason, token=registry.operator)
    assert again.status == 409 and again.json["code"] == "not_in_conflict"


def test_a_far_day_for_no_end_issues_and_follows_and_past_the_last_day_is_refused(
    registry: Registry, trade, deliver_events
) -> None:
    """`ends_on` 9999-12-31 was taken: its day after overflowed, so issuing the label was a 500
    and every event of a label relying on it was set aside (it stayed valid after the
    performer denied every use). Days past 2999-12-31 are refused; a far day works."""
    from shared.labels import fairness, service

    api = registry.api
    far = contract_filing(trade.ai_no, [trade.voice_no], ends_on="9999-12-31")
    refused = api.post("/v1/contracts", far, token=trade.business.token)
    assert refused.status == 422 and "2999-12-31" in refused.json["details"][0]["message"]
    intent = api.put(
        f"/v1/performers/{trade.performer.member_id}/intent",
        {**CONTRACT_INTENT, "valid_until": "9999-12-31"},
        token=trade.performer.token,
    )
    assert intent.status == 422
    no_end = contract_filing(trade.ai_no, [trade.voice_no], ends_on="2999-12-31")
    contract = api.post("/v1/contracts", no_end, token=trade.business.token).json["contract_id"]
    api.post(f"/v1/contracts/{contract}/confirm", token=trade.holder.token)
    issued = api.post("/v1/labels", {"ai_no": trade.ai_no}, token=trade.business.token)
    assert issued.status == 201, issued.json
    api.put(f"/v1/performers/{trade.performer.member_id}/intent",
            {"uses": dict.fromkeys(CONTRACT_INTENT["uses"], "deny"), "commercial": "deny"},
            token=trade.performer.token)  # fmt: skip
    deliver_events()
    assert api.get(f"/v1/labels/{issued.json['label_no']}").json["status"] == "suspended"
    # a day past the bound stored before it (or by hand) still has an end instant
    stored = fairness.Verdict(trade.ai_no, ends=["9999-12-31"])
    assert service._ends(stored)[0].year == 3000


def test_a_reevaluation_that_loses_a_race_on_the_label_reads_it_again(
    registry: Registry, trade, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two events re-evaluating one label at once: the loser's write failed on the label's
    version and its event went back to the stream with an ERROR and a traceback. It now
    reads the label again and writes what is true then."""
    from shared import store
    from shared.labels import service

    api = registry.api
    confirm_contract(api, trade)
    label_no = api.post("/v1/labels", {"ai_no": trade.ai_no}, token=trade.business.token).json[
        "label_no"
    ]
    denied = {**CONTRACT_INTENT, "uses": {**CONTRACT_INTENT["uses"], "tts": "deny"}}
    api.put(f"/v1/performers/{trade.performer.member_id}/intent", denied,
            token=trade.performer.token)  # fmt: skip
    reads = []
    real_get = service.get

    def read_then_overtaken(number: str) -> dict | None:
        label = real_get(number)
        reads.append(number)
        if len(reads) == 1:  # another event writes the label right after this read
            store.registry().update_item(
                Key=service.key(number),
                UpdateExpression="SET version = version + :one",
                ExpressionAttributeValues={":one": 1},
            )
        return label

    monkeypatch.setattr(service, "get", read_then_overtaken)
    changed = service.reevaluate(label_no, "test")
    assert changed is not None and changed["status"] == "suspended"
    assert len(reads) == 2  # read again once


def test_verification_gives_every_field_of_the_label_view_flat() -> None:
    """POST /v1/labels/verify repeats the label's fields beside signature_valid by hand: a
    field added to the label view must be added there too."""
    from functions.api.labels import LabelView, Verification

    flat = set(Verification.model_fields) - {"signature_valid", "error", "label"}
    assert flat == set(LabelView.model_fields) - {"token", "at"}


def test_verify_tells_a_token_not_issued_from_a_label_that_does_not_exist(
    registry: Registry, registered_voice
) -> None:
    """Signed by the registry's key but not the token issued under its number: that label's
    number exists, so the answer says the token is not the issued one, not "unknown"."""
    from shared.formats import jws
    from shared.labels import signing

    api = registry.api
    _, label_no = fair_trade(registry, registered_voice)
    label = api.get(f"/v1/labels/{label_no}").json
    claims = jws.verify(label["token"], api.get("/.well-known/jwks.json").json)
    for number, error in (
        (label["label_no"], "not_the_issued_token"),
        ("L-0000-0000-0", "unknown_label"),
    ):
        other = signing.sign({**claims, "label_no": number, "uses": ["*"]})["token"]
        answer = api.post("/v1/labels/verify", {"token": other}).json
        assert answer["signature_valid"] is True and answer["error"] == error
