"""Membership over the API: apply, decide, tokens, suspension, bad input."""

from __future__ import annotations

import pytest

from shared import audit
from tests.scenario import Registry


def test_application_is_normalised_and_private_until_approved(registry: Registry) -> None:
    api = registry.api
    member_id = registry.apply(
        "performer", display_name="ＹＡＭＡ　ｻﾝ", name_kana="ﾔﾏﾀﾞ ﾀﾛｳ", email="Yama@Example.JP"
    )
    assert api.get(f"/v1/members/{member_id}").status == 404
    full = api.get(f"/v1/members/{member_id}", token=registry.operator).json
    assert full["status"] == "pending"
    assert full["display_name"] == "YAMA サン"
    assert full["name_kana"] == "ヤマダ タロウ"
    assert full["email"] == "yama@example.jp"


def test_approval_returns_a_token_once_and_publishes_the_performer(registry: Registry) -> None:
    api = registry.api
    performer = registry.member("performer")
    me = api.get(f"/v1/members/{performer.member_id}", token=performer.token)
    assert me.status == 200 and me.json["email"].endswith("@example.jp")
    public = api.get(f"/v1/members/{performer.member_id}").json
    assert public["status"] == "active"
    assert "email" not in public and "name" not in public
    # the token is stored only as a hash
    from shared import store

    items = store.registry().scan()["Items"]
    assert not any(performer.token in str(item) for item in items)
    log = api.get("/v1/log").json["entries"]
    assert [e["summary"]["member_id"] for e in log] == [performer.member_id]
    # a second approval of the same application loses
    again = api.post(f"/v1/members/{performer.member_id}/approve", token=registry.operator)
    assert again.status == 409 and again.json["code"] == "already_decided"


def test_rights_holders_are_not_in_the_public_log(registry: Registry) -> None:
    registry.member("rights_holder")
    assert registry.api.get("/v1/log").json["entries"] == []


def test_rejection_needs_a_reason_and_is_final(registry: Registry) -> None:
    api = registry.api
    member_id = registry.apply("business")
    assert api.post(f"/v1/members/{member_id}/reject", {}, token=registry.operator).status == 422
    for blank in ("   ", "\u3000", "\u200b"):  # nothing a member could read as a reason
        refused = api.post(
            f"/v1/members/{member_id}/reject", {"reason": blank}, token=registry.operator
        )
        assert refused.status == 422, blank
    rejected = api.post(
        f"/v1/members/{member_id}/reject", {"reason": "書類不備"}, token=registry.operator
    )
    assert rejected.status == 200 and rejected.json["status"] == "rejected"
    assert rejected.json["decision_reason"] == "書類不備"
    assert api.post(f"/v1/members/{member_id}/approve", token=registry.operator).status == 409


def test_suspension_stops_tokens_at_once_and_reinstatement_restores(registry: Registry) -> None:
    api = registry.api
    business = registry.member("business")
    path = f"/v1/members/{business.member_id}"
    assert api.get(path, token=business.token).status == 200
    assert (
        api.post(f"{path}/suspend", {"reason": "規約違反の疑い"}, token=registry.operator).status
        == 200
    )
    assert api.get(path, token=business.token).status == 401
    assert (
        api.post(f"{path}/reinstate", {"reason": "確認済み"}, token=registry.operator).status == 200
    )
    assert api.get(path, token=business.token).json["email"]


def test_token_rotation_invalidates_the_old_token(registry: Registry) -> None:
    api = registry.api
    holder = registry.member("rights_holder")
    rotated = api.post(f"/v1/members/{holder.member_id}/tokens", token=holder.token)
    assert rotated.status == 201
    new_token = rotated.json["token"]
    assert new_token != holder.token
    assert api.get(f"/v1/members/{holder.member_id}", token=holder.token).status == 401
    assert api.get(f"/v1/members/{holder.member_id}", token=new_token).status == 200


