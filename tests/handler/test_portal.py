"""The portal's sign-in and sessions through the Chalice test client, with mail delivered to a
real SMTP server (the local stack's): links work once and expire, sessions are HttpOnly cookies
stored hashed, every form needs its CSRF token, and pages keep to the access table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.http import Api
from tests.scenario import Registry

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def mailbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws) -> Iterator[Path]:
    from infra import local_mail
    from infra.local_stack import free_port
    from shared.settings import reset_settings

    port = free_port()
    server = local_mail.start(tmp_path / "mail", port)
    monkeypatch.setenv("AILAS_SMTP_PORT", str(port))
    reset_settings()
    yield tmp_path / "mail"
    server.stop()
    monkeypatch.delenv("AILAS_SMTP_PORT")
    reset_settings()


def mails_to(mailbox: Path, address: str) -> list[tuple[str, str]]:
    """(subject, text) of every mail to the address, oldest first."""
    found = []
    for path in sorted(mailbox.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=default)
        if message["To"] == address:
            found.append((str(message["Subject"]), message.get_body().get_content()))
    return found


def links(mailbox: Path, address: str) -> list[str]:
    found = []
    for path in sorted(mailbox.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=default)
        if message["To"] == address:
            found += re.findall(r"/signin/[\w-]+", message.get_body().get_content())
    return found


def set_cookie(reply) -> str:
    raw = reply.headers.get("set-cookie", "")
    return "\n".join(raw) if isinstance(raw, list) else raw


def cookies_of(reply) -> dict[str, str]:
    return dict(re.findall(r"(ailas_\w+)=([^;,]*)", set_cookie(reply)))


def form(api: Api, path: str, fields: dict[str, str], cookie: str = "") -> object:
    headers = {**FORM, **({"Cookie": cookie} if cookie else {})}
    return api.request("POST", path, raw=urlencode(fields).encode(), headers=headers)


def sign_in_link_only(api: Api, mailbox: Path, address: str) -> str:
    """Ask for a link and return it unused."""
    page = api.get("/signin")
    csrf = cookies_of(page)["ailas_csrf"]
    form(api, "/signin", {"email": address, "csrf": csrf}, f"ailas_csrf={csrf}")
    return links(mailbox, address)[-1]


def sign_in(api: Api, mailbox: Path, address: str) -> str:
    """Ask for a link, follow it, press the button: the session cookie header."""
    page = api.get("/signin")
    csrf = cookies_of(page)["ailas_csrf"]
    assert f'value="{csrf}"' in page.body.decode()
    form(api, "/signin", {"email": address, "csrf": csrf}, f"ailas_csrf={csrf}")
    link = links(mailbox, address)[-1]
    assert "サインインする" in api.get(link).body.decode()  # GET does not use the link up
    used = form(api, link, {"csrf": csrf}, f"ailas_csrf={csrf}")
    assert used.status == 303 and used.headers["location"] == "/portal"
    session = cookies_of(used)["ailas_session"]
    assert "HttpOnly" in set_cookie(used) and "SameSite=Lax" in set_cookie(used)
    return f"ailas_session={session}"


def test_approval_mails_a_link_that_works_once(
    registry: Registry, mailbox: Path, deliver_events
) -> None:
    from shared import store
    from shared.portal.sessions import _hash

    api = registry.api
    member = registry.member("performer", email="hanako@example.jp")
    deliver_events()
    deliver_events()  # delivered twice: still one welcome mail
    (welcome,) = links(mailbox, "hanako@example.jp")
    secret = welcome.rsplit("/", 1)[1]
    # only the hash is stored
    assert store.registry().get_item(Key={"pk": f"LOGIN#{_hash(secret)}", "sk": "LOGIN"})["Item"]
    assert not store.registry().get_item(Key={"pk": f"LOGIN#{secret}", "sk": "LOGIN"}).get("Item")
    csrf = cookies_of(api.get("/signin"))["ailas_csrf"]
    first = form(api, welcome, {"csrf": csrf}, f"ailas_csrf={csrf}")
    assert first.status == 303
    again = form(api, welcome, {"csrf": csrf}, f"ailas_csrf={csrf}")
    assert again.status == 410 and "ailas_session" not in cookies_of(again)
    session = "ailas_session=" + cookies_of(first)["ailas_session"]
    page = api.get("/portal", headers={"Cookie": session})
    assert page.status == 200 and member.member_id in page.body.decode()


def test_signing_in_lands_on_the_page_asked_for(registry: Registry, mailbox: Path) -> None:
    api = registry.api
    registry.member("performer", email="back@example.jp")
    asked = api.get("/portal/voices?status=registered")
    assert asked.status == 303
    assert asked.headers["location"] == "/signin?next=%2Fportal%2Fvoices%3Fstatus%3Dregistered"
    page = api.get(asked.headers["location"])
    assert 'name="next" value="/portal/voices?status=registered"' in page.body.decode()
    csrf = cookies_of(page)["ailas_csrf"]
    fields = {"email": "back@example.jp", "csrf": csrf, "next": "/portal/voices?status=registered"}
    form(api, "/signin", fields, f"ailas_csrf={csrf}")
    used = form(api, links(mailbox, "back@example.jp")[-1], {"csrf": csrf}, f"ailas_csrf={csrf}")
    assert used.status == 303 and used.headers["location"] == "/portal/voices?status=registered"


@pytest.mark.parametrize(
    "hostile",
    [
        "https://evil.example/portal",
        "//evil.example/portal",
        "/portal//evil.example",
        "/portal/\\evil.example",
        "/portal\r\nSet-Cookie: x=1",
        "/signout",
        "javascript:alert(1)",
        "/portal/" + "a" * 400,
        "/portal/声",  # not a Location header's Latin-1: the used link's answer failed
        "/portal/../signout",
        "/portal/%2e%2e/v1/health",
    ],
)
def test_a_sign_in_lands_only_on_this_sites_portal(
    registry: Registry, mailbox: Path, hostile: str
) -> None:
    api = registry.api
    registry.member("business", email="away@example.jp")
    page = api.get(f"/signin?{urlencode({'next': hostile})}")
    assert 'name="next" value="/portal"' in page.body.decode()
    csrf = cookies_of(page)["ailas_csrf"]
    fields = {"email": "away@example.jp", "csrf": csrf, "next": hostile}
    form(api, "/signin", fields, f"ailas_csrf={csrf}")
    used = form(api, links(mailbox, "away@example.jp")[-1], {"csrf": csrf}, f"ailas_csrf={csrf}")
    assert used.status == 303 and used.headers["location"] == "/portal"


def test_a_form_sent_signed_out_goes_to_sign_in_without_coming_back(registry: Registry) -> None:
    reply = form(registry.api, "/portal/intent", {"csrf": "x", "tts": "deny"})
    assert reply.status == 303 and reply.headers["location"] == "/signin?expired=1"
    page = registry.api.get("/signin?expired=1").body.decode()
    assert 'role="alert"' in page and "保存されていません" in page


def test_a_page_with_a_number_asks_sign_in_to_come_back_to_that_number(registry: Registry) -> None:
    reply = registry.api.get("/portal/voices/V-ABCD-EFGH-J")
    assert reply.status == 303
    assert reply.headers["location"] == "/signin?next=%2Fportal%2Fvoices%2FV-ABCD-EFGH-J"


def test_decisions_are_mailed_with_their_reason_once(
    registry: Registry, mailbox: Path, deliver_events
) -> None:
    api, operator = registry.api, registry.operator
    refused = registry.apply("performer", email="refused@example.jp")
    reply = api.post(
        f"/v1/members/{refused}/reject", {"reason": "本人確認書類が不鮮明"}, token=operator
    )
    assert reply.status == 200
    paused = registry.member("business", email="paused2@example.jp")
    deliver_events()
    path = f"/v1/members/{paused.member_id}"
    assert api.post(f"{path}/suspend", {"reason": "規約違反の確認中"}, token=operator).status == 200
    deliver_events()
    assert api.post(f"{path}/reinstate", {"reason": "確認済み"}, token=operator).status == 200
    deliver_events()
    deliver_events()  # delivered again: still one mail each
    ((subject, text),) = mails_to(mailbox, "refused@example.jp")
    assert "承認されませんでした" in subject and "理由: 本人確認書類が不鮮明" in text
    assert "/signin/" not in text
    welcome, suspended, reinstated = mails_to(mailbox, "paused2@example.jp")
    assert "入会承認" in welcome[0]
    assert "停止" in suspended[0] and "理由: 規約違反の確認中" in suspended[1]
    assert "あなたのAIシステムのラベルは停止されます。" in suspended[1]  # said per kind: a business
    assert "回復" in reinstated[0] and "理由: 確認済み" in reinstated[1]
    assert "/signin\n" in reinstated[1]


def test_an_expired_link_does_not_sign_in(registry: Registry, mailbox: Path) -> None:
    from shared import store
    from shared.portal import sessions

    member = registry.member("business")
    secret = sessions.new_link(member.member_id, 60)
    key = {"pk": f"LOGIN#{sessions._hash(secret)}", "sk": "LOGIN"}
    store.registry().update_item(
        Key=key,
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": "2000-01-01T00:00:00Z"},
    )
    assert sessions.redeem(secret) is None


def test_the_signin_page_does_not_tell_who_is_a_member(registry: Registry, mailbox: Path) -> None:
    api = registry.api
    registry.member("performer", email="known@example.jp")
    csrf = cookies_of(api.get("/signin"))["ailas_csrf"]
    known = form(api, "/signin", {"email": "known@example.jp", "csrf": csrf}, f"ailas_csrf={csrf}")
    unknown = form(
        api, "/signin", {"email": "nobody@example.jp", "csrf": csrf}, f"ailas_csrf={csrf}"
    )
    assert known.status == unknown.status == 200
    assert known.body == unknown.body
    assert links(mailbox, "nobody@example.jp") == []
    assert len(links(mailbox, "known@example.jp")) == 1


def test_forms_need_their_csrf_token(registry: Registry, mailbox: Path) -> None:
    from shared.intents import service as intents

    api = registry.api
    performer = registry.member("performer", email="p@example.jp")
    session = sign_in(api, mailbox, "p@example.jp")
    forged = form(api, "/portal/intent", {"use_tts": "allow"}, session)
    assert forged.status == 403
    assert intents.current(performer.member_id) is None
    page = api.get("/portal/intent", headers={"Cookie": session}).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    saved = form(
        api, "/portal/intent", {**all_uses("contract"), "use_tts": "deny", "csrf": csrf}, session
    )
    assert saved.status == 303 and saved.headers["location"] == "/portal/intent?saved=1"
    assert intents.current(performer.member_id)["uses"]["tts"] == "deny"
    # anonymous forms: the double-submit cookie must match the field
    refused = form(api, "/apply", {"kind": "performer", "csrf": "x" * 32}, "ailas_csrf=" + "y" * 32)
    assert refused.status == 403


def all_uses(decision: str) -> dict[str, str]:
    from shared.formats.uses import USE_CODES

    return {f"use_{code}": decision for code in USE_CODES} | {"commercial": decision}


def test_the_intent_form_keeps_what_was_typed_and_says_what_is_wrong_in_japanese(
    registry: Registry, mailbox: Path
) -> None:
    """A mistake keeps every choice and the note on the form, with Japanese messages by field
    name; a save answers with a page to GET, so a reload saves no second version; a form
    missing a use is refused, not saved with defaults; "Back" on an error page is a link that
    works under the portal's CSP (it was `javascript:history.back()`, which the CSP blocks)."""
    from shared.clock import japan_time
    from shared.intents import service as intents

    api = registry.api
    performer = registry.member("performer", email="typed@example.jp")
    session = sign_in(api, mailbox, "typed@example.jp")
    page = api.get("/portal/intent", headers={"Cookie": session}).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    typed = {**all_uses("deny"), "use_research": "allow", "csrf": csrf}
    typed |= {"note": "朗読のみ可", "valid_until": "2001-01-01"}
    wrong = form(api, "/portal/intent", typed, session)
    html = wrong.body.decode()
    assert wrong.status == 422 and intents.current(performer.member_id) is None
    assert "有効期限:" in html and "valid_until:" not in html
    assert 'id="use_research_allow" aria-label' in html
    assert re.search(r'id="use_research_allow"[^>]*checked', html)
    assert re.search(r'id="use_tts_deny"[^>]*checked', html)
    assert ">朗読のみ可</textarea>" in html and 'value="2001-01-01"' in html
    partial = form(api, "/portal/intent", {"use_tts": "allow", "csrf": csrf}, session)
    assert partial.status == 422 and "選んでください" in partial.body.decode()
    assert intents.current(performer.member_id) is None  # nothing saved with defaults
    saved = form(api, "/portal/intent", typed | {"valid_until": ""}, session)
    assert saved.status == 303
    shown = api.get(saved.headers["location"], headers={"Cookie": session}).body.decode()
    assert "第1版を登録しました" in shown and "ラベルに反映されます" in shown
    # the history is dated in Japan's time, and says who wrote it in words
    (saved_at,) = [v["effective_at"] for v in intents.history(performer.member_id)]
    assert f"<td>{japan_time(saved_at)}</td>" in shown and japan_time(saved_at).endswith(" JST")
    assert "<td>実演家</td>" in shown and "<td>performer</td>" not in shown
    assert len(intents.history(performer.member_id)) == 1
    long_note = form(
        api, "/portal/intent", typed | {"note": "x" * 5000, "valid_until": ""}, session
    )
    assert "文字以内で入力してください" in long_note.body.decode()
    refused = api.request(
        "POST",
        "/portal/intent",
        raw=urlencode({"csrf": "stale"}).encode(),
        headers={**FORM, "Cookie": session, "Referer": "http://127.0.0.1:8000/portal/intent"},
    ).body.decode()
    assert 'href="/portal/intent" id="back"' in refused and "javascript:" not in refused


