"""AI systems, contract attestations and the usage view, through the API."""

from __future__ import annotations

from datetime import date, timedelta

from tests.scenario import Registry, ai_sheet, contract_filing


def test_ai_system_registration_public_and_owner_views(
    registry: Registry, registered_voice
) -> None:
    api = registry.api
    holder = registry.member("rights_holder")
    business = registry.member("business")
    voice_no = registered_voice(holder)
    created = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token)
    assert created.status == 201
    ai_no = created.json["ai_no"]
    assert ai_no.startswith("A-")
    public = api.get(f"/v1/ai-systems/{ai_no}").json
    assert public["name"] == "こえAI" and "training_data" not in public
    assert public["business"]["member_id"] == business.member_id
    owner = api.get(f"/v1/ai-systems/{ai_no}", token=business.token).json
    assert owner["training_data"]["voices"] == [voice_no]
    listed = api.get("/v1/ai-systems").json["ai_systems"]
    assert [a["ai_no"] for a in listed] == [ai_no]
    assert "training_data" not in listed[0]


def test_training_data_voices_must_be_registered(registry: Registry, registered_voice) -> None:
    api = registry.api
    holder = registry.member("rights_holder")
    business = registry.member("business")
    pending = api.post(
        "/v1/voices",
        {
            "title": "未アップロード",
            "performer_names": ["誰か"],
            "rights": {"holder_role": "other"},
            "file": {"filename": "a.wav", "size_bytes": 10, "content_type": "audio/wav"},
        },
        token=holder.token,
    ).json["voice_no"]
    reply = api.post("/v1/ai-systems", ai_sheet([pending]), token=business.token)
    assert reply.status == 422 and reply.json["code"] == "voice_not_registered"
    assert reply.json["details"][0]["voice_no"] == pending
    typo = api.post("/v1/ai-systems", ai_sheet(["V-0000-0000-0"]), token=business.token)
    assert typo.status == 422


def test_sheet_versions_and_usage_markers_follow_updates(
    registry: Registry, registered_voice
) -> None:
    api = registry.api
    holder = registry.member("rights_holder")
    business = registry.member("business")
    first, second = registered_voice(holder), registered_voice(holder)
    ai_no = api.post("/v1/ai-systems", ai_sheet([first]), token=business.token).json["ai_no"]
    updated = api.put(f"/v1/ai-systems/{ai_no}", ai_sheet([second]), token=business.token)
    assert updated.status == 200 and updated.json["version"] == 2
    usage_first = api.get(f"/v1/voices/{first}/usage", token=holder.token).json
    usage_second = api.get(f"/v1/voices/{second}/usage", token=holder.token).json
    assert usage_first["ai_systems"] == []
    assert [a["ai_no"] for a in usage_second["ai_systems"]] == [ai_no]
    other = registry.member("business")
    assert api.put(f"/v1/ai-systems/{ai_no}", ai_sheet([first]), token=other.token).status == 403


def test_contract_needs_every_holder_and_follows_revocation(
    registry: Registry, registered_voice
) -> None:
    api = registry.api
    holder_a = registry.member("rights_holder")
    holder_b = registry.member("rights_holder")
    performer = registry.member("performer")
    business = registry.member("business")
    voice_a = registered_voice(holder_a, [performer.member_id])
    voice_b = registered_voice(holder_b)
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_a, voice_b]), token=business.token).json[
        "ai_no"
    ]
    filed = api.post(
        "/v1/contracts", contract_filing(ai_no, [voice_a, voice_b]), token=business.token
    )
    assert filed.status == 201 and filed.json["status"] == "awaiting_confirmation"
    contract_id = filed.json["contract_id"]
    path = f"/v1/contracts/{contract_id}"
    first = api.post(f"{path}/confirm", token=holder_a.token)
    assert first.status == 200 and first.json["status"] == "awaiting_confirmation"
    assert api.post(f"{path}/confirm", token=holder_a.token).json["code"] == "already_confirmed"
    second = api.post(f"{path}/confirm", token=holder_b.token)
    assert second.json["status"] == "active" and second.json["in_force"]
    # the usage view, for the holder and for the voice's performer
    usage = api.get(f"/v1/voices/{voice_a}/usage", token=performer.token).json
    assert [c["contract_id"] for c in usage["contracts"]] == [contract_id]
    assert usage["contracts"][0]["in_force"] is True
    assert [a["ai_no"] for a in usage["ai_systems"]] == [ai_no]
    business_name = api.get(f"/v1/members/{business.member_id}", token=business.token).json
    assert usage["ai_systems"][0]["business_name"] == business_name["display_name"]
    # either party revokes
    revoked = api.post(f"{path}/revoke", {"reason": "契約解除"}, token=holder_b.token)
    assert revoked.json["status"] == "revoked" and not revoked.json["in_force"]
    usage = api.get(f"/v1/voices/{voice_a}/usage", token=holder_a.token).json
    assert usage["contracts"][0]["status"] == "revoked"
    assert api.post(f"{path}/confirm", token=holder_a.token).status == 409
    events = [
        e["action"]
        for e in api.get(f"/v1/audit?entity=contract:{contract_id}", token=registry.operator).json[
            "entries"
        ]
    ]
    assert events == [
        "contract.filed",
        "contract.confirmed",
        "contract.activated",
        "contract.revoked",
    ]


