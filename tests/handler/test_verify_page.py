"""The verify page as a shopper meets it, the lookup page, HEAD, badges for every state, CORS on
public reads, and the CAWG assertion a label's audio carries — through the Chalice test client."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import pytest

from shared import ids
from tests.scenario import CONTRACT_INTENT, Actor, Registry, fair_trade


def make_label(registry: Registry, registered_voice) -> tuple[str, Actor, str]:
    """A valid label of an AI trained on one voice of one performer (one contract)."""
    trade, label_no = fair_trade(registry, registered_voice, display_name="声優 確認")
    return label_no, trade.performer, trade.voice_no


@pytest.fixture
def label(registry: Registry, registered_voice) -> tuple[str, Actor, str]:
    return make_label(registry, registered_voice)


def mistyped(label_no: str) -> str:
    """The same number with a wrong check character (what a typo in the last place gives)."""
    wrong = next(c for c in ids.CHECK_SYMBOLS if c != label_no[-1] and c.isalnum())
    return label_no[:-1] + wrong


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_valid_label_page_lookup_head_badges_cors_and_cawg(registry: Registry, label) -> None:
    """One label serves every read-only check (each label costs seconds to set up)."""
    valid_page_says_what_the_label_certifies_who_signed_it_and_the_uses(registry, label)
    unknown_mistyped_and_malformed_numbers_are_told_apart(registry, label)
    lookup_page_has_a_box_and_sends_a_typed_number_to_its_page(registry, label)
    head_answers_like_get_without_a_body(registry, label)
    public_reads_are_readable_cross_origin_and_private_ones_are_not(registry, label)
    cawg_assertion_follows_the_performers_intents(registry, label)
    every_state_has_a_badge_and_unknown_is_an_image_not_an_error(registry, label)  # revokes


def valid_page_says_what_the_label_certifies_who_signed_it_and_the_uses(
    registry: Registry, label
) -> None:
    api = registry.api
    label_no, _, voice_no = label
    reply = api.get(f"/verify/{label_no}")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/html")
    html = reply.body.decode()
    assert '<html lang="ja">' in html and "<script" not in html
    words = text_of(html)
    assert "有効" in words and "Valid" in words
    assert "実演家本人の意思表示" in words  # the one-sentence statement
    assert 'href="/criteria"' in html
    kid = api.get("/.well-known/jwks.json").json["keys"][0]["kid"]
    assert f'<code id="kid">{kid}</code>' in html
    assert "確認済み" in words and "AILAS — 127.0.0.1:8000" in words
    # readable use names, not codes alone
    assert "音声合成" in words and "追加学習" in words and "商用利用を含む" in words
    assert voice_no in words
    # the embed snippet: badge + link, escaped for display
    assert f"/v1/labels/{label_no}/badge.svg" in html
    assert "&lt;a href=" in html and f"/verify/{label_no}&quot;&gt;" in html
    english = api.get(f"/verify/{label_no}?lang=en").body.decode()
    assert '<html lang="en">' in english
    assert "Speech synthesis (TTS) in this voice" in english and "Checked: the signature" in english
    assert 'href="/criteria?lang=en"' in english


def test_suspended_and_revoked_pages_say_since_when_why_and_what_to_do(
    registry: Registry, label, deliver_events
) -> None:
    api = registry.api
    label_no, performer, voice_no = label
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {**CONTRACT_INTENT, "uses": {**CONTRACT_INTENT["uses"], "tts": "deny"}},
        token=performer.token,
    )
    deliver_events()
    transitions = api.get(f"/v1/labels/{label_no}").json
    assert transitions["status"] == "suspended"
    html = api.get(f"/verify/{label_no}").body.decode()
    words = text_of(html)
    assert "一時停止" in words and "この状態になった日時" in words
    assert re.search(
        r'id="since">この状態になった日時: <strong>\d{4}-\d\d-\d\d \d\d:\d\d JST', html
    )
    # which consent: the use by name, the voice and a link to the performer's public intent
    reasons = re.search(r'<section class="card reasons".*?</section>', html, re.S).group(0)
    assert "音声合成" in reasons and voice_no in reasons
    assert f"/v1/performers/{performer.member_id}/intent" in reasons
    assert "事業者ができること" in words and "利用者ができること" in words
    english = text_of(api.get(f"/verify/{label_no}?lang=en").body.decode())
    assert "Suspended" in english and "returns to valid by itself" in english
    assert "The performer's intent does not allow this use." in english

    api.post(f"/v1/labels/{label_no}/revoke", {"reason": "虚偽申告"}, token=registry.operator)
    revoked_html = api.get(f"/verify/{label_no}").body.decode()
    assert 'id="embed"' not in revoked_html  # a revoked label is not to be displayed
    assert 'id="embed"' in html  # the suspended one still shows its live badge
    revoked = text_of(revoked_html)
    assert "取消" in revoked and "虚偽申告" in revoked and "取消は最終的" in revoked


def unknown_mistyped_and_malformed_numbers_are_told_apart(registry: Registry, label) -> None:
    api = registry.api
    label_no, _, _ = label
    unknown = api.get("/verify/L-0000-0000-0")
    assert unknown.status == 404 and "該当なし" in unknown.body.decode()
    typo = api.get(f"/verify/{mistyped(label_no)}")
    assert typo.status == 400 and "番号の誤り" in typo.body.decode()
    assert 'name="label_no"' in typo.body.decode()  # a box to type it again
    junk = api.get("/verify/hello")
    assert junk.status == 400 and "L-XXXX-XXXX-X" in junk.body.decode()
    # the JSON API tells them apart too
    assert api.get(f"/v1/labels/{mistyped(label_no)}").json["code"] == "label_no_mistyped"
    assert api.get("/v1/labels/hello").json["code"] == "label_no_malformed"
    assert api.get("/v1/labels/L-0000-0000-0").json["code"] == "label_not_found"


def lookup_page_has_a_box_and_sends_a_typed_number_to_its_page(registry: Registry, label) -> None:
    api = registry.api
    label_no, _, _ = label
    page = api.get("/verify")
    html = page.body.decode()
    assert page.status == 200 and '<input type="text" id="label_no" name="label_no"' in html
    assert 'enctype="multipart/form-data"' in html  # and a file check
    typed = label_no.lower().replace("-", " ")
    found = api.get(f"/verify?label_no={typed.replace(' ', '+')}")
    assert found.status == 303 and found.headers["location"] == f"/verify/{label_no}"
    english = api.get(f"/verify?label_no={label_no}&lang=en")
    assert english.headers["location"] == f"/verify/{label_no}?lang=en"
    assert api.get(f"/verify?label_no={mistyped(label_no)}").status == 400
    # pasted from a PDF or a chat (a zero-width space), or typed in full width: the same label
    pasted = api.get(f"/verify?label_no={label_no}%E2%80%8B")
    assert pasted.status == 303 and pasted.headers["location"] == f"/verify/{label_no}"
    wide = "".join(chr(ord(c) + 0xFEE0) for c in label_no)  # Ｌ－… (check symbols too)
    assert api.get(f"/verify?label_no={quote(wide)}").headers["location"] == f"/verify/{label_no}"
    # refused before the page's handler: a page in the page's language, never JSON
    for lang, says in (("", "入力が長すぎます"), ("&lang=en", "What was typed is too long")):
        too_long = api.get("/verify?label_no=" + "L" * 3000 + lang)
        assert too_long.status == 400 and too_long.headers["content-type"].startswith("text/html")
        assert says in too_long.body.decode() and '<input type="text" id="label_no"' in (
            too_long.body.decode()
        )
    criteria = api.get("/criteria").body.decode()
    assert "要契約" in criteria and "取消" in criteria
    assert "revoked" in api.get("/criteria?lang=en").body.decode()


def head_answers_like_get_without_a_body(registry: Registry, label) -> None:
    api = registry.api
    label_no, _, _ = label
    for path in (f"/verify/{label_no}", f"/v1/labels/{label_no}/badge.svg"):
        got, head = api.get(path), api.request("HEAD", path)
        assert head.status == got.status == 200, path
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.body == b""
    assert api.request("HEAD", "/verify/L-0000-0000-0").status == 404


def every_state_has_a_badge_and_unknown_is_an_image_not_an_error(registry: Registry, label) -> None:
    api = registry.api
    label_no, _, _ = label
    valid = api.get(f"/v1/labels/{label_no}/badge.svg")
    assert valid.status == 200 and b'data-status="valid"' in valid.body
    for number in ("L-0000-0000-0", mistyped(label_no), "not-a-label"):
        reply = api.get(f"/v1/labels/{number}/badge.svg")
        assert reply.status == 200 and reply.headers["content-type"].startswith("image/svg+xml")
        assert b"Unknown" in reply.body and b"<svg" in reply.body
    api.post(f"/v1/labels/{label_no}/revoke", {"reason": "x"}, token=registry.operator)
    revoked = api.get(f"/v1/labels/{label_no}/badge.svg").body
    assert b'data-status="revoked"' in revoked and "取消".encode() in revoked


def public_reads_are_readable_cross_origin_and_private_ones_are_not(
    registry: Registry, label
) -> None:
    api = registry.api
    label_no, performer, _ = label
    token = api.get(f"/v1/labels/{label_no}").json["token"]
    public = [
        api.get(f"/v1/labels/{label_no}"),
        api.post("/v1/labels/verify", {"token": token}),
        api.get("/.well-known/jwks.json"),
        api.get("/v1/intents"),
        api.get(f"/v1/performers/{performer.member_id}/intent"),
        api.get("/v1/log"),
        api.get("/v1/ai-systems"),
        api.get(f"/v1/labels/{label_no}/badge.svg"),
    ]
    for reply in public:
        assert reply.headers.get("access-control-allow-origin") == "*", reply
        assert "access-control-allow-credentials" not in reply.headers
    private = api.get("/v1/members", token=registry.operator)
    assert private.status == 200 and "access-control-allow-origin" not in private.headers
    apply = api.post("/v1/members", registry.application("performer"))
    assert apply.status == 201 and "access-control-allow-origin" not in apply.headers


def cawg_assertion_follows_the_performers_intents(registry: Registry, label) -> None:
    api = registry.api
    label_no, _, _ = label
    assertion = api.get(f"/v1/labels/{label_no}/cawg").json
    assert assertion["label"] == "cawg.training-mining"
    entries = assertion["data"]["entries"]
    # CONTRACT_INTENT: training deny, fine_tuning/tts contract, research (left out) contract
    assert entries["cawg.ai_training"]["use"] == "notAllowed"
    assert entries["cawg.ai_inference"]["use"] == "constrained"
    assert "tts" in entries["cawg.ai_inference"]["constraints_info"]
    assert entries["cawg.data_mining"]["use"] == "constrained"


def test_expired_page_dates_the_expiry_and_advises_renewal(registry: Registry, label) -> None:
    from shared import store

    label_no, _, _ = label
    past = "2026-01-02T03:04:05.000000Z"
    store.registry().update_item(
        Key={"pk": f"LABEL#{label_no}", "sk": "LABEL"},
        UpdateExpression="SET expires_at = :p",
        ExpressionAttributeValues={":p": past},
    )
    html = registry.api.get(f"/verify/{label_no}").body.decode()
    assert 'data-status="expired"' in html and "期限切れ" in html
    assert "この状態になった日時: <strong>2026-01-02 12:04 JST" in html  # 03:04 UTC in JST
    assert "新しいラベルを申請" in html
    badge = registry.api.get(f"/v1/labels/{label_no}/badge.svg").body
    assert b'data-status="expired"' in badge