def test_applying_in_japanese_says_what_is_missing_in_japanese(registry: Registry) -> None:
    api = registry.api
    page = api.get("/apply")
    csrf = cookies_of(page)["ailas_csrf"]
    reply = form(api, "/apply", {"csrf": csrf, "kind": "", "terms": ""}, f"ailas_csrf={csrf}")
    html = reply.body.decode()
    assert (
        reply.status == 422 and "入力してください。" in html and "選択肢から選んでください" in html
    )
    assert "String should" not in html and "Input should" not in html
    assert "利用規約に同意してください。" in html  # not the pattern's 「形式が正しくありません」
    assert "メールアドレスの形式" not in html  # an empty address is missing, not malformed
    assert "<title>入会申請 | AILAS 公正取引音声登録</title>" in html
    bad = form(api, "/apply", {"csrf": csrf, "email": "not-an-address"}, f"ailas_csrf={csrf}")
    assert "メールアドレスの形式が正しくありません。" in bad.body.decode()
    english = form(api, "/apply?lang=en", {"csrf": csrf, "kind": ""}, f"ailas_csrf={csrf}")
    assert "String should have at least 1 character" in english.body.decode()


def test_signing_out_ends_the_session(registry: Registry, mailbox: Path) -> None:
    api = registry.api
    registry.member("rights_holder", email="h@example.jp")
    session = sign_in(api, mailbox, "h@example.jp")
    page = api.get("/portal", headers={"Cookie": session}).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert form(api, "/signout", {"csrf": csrf}, session).status == 303
    after = api.get("/portal", headers={"Cookie": session})
    assert after.status == 303 and after.headers["location"].startswith("/signin")