def test_contract_bad_input(registry: Registry, registered_voice) -> None:
    api = registry.api
    holder = registry.member("rights_holder")
    business = registry.member("business")
    voice_no = registered_voice(holder)
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    past = (date.today() - timedelta(days=1)).isoformat()
    for change, code in [
        ({"ends_on": past}, "validation_error"),
        ({"document_sha256": "xyz"}, "validation_error"),
        ({"uses": ["flying"]}, "validation_error"),
        ({"voice_nos": []}, "validation_error"),
    ]:
        reply = api.post(
            "/v1/contracts", contract_filing(ai_no, [voice_no]) | change, token=business.token
        )
        assert reply.status == 422 and reply.json["code"] == code, change
    other = registry.member("business")
    reply = api.post("/v1/contracts", contract_filing(ai_no, [voice_no]), token=other.token)
    assert reply.status == 403


def test_scheduled_job_ends_contracts_after_their_end_date(
    registry: Registry, registered_voice, app
) -> None:
    from infra.local_worker import LambdaContext, scheduled_event

    api = registry.api
    holder = registry.member("rights_holder")
    business = registry.member("business")
    voice_no = registered_voice(holder)
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    today = date.today().isoformat()
    contract_id = api.post(
        "/v1/contracts",
        contract_filing(ai_no, [voice_no], starts_on=today, ends_on=today),
        token=business.token,
    ).json["contract_id"]
    api.post(f"/v1/contracts/{contract_id}/confirm", token=holder.token)
    handler = app.handler_map["end_contracts"]
    assert handler(scheduled_event(), LambdaContext("end_contracts")) == {
        "ended": [],
        "labels_expired": [],
    }
    from shared.business import contracts

    assert contracts.end_expired(date.today() + timedelta(days=1)) == [contract_id]
    reply = api.get(f"/v1/contracts/{contract_id}", token=business.token).json
    assert reply["status"] == "ended" and not reply["in_force"]


def test_a_contract_is_revoked_with_no_body_and_other_bodies_stay_required(
    registry: Registry, registered_voice
) -> None:
    """API.md's revoke takes no body: an empty request revokes without a reason. A body whose
    fields matter is still required: an operator's label revocation names its reason, and an
    empty PUT never resets a performer's intent to the defaults."""
    api = registry.api
    holder, business = registry.member("rights_holder"), registry.member("business")
    performer = registry.member("performer")
    voice_no = registered_voice(holder, [performer.member_id])
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    filed = api.post("/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token)
    path = f"/v1/contracts/{filed.json['contract_id']}"
    assert api.post(f"{path}/confirm", token=holder.token).json["status"] == "active"
    revoked = api.post(f"{path}/revoke", token=business.token)
    assert revoked.status == 200, revoked
    assert revoked.json["status"] == "revoked" and not revoked.json["in_force"]
    label = api.post("/v1/labels/L-0000-0000-0/revoke", token=registry.operator)
    assert (label.status, label.json["code"]) == (400, "invalid_json")
    intent_path = f"/v1/performers/{performer.member_id}/intent"
    intent = {"uses": {"tts": "contract", "fine_tuning": "deny"}, "commercial": "contract"}
    assert api.put(intent_path, intent, token=performer.token).status == 200
    before = api.get(intent_path, token=performer.token).json
    reset = api.put(intent_path, token=performer.token)
    assert (reset.status, reset.json["code"]) == (400, "invalid_json")
    assert api.get(intent_path, token=performer.token).json == before