@pytest.fixture
def sent_mail(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    from shared import mail

    sent: list[dict[str, str]] = []
    monkeypatch.setattr(mail, "send", lambda to, subject, text: sent.append(
        {"to": to, "subject": subject, "text": text}
    ))  # fmt: skip
    return sent


def test_second_active_member_with_the_same_email_is_a_conflict(
    registry: Registry, sent_mail: list, deliver_events
) -> None:
    """An application with an active member's address is answered as any other (the answer
    must not tell who is a member); its approval is refused, and the address's owner is told."""
    api = registry.api
    registry.member("performer", email="same@example.jp")
    reply = api.post("/v1/members", registry.application("business", email="SAME@example.jp"))
    fresh = api.post("/v1/members", registry.application("business", email="new@example.jp"))
    assert reply.status == fresh.status == 201
    assert set(reply.json) == set(fresh.json) and reply.json["status"] == "pending"
    taken = reply.json["member_id"]
    assert api.get(f"/v1/members/{taken}", token=registry.operator).json["email_in_use"] is True
    assert not [m for m in sent_mail if "入会申請" in m["subject"]]  # not in the request
    deliver_events()
    deliver_events()  # delivered again: still one notice
    assert [m["to"] for m in sent_mail if "入会申請" in m["subject"]] == ["same@example.jp"]
    refused = api.post(f"/v1/members/{taken}/approve", token=registry.operator)
    assert refused.status == 409 and refused.json["code"] == "email_taken"
    # two pending applications with one address: only the first approval wins
    first = registry.apply("business", email="twice@example.jp")
    second = registry.apply("performer", email="twice@example.jp")
    assert api.post(f"/v1/members/{first}/approve", token=registry.operator).status == 200
    reply = api.post(f"/v1/members/{second}/approve", token=registry.operator)
    assert reply.status == 409 and reply.json["code"] == "email_taken"
    assert api.get(f"/v1/members/{second}", token=registry.operator).json["status"] == "pending"


def test_mistyped_member_id_is_caught_by_its_check_character(registry: Registry) -> None:
    performer = registry.member("performer")
    good = performer.member_id
    typo = good[:-3] + ("0" if good[-3] != "0" else "1") + good[-2:]
    assert registry.api.get(f"/v1/members/{good.lower()}").status == 200
    assert registry.api.get(f"/v1/members/{typo}").status == 404


BAD_APPLICATIONS = [
    ("wrong type", {"kind": 1}, 422),
    ("unknown kind", {"kind": "operator"}, 422),
    ("unknown field", {"is_admin": True}, 422),
    ("control character", {"name": "山田\x00太郎"}, 422),
    ("bidi override", {"display_name": "abc\u202edef"}, 422),
    ("emoji", {"display_name": "やまだ🎤"}, 422),
    ("kanji in kana", {"name_kana": "山田"}, 422),
    ("latin in kana", {"name_kana": "Yamada"}, 422),
    ("bad email", {"email": "not-an-email"}, 422),
    ("long string", {"organization": "x" * 100_000}, 422),
    ("huge body", {"organization": "x" * 1_000_000}, 413),
    ("empty after normalising", {"display_name": "\u3000 "}, 422),
]


@pytest.mark.parametrize(
    ("case", "change", "status"), BAD_APPLICATIONS, ids=[c[0] for c in BAD_APPLICATIONS]
)
def test_bad_applications_are_refused_and_nothing_is_stored(
    registry: Registry, case: str, change: dict, status: int
) -> None:
    before = audit.latest(audit.AUDIT)
    reply = registry.api.post("/v1/members", registry.application("performer") | change)
    assert reply.status == status, reply
    assert reply.json["code"]
    assert audit.latest(audit.AUDIT) == before
    listed = registry.api.get("/v1/members", token=registry.operator).json["members"]
    assert [m for m in listed if m["kind"] != "operator"] == []


def test_mixed_width_japanese_is_accepted_and_normalised(registry: Registry) -> None:
    member_id = registry.apply("performer", name="ﾔﾏﾀﾞ　太郎", display_name="ＡＩ声優　ﾐｸ")
    full = registry.api.get(f"/v1/members/{member_id}", token=registry.operator).json
    assert full["name"] == "ヤマダ 太郎"
    assert full["display_name"] == "AI声優 ミク"


def test_listing_filters_by_status_and_paginates(registry: Registry) -> None:
    api = registry.api
    ids = [registry.apply("performer") for _ in range(3)]
    registry.api.post(f"/v1/members/{ids[0]}/approve", token=registry.operator)
    pending = api.get("/v1/members?status=pending", token=registry.operator).json["members"]
    assert {m["member_id"] for m in pending} == set(ids[1:])
    assert api.get("/v1/members?status=bogus", token=registry.operator).status == 422
    seen: list[str] = []
    cursor = None
    while True:
        query = "/v1/members?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(query, token=registry.operator).json
        seen += [m["member_id"] for m in page["members"]]
        cursor = page["next"]
        if not cursor:
            break
    assert set(ids) <= set(seen)
    assert api.get("/v1/members?cursor=%%%", token=registry.operator).status == 400


def test_answers_are_not_sniffed_framed_or_cached_when_they_are_a_members(
    registry: Registry,
) -> None:
    """A new token is in the answer: no cache keeps it. Every answer says nosniff and DENY."""
    api = registry.api
    holder = registry.member("rights_holder")
    rotated = api.post(f"/v1/members/{holder.member_id}/tokens", token=holder.token)
    assert rotated.status == 201 and rotated.headers["cache-control"] == "no-store"
    for reply in (rotated, api.get("/v1/health"), api.get("/verify")):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["x-frame-options"] == "DENY"
    assert "no-store" not in api.get("/.well-known/jwks.json").headers.get("cache-control", "")