def test_pages_keep_to_the_access_table(registry: Registry, mailbox: Path) -> None:
    api = registry.api
    registry.member("performer", email="perf@example.jp")
    session = sign_in(api, mailbox, "perf@example.jp")
    assert api.get("/portal/operator", headers={"Cookie": session}).status == 403
    assert api.get("/portal/ai-systems/new", headers={"Cookie": session}).status == 403
    assert api.get("/portal/intent", headers={"Cookie": session}).status == 200
    assert api.get("/portal/intent").status == 303  # no session: to the sign-in page
    suspended = registry.member("business", email="biz@example.jp")
    biz = sign_in(api, mailbox, "biz@example.jp")
    api.post(f"/v1/members/{suspended.member_id}/suspend", {"reason": "x"}, token=registry.operator)
    assert api.get("/portal", headers={"Cookie": biz}).status == 303  # suspension ends it


def test_a_member_creates_and_revokes_their_own_api_token(
    registry: Registry, mailbox: Path
) -> None:
    api = registry.api
    business = registry.member("business", email="b@example.jp")
    session = sign_in(api, mailbox, "b@example.jp")
    page = api.get("/portal/tokens", headers={"Cookie": session}).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    shown_with = re.search(r'name="token_prefix" value="([^"]*)"', page).group(1)
    new = {"csrf": csrf, "action": "new", "token_prefix": shown_with}
    made = form(api, "/portal/tokens", new, session).body.decode()
    token = re.search(r'<code id="token">([^<]+)</code>', made).group(1)
    assert api.get("/v1/contracts", token=token).status == 200
    assert api.get("/v1/contracts", token=business.token).status == 401  # the old one stopped
    # reloading the answer posts the same form again: the token just copied keeps working
    again = form(api, "/portal/tokens", new, session).body.decode()
    assert '<code id="token">' not in again and "古い画面" in again
    assert api.get("/v1/contracts", token=token).status == 200
    now = re.search(r'name="token_prefix" value="([^"]*)"', made).group(1)
    revoke = {"csrf": csrf, "action": "revoke", "token_prefix": now}
    form(api, "/portal/tokens", revoke, session)
    assert api.get("/v1/contracts", token=token).status == 401


def test_members_never_see_each_others_records_in_the_portal(
    registry: Registry, mailbox: Path, registered_voice
) -> None:
    from tests.scenario import ai_sheet

    api = registry.api
    holder = registry.member("rights_holder")
    owner = registry.member("business")
    voice_no = registered_voice(holder)
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=owner.token).json["ai_no"]
    registry.member("rights_holder", email="other-holder@example.jp")
    registry.member("business", email="other-business@example.jp")
    intruder_holder = sign_in(api, mailbox, "other-holder@example.jp")
    intruder_business = sign_in(api, mailbox, "other-business@example.jp")
    for cookie, path in (
        (intruder_holder, f"/portal/voices/{voice_no}"),
        (intruder_holder, f"/portal/voices/{voice_no}/status"),
        (intruder_business, f"/portal/ai-systems/{ai_no}"),
    ):
        reply = api.get(path, headers={"Cookie": cookie})
        assert reply.status == 404, (path, reply)
        assert "RIGHTS-SHEET-PRIVATE" not in reply.body.decode()
    page = api.get("/portal/ai-systems", headers={"Cookie": intruder_business}).body.decode()
    assert ai_no not in page


def test_the_operator_page_shows_the_queue_the_backlog_and_the_audit_status(
    registry: Registry, mailbox: Path
) -> None:
    api = registry.api
    pending = registry.apply("performer", display_name="申請中 花子")
    session = sign_in(api, mailbox, "op@example.org")  # the registry fixture's operator
    page = api.get("/portal/operator", headers={"Cookie": session})
    assert page.status == 200
    text = page.body.decode()
    assert pending in text and "申請中 花子" in text
    assert "監査ログ" in text and "保留中のイベント" in text


def test_a_problem_for_every_use_says_so_on_the_ai_system_page(
    registry: Registry, mailbox: Path
) -> None:
    """A fairness problem that is not about one use (no registered voice in the training data)
    reads "every use", not the rule's internal "*"."""
    from tests.scenario import ai_sheet

    api = registry.api
    owner = registry.member("business", email="owner-business@example.jp")
    ai_no = api.post("/v1/ai-systems", ai_sheet([]), token=owner.token).json["ai_no"]
    session = sign_in(api, mailbox, "owner-business@example.jp")
    page = api.get(f"/portal/ai-systems/{ai_no}", headers={"Cookie": session}).body.decode()
    problems = re.search(r'<ul id="problems">(.*?)</ul>', page, re.S)
    assert problems and "no_registered_voices" in problems.group(1), page
    assert " · * · " not in problems.group(1)
    assert "すべての利用" in problems.group(1) or "every use" in problems.group(1)


def test_suspension_ends_sessions_for_good_and_refuses_sign_in_meanwhile(
    registry: Registry, mailbox: Path
) -> None:
    """A session begun before a suspension does not come back with reinstatement, and a link
    used while suspended signs no one in; after reinstatement a new sign-in works."""
    api = registry.api
    member = registry.member("business", email="paused@example.jp")
    before = sign_in(api, mailbox, "paused@example.jp")
    page = api.get("/signin")  # a link asked for before the suspension, used during it
    csrf = cookies_of(page)["ailas_csrf"]
    form(api, "/signin", {"email": "paused@example.jp", "csrf": csrf}, f"ailas_csrf={csrf}")
    early_link = links(mailbox, "paused@example.jp")[-1]
    spare_link = sign_in_link_only(api, mailbox, "paused@example.jp")  # kept, unused, till after
    assert spare_link != early_link
    operator, path = registry.operator, f"/v1/members/{member.member_id}"
    assert api.post(f"{path}/suspend", {"reason": "確認中"}, token=operator).status == 200
    used = form(api, early_link, {"csrf": csrf}, f"ailas_csrf={csrf}")
    assert used.status == 410 and "ailas_session" not in cookies_of(used)
    assert api.post(f"{path}/reinstate", {"reason": "確認済み"}, token=operator).status == 200
    # a link mailed before (or during) the suspension stays dead after the reinstatement
    used = form(api, spare_link, {"csrf": csrf}, f"ailas_csrf={csrf}")
    assert used.status == 410 and "ailas_session" not in cookies_of(used)
    assert api.get("/portal", headers={"Cookie": before}).status == 303  # ended, not paused
    after = sign_in(api, mailbox, "paused@example.jp")
    assert api.get("/portal", headers={"Cookie": after}).status == 200


def test_a_refused_contract_filing_keeps_the_form_as_typed(
    registry: Registry, mailbox: Path, registered_voice
) -> None:
    """A contract filed from the AI system's page with a mistake (it ends before it starts)
    went to a separate error page and the form was lost; it now comes back on the page, as
    typed, with what is wrong said in Japanese by field."""
    from tests.scenario import ai_sheet

    api = registry.api
    holder = registry.member("rights_holder")
    business = registry.member("business", email="filer@example.jp")
    voice_no = registered_voice(holder)
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    session = sign_in(api, mailbox, "filer@example.jp")
    page = api.get(f"/portal/ai-systems/{ai_no}", headers={"Cookie": session}).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    typed = {
        "csrf": csrf,
        "voice_nos": voice_no,
        "uses": "tts",
        "starts_on": "2027-04-01",
        "ends_on": "2027-03-01",
        "compensation": "売上の5%",
        "document_sha256": "ab" * 32,
    }
    refused = form(api, f"/portal/ai-systems/{ai_no}/contracts", typed, session)
    html = refused.body.decode()
    assert refused.status == 422 and 'id="filing-errors"' in html and "入力を確認" in html
    assert 'value="2027-03-01"' in html and 'value="売上の5%"' in html and "ab" * 32 in html
    assert re.search(r'name="uses" value="tts" checked', html)
    assert not re.search(r'name="uses" value="fine_tuning" checked', html)  # as it was typed
    assert api.get("/v1/contracts", token=business.token).json["contracts"] == []
    filed = form(
        api, f"/portal/ai-systems/{ai_no}/contracts", typed | {"ends_on": "2028-03-31"}, session
    )
    assert filed.status == 303
    assert len(api.get("/v1/contracts", token=business.token).json["contracts"]) == 1


def test_a_form_sent_again_after_it_was_done_goes_back_to_its_page(
    registry: Registry, mailbox: Path, registered_voice
) -> None:
    """A reload or a second tab sends a confirmation or a label application again: what was
    asked already holds, so the member is sent back to the page that shows it (it was an
    error page, 409 in the API's English: "You have already confirmed this contract.")."""
    from tests.scenario import CONTRACT_INTENT, ai_sheet, contract_filing

    api = registry.api
    performer = registry.member("performer")
    api.put(f"/v1/performers/{performer.member_id}/intent", CONTRACT_INTENT, token=performer.token)
    holder = registry.member("rights_holder", email="again-h@example.jp")
    business = registry.member("business", email="again-b@example.jp", display_name="声の商店")
    voice_no = registered_voice(holder, [performer.member_id])
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    filing = contract_filing(ai_no, [voice_no])
    contract_id = api.post("/v1/contracts", filing, token=business.token).json["contract_id"]
    h_session = sign_in(api, mailbox, "again-h@example.jp")
    page = api.get("/portal/contracts", headers={"Cookie": h_session}).body.decode()
    row = page.split(contract_id)[1].split("</tr>")[0]
    # the holder reads what it confirms: the AI system, its business, the recording's title
    assert "こえAI" in row and "声の商店" in row and "朗読サンプル" in row, row
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    confirm = {"csrf": csrf, "action": "confirm"}
    said = []
    for _ in range(2):
        sent = form(api, f"/portal/contracts/{contract_id}", confirm, h_session)
        assert sent.status == 303
        said.append(sent.headers["location"])
    assert said == [f"/portal/contracts?done={done}&no={contract_id}"
                    for done in ("confirm", "already")]  # fmt: skip
    shown = api.get(said[0], headers={"Cookie": h_session}).body.decode()
    assert f"{contract_id}: 契約を確認しました。" in shown
    b_session = sign_in(api, mailbox, "again-b@example.jp")
    page = api.get(f"/portal/ai-systems/{ai_no}", headers={"Cookie": b_session}).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    for _ in range(2):
        sent = form(api, f"/portal/ai-systems/{ai_no}/label", {"csrf": csrf}, b_session)
        assert sent.status == 303 and sent.headers["location"] == f"/portal/ai-systems/{ai_no}"
    assert api.get(f"/v1/ai-systems/{ai_no}").json["label_status"] == "valid"
    # revoking asks first (a disclosure with a required reason), and the reason is kept
    page = api.get("/portal/contracts", headers={"Cookie": h_session}).body.decode()
    assert '<details class="confirm"><summary>取り消す…</summary>' in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    path, revoke = f"/portal/contracts/{contract_id}", {"csrf": csrf, "action": "revoke"}
    assert form(api, path, revoke, h_session).status == 422
    assert api.get(f"/v1/contracts/{contract_id}", token=holder.token).json["status"] == "active"
    sent = form(api, path, {**revoke, "reason": "契約期間の合意が違う"}, h_session)
    assert sent.status == 303
    record = api.get(f"/v1/contracts/{contract_id}", token=holder.token).json
    assert record["status"] == "revoked" and record["revoke_reason"] == "契約期間の合意が違う"
    b_page = api.get("/portal/contracts", headers={"Cookie": b_session}).body.decode()
    holder_name = api.get(f"/v1/members/{holder.member_id}", token=holder.token).json
    assert f"取り消した会員: {holder_name['display_name']}" in b_page  # told to the other party
    assert "理由: 契約期間の合意が違う" in b_page


def test_an_operator_decides_a_conflict_from_the_portal(registry: Registry, mailbox: Path) -> None:
    """Two holders claiming one recording waited for a decision no portal page showed: the
    operator needed the API. The operator page now lists the conflict and decides it."""
    api = registry.api
    kept, lost = _claims_in_conflict(registry, "portal-h")
    session = sign_in(api, mailbox, "op@example.org")
    page = api.get("/portal/operator", headers={"Cookie": session}).body.decode()
    queue = page.split('id="conflicts"')[1].split("<h2>")[0]
    assert kept in queue and lost in queue and "この音声を残す" in queue
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    unexplained = form(api, f"/portal/operator/voices/{kept}/resolve", {"csrf": csrf}, session)
    assert unexplained.status == 422 and "理由を入力" in unexplained.body.decode()
    decision = {"csrf": csrf, "reason": "原盤の契約書を確認"}
    for done in ("resolve", "already"):  # sent again (a reload): back to the page, as decided
        sent = form(api, f"/portal/operator/voices/{kept}/resolve", decision, session)
        assert sent.status == 303
        assert sent.headers["location"] == f"/portal/operator?done={done}&no={kept}"
    registered = api.get(f"/v1/voices/{kept}", token=registry.operator).json
    assert registered["status"] == "registered" and registered["registered_at"]
    rejected = api.get(f"/v1/voices/{lost}", token=registry.operator).json
    assert rejected["status"] == "rejected" and rejected["error"]["code"] == "conflict_lost"
    page = api.get("/portal/operator", headers={"Cookie": session}).body.decode()
    assert kept not in page.split('id="conflicts"')[1].split("<h2>")[0]


def test_operator_decisions_say_what_they_did_and_a_repeat_returns_to_the_page(
    registry: Registry, mailbox: Path
) -> None:
    """Approve, reject, suspend, reinstate: the page said nothing (the row just moved), and a
    suspension sent again from a second tab was an English 409 page."""
    api = registry.api
    member = registry.member("business")
    applicant = registry.apply("performer")
    session = sign_in(api, mailbox, "op@example.org")
    page = api.get("/portal/operator", headers={"Cookie": session}).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    path = f"/portal/operator/members/{member.member_id}"
    said = []
    unexplained = form(api, path, {"csrf": csrf, "action": "suspend"}, session)
    assert unexplained.status == 422 and "理由を入力" in unexplained.body.decode()
    assert api.get(f"/v1/members/{member.member_id}", token=registry.operator).json["status"] == (
        "active"
    )
    for _ in range(2):  # the second from a stale tab: not announced as done by it
        sent = form(api, path, {"csrf": csrf, "action": "suspend", "reason": "確認中"}, session)
        assert sent.status == 303, sent.body
        said.append(sent.headers["location"])
    assert said == [f"/portal/operator?done={done}&no={member.member_id}"
                    for done in ("suspend", "already")]  # fmt: skip
    shown = api.get(said[0], headers={"Cookie": session}).body.decode()
    assert f"{member.member_id} を停止しました。" in shown
    stale = api.get(said[1], headers={"Cookie": session}).body.decode()
    assert "別の操作で決まっていました" in stale and "を停止しました" not in stale
    reason = {"csrf": csrf, "action": "reject", "reason": "書類が不足しています"}
    sent = form(api, f"/portal/operator/members/{applicant}", reason, session)
    assert sent.status == 303
    record = api.get(f"/v1/members/{applicant}", token=registry.operator).json
    assert record["status"] == "rejected", record
    assert "書類が不足しています" in json.dumps(record, ensure_ascii=False)
    made_up = api.get("/portal/operator?done=suspend&no=<b>x</b>", headers={"Cookie": session})
    assert "<b>x</b>" not in made_up.body.decode() and "を停止しました" not in made_up.body.decode()


def _claims_in_conflict(registry: Registry, prefix: str) -> tuple[str, str]:
    from shared.voices import service as voices
    from tests.scenario import voice_sheet

    api, claims = registry.api, []
    for n in (1, 2):
        holder = registry.member("rights_holder", email=f"{prefix}{n}@example.jp")
        voice_no = api.post("/v1/voices", voice_sheet(), token=holder.token).json["voice_no"]
        voices.transition(voice_no, to="processing", allowed_from=("awaiting_upload",),
                          actor="test", action="voice.processing")  # fmt: skip
        claims.append(voice_no)
    first, second = claims
    for voice_no, other in ((first, second), (second, first)):
        voices.transition(voice_no, to="conflict", allowed_from=("processing",), actor="test",
                          action="voice.conflict", changes={"conflict_with": [other]})  # fmt: skip
    return first, second


def test_two_operators_deciding_one_conflict_at_once_never_reject_both(
    registry: Registry,
) -> None:
    """Each operator keeping a different voice at the same moment rejected both voices (and
    answered 500); the same decision sent twice at once answered 200 and 500."""
    from concurrent.futures import ThreadPoolExecutor

    from shared.access import Principal
    from shared.errors import Conflict
    from shared.voices import conflicts

    api = registry.api
    kept, other = _claims_in_conflict(registry, "race-a")
    conflicts._mark_decided(other, [other, kept])  # another operator is keeping `other`
    refused = api.post(f"/v1/voices/{kept}/resolve", {"reason": "x"}, token=registry.operator)
    assert refused.status == 409 and refused.json["code"] == "being_decided", refused.json
    assert other in refused.json["message"]
    for voice_no in (kept, other):
        assert api.get(f"/v1/voices/{voice_no}", token=registry.operator).json["status"] == (
            "conflict"
        )
    done = api.post(f"/v1/voices/{other}/resolve", {"reason": "x"}, token=registry.operator)
    assert done.status == 200 and done.json["status"] == "registered"

    kept, other = _claims_in_conflict(registry, "race-b")
    operator = Principal(member_id="M-OPER-ATOR-0", role="operator", token_prefix="test")

    def decide(_: int) -> str:
        try:
            return str(conflicts.resolve(kept, operator, "x")["status"])
        except Conflict as error:  # the repeat came after the decision: it says so
            return error.code

    with ThreadPoolExecutor(2) as pool:  # a double click: never a 500, never both rejected
        outcomes = sorted(pool.map(decide, range(2)))
    assert outcomes in (["registered", "registered"], ["not_in_conflict", "registered"])
    lost = api.get(f"/v1/voices/{other}", token=registry.operator).json
    assert lost["status"] == "rejected" and lost["error"]["code"] == "conflict_lost"


def test_a_decision_that_stopped_half_way_is_taken_over_after_its_lease(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision whose function died after marking the conflict held it for good: only the
    same voice could ever be kept. Past the lease another decision takes it over."""
    from shared.voices import conflicts

    api = registry.api
    kept, other = _claims_in_conflict(registry, "lease")
    conflicts._mark_decided(other, [other, kept])  # then that decision stopped
    path = f"/v1/voices/{kept}/resolve"
    assert api.post(path, {"reason": "x"}, token=registry.operator).json["code"] == "being_decided"
    monkeypatch.setattr(conflicts, "DECISION_LEASE_S", -1)  # the lease has passed
    taken = api.post(path, {"reason": "x"}, token=registry.operator)
    assert taken.status == 200 and taken.json["status"] == "registered", taken.json
    lost = api.get(f"/v1/voices/{other}", token=registry.operator).json
    assert lost["status"] == "rejected"


def test_a_refusal_is_said_in_japanese_with_the_english_beside_it(
    registry: Registry, mailbox: Path
) -> None:
    """The portal's error page showed the domain's English sentence on Japanese pages."""
    from shared.voices import conflicts

    api = registry.api
    kept, other = _claims_in_conflict(registry, "ja-refusal")
    conflicts._mark_decided(other, [other, kept])  # another operator is deciding
    session = sign_in(api, mailbox, "op@example.org")
    page = api.get("/portal/operator", headers={"Cookie": session}).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    refused = form(api, f"/portal/operator/voices/{kept}/resolve",
                   {"csrf": csrf, "reason": "確認"}, session)  # fmt: skip
    text = refused.body.decode()
    assert refused.status == 409 and "別の運営担当者がこの競合を判断しているところです" in text
    assert other in text  # the English detail names the voice being kept
    english = form(api, f"/portal/operator/voices/{kept}/resolve?lang=en",
                   {"csrf": csrf, "reason": "ok"}, session)  # fmt: skip
    assert "Another operator is deciding" in english.body.decode()


def test_times_are_shown_in_japan_time() -> None:
    from shared.clock import japan_time

    assert japan_time("2026-12-02T17:46:43Z") == "2026-12-03 02:46 JST"  # the next day here
    assert japan_time("2026-12-02T17:46:43.123456+00:00", with_time=False) == "2026-12-03"
    assert japan_time("not a time") == "not a time" and japan_time(None) == ""


def test_a_trace_from_the_portal_is_its_owners_alone(registry: Registry, mailbox: Path) -> None:
    """The trace page answers its script with a presigned upload; its result and status are
    the owner's: another member gets 404, an operator 403 (traces are members' own)."""
    api = registry.api
    registry.member("performer", email="tracer@example.jp")
    registry.member("rights_holder", email="other-tracer@example.jp")
    mine = sign_in(api, mailbox, "tracer@example.jp")
    page = api.get("/portal/trace", headers={"Cookie": mine}).body.decode()
    assert 'id="trace-form"' in page and "/static/trace.js" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    facts = {"csrf": csrf, "file_name": "clip.mp3", "file_size": "80000", "file_type": "audio/mpeg"}
    created = form(api, "/portal/trace", facts, mine)
    assert created.status == 201, created.body
    body = json.loads(created.body)
    assert body["trace_id"].startswith("T-") and body["upload"]["url"].startswith("http")
    status = api.get(f"/portal/traces/{body['trace_id']}/status", headers={"Cookie": mine})
    assert json.loads(status.body) == {"status": "awaiting_upload", "final": False}
    waiting = api.get(f"/portal/traces/{body['trace_id']}", headers={"Cookie": mine})
    assert waiting.status == 200 and "照合中です" in waiting.body.decode()
    other = sign_in(api, mailbox, "other-tracer@example.jp")
    for path in (f"/portal/traces/{body['trace_id']}", f"/portal/traces/{body['trace_id']}/status"):
        assert api.get(path, headers={"Cookie": other}).status == 404
    bad = form(api, "/portal/trace", {**facts, "file_size": "many"}, mine)
    assert bad.status == 422 and "errors" in json.loads(bad.body)
    operator = sign_in(api, mailbox, "op@example.org")
    assert api.get("/portal/trace", headers={"Cookie": operator}).status == 403


def test_a_pages_script_may_send_only_to_this_site_and_the_upload_bucket(
    registry: Registry, mailbox: Path
) -> None:
    from urllib.parse import urlsplit

    api = registry.api
    registry.member("performer", email="csp@example.jp")
    session = sign_in(api, mailbox, "csp@example.jp")
    page = api.get("/portal/trace", headers={"Cookie": session})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.body.decode()).group(1)
    facts = {"csrf": csrf, "file_name": "a.wav", "file_size": "5000", "file_type": "audio/wav"}
    upload = json.loads(form(api, "/portal/trace", facts, session).body)["upload"]["url"]
    policy = page.headers["content-security-policy"]
    connect = next(p for p in policy.split(";") if p.strip().startswith("connect-src")).split()
    parts = urlsplit(upload)
    assert connect[1:] == ["'self'", f"{parts.scheme}://{parts.netloc}"]  # where uploads go
    assert "form-action 'self';" in policy


def test_an_agency_writes_the_intent_of_a_performer_who_authorised_it(
    registry: Registry, mailbox: Path
) -> None:
    """The API let an authorised agency write a performer's intent, the portal did not: its
    pages were the performer's own. Another holder, not authorised, is refused."""
    from shared.intents import service as intents

    api = registry.api
    performer = registry.member("performer", display_name="声優 代理花子")
    agency = registry.member("rights_holder", email="agency@example.jp")
    registry.member("rights_holder", email="stranger@example.jp")
    path = f"/v1/performers/{performer.member_id}/agents"
    assert api.post(path, {"agent_id": agency.member_id}, token=performer.token).status == 201
    session = sign_in(api, mailbox, "agency@example.jp")
    listed = api.get("/portal/performers", headers={"Cookie": session}).body.decode()
    here = f"/portal/performers/{performer.member_id}/intent"
    assert "声優 代理花子" in listed and f'href="{here}"' in listed
    page = api.get(here, headers={"Cookie": session}).body.decode()
    assert f'action="{here}"' in page and 'id="agents"' not in page  # not the agency's to see
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    saved = form(api, here, {**all_uses("deny"), "csrf": csrf}, session)
    assert saved.status == 303 and saved.headers["location"] == f"{here}?saved=1"
    (version,) = intents.history(performer.member_id)
    assert version["author_role"] == "agent" and version["uses"]["tts"] == "deny"
    stranger = sign_in(api, mailbox, "stranger@example.jp")
    refused = api.get(here, headers={"Cookie": stranger})
    assert refused.status == 403 and "本人が認めた事務所だけ" in refused.body.decode()
    assert (
        "声優 代理花子"
        not in api.get("/portal/performers", headers={"Cookie": stranger}).body.decode()
    )


def test_a_performer_withdraws_every_consent_with_one_button(
    registry: Registry, mailbox: Path
) -> None:
    from shared.intents import service as intents

    api = registry.api
    performer = registry.member("performer", email="withdraw@example.jp")
    session = sign_in(api, mailbox, "withdraw@example.jp")
    page = api.get("/portal/intent", headers={"Cookie": session}).body.decode()
    assert 'id="deny-all"' not in page  # nothing to withdraw yet
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    first = {**all_uses("allow"), "csrf": csrf, "note": "朗読のみ", "credit_required": "yes"}
    assert form(api, "/portal/intent", first | {"territories": "jp, US"}, session).status == 303
    page = api.get("/portal/intent", headers={"Cookie": session}).body.decode()
    assert 'name="territories" type="text" value="JP, US"' in page
    button = page.split('id="deny-all"')[1].split("</form>")[0]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', button))
    assert fields == {"csrf": csrf, "action": "deny_all"}
    assert form(api, "/portal/intent", fields, session).status == 303
    now = intents.current(performer.member_id)
    assert now["version"] == 2 and set(now["uses"].values()) == {"deny"}
    assert now["commercial"] == "deny" and now.get("note") is None  # "allowed…" would mislead
    shown = api.get("/portal/intent?saved=2&withdrawn=1", headers={"Cookie": session})
    assert "すべての利用への同意を取り下げました（第2版）。" in shown.body.decode()
    # the rest of the intent stays: credit, and the territories (the form once dropped them,
    # widening a "JP only" consent to the world)
    assert now["conditions"]["credit_required"] is True
    assert now["conditions"]["territories"] == ["JP", "US"]
    saved_again = {**all_uses("allow"), "csrf": csrf, "territories": "ｊｐ，ＵＳ；jp"}  # as typed
    assert form(api, "/portal/intent", saved_again, session).status == 303
    assert intents.current(performer.member_id)["conditions"]["territories"] == ["JP", "US"]
    # a withdrawal made from version 3 while version 4 came in is refused, not written over it
    stale = intents.current(performer.member_id)["version"]
    assert form(api, "/portal/intent", {**saved_again, "note": "新しい版"}, session).status == 303
    from shared.access import Principal
    from shared.errors import Conflict
    from shared.intents.service import withdrawn

    me = Principal(member_id=performer.member_id, role="performer", token_prefix="test")
    with pytest.raises(Conflict):
        intents.write(performer.member_id, withdrawn({}), me, based_on=stale)
    # a made-up number in the page's address is no 500
    odd = api.get("/portal/intent?saved=%C2%B2", headers={"Cookie": session})
    assert odd.status == 200 and "版を登録しました" not in odd.body.decode()


def test_signin_answers_no_sooner_for_a_stranger_than_the_mail_takes(
    registry: Registry, mailbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member's address took the time of sending the mail (64 ms against 48 ms here): the
    answer waits out the same floor either way, so the timing does not say who is a member."""
    import functions.portal.public as public

    waits: list[float] = []
    monkeypatch.setattr(public.time, "sleep", waits.append)
    api = registry.api
    registry.member("performer", email="known2@example.jp")
    csrf = cookies_of(api.get("/signin"))["ailas_csrf"]
    for address in ("known2@example.jp", "stranger2@example.jp"):
        form(api, "/signin", {"email": address, "csrf": csrf}, f"ailas_csrf={csrf}")
    member_wait, stranger_wait = waits
    assert 0 <= member_wait < stranger_wait <= 0.5  # each padded up to the same 0.5 s


def test_a_title_cannot_close_the_pages_title_element(registry: Registry, mailbox: Path) -> None:
    """The per-page <title> passed the voice's title through striptags, which unescapes: a
    title of `</title><meta http-equiv=refresh …>` sent its readers to another site."""
    from tests.scenario import voice_sheet

    api = registry.api
    hostile = 'x</title><meta http-equiv="refresh" content="0;url=https://evil.example/"><title>y'
    holder = registry.member("rights_holder", email="titles@example.jp")
    sheet = voice_sheet(title=hostile)
    voice_no = api.post("/v1/voices", sheet, token=holder.token).json["voice_no"]
    session = sign_in(api, mailbox, "titles@example.jp")
    page = api.get(f"/portal/voices/{voice_no}", headers={"Cookie": session}).body.decode()
    head = page.split("</head>")[0]
    assert "<meta http-equiv" not in page and head.count("<title>") == 1
    assert "x&lt;/title&gt;&lt;meta http-equiv=" in head


def test_why_an_upload_was_refused_is_said_in_japanese_with_the_detail(
    registry: Registry, mailbox: Path
) -> None:
    """The holder's list showed `却下: no_speech` and the page `no_speech: The file…`."""
    from shared.voices import service as voices
    from tests.scenario import voice_sheet

    api = registry.api
    holder = registry.member("rights_holder", email="refused-upload@example.jp")
    voice_no = api.post("/v1/voices", voice_sheet(), token=holder.token).json["voice_no"]
    error = {"code": "no_speech", "message": "The file holds only 1.0 s of sound."}
    voices.transition(voice_no, to="rejected", allowed_from=("awaiting_upload",),
                      actor="test", action="voice.rejected", changes={"error": error})  # fmt: skip
    session = sign_in(api, mailbox, "refused-upload@example.jp")
    listed = api.get("/portal/voices", headers={"Cookie": session}).body.decode()
    assert "却下: 声が足りない" in listed and ": no_speech" not in listed
    page = api.get(f"/portal/voices/{voice_no}", headers={"Cookie": session}).body.decode()
    assert "声の部分が短すぎるか、ありません（2秒以上の声が必要です）。" in page
    assert "（The file holds only 1.0 s of sound.）" in page  # the registry's detail beside it
    status = api.get(f"/portal/voices/{voice_no}/status", headers={"Cookie": session})
    assert json.loads(status.body)["said"].startswith("声の部分が短すぎる")
    english = api.get(f"/portal/voices/{voice_no}?lang=en", headers={"Cookie": session})
    assert "The file holds only 1.0 s of sound." in english.body.decode()
