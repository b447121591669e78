"""The portal in a real browser (Playwright driving Debian's chromium; nothing downloaded): three
people apply, the operator signs in by e-mail link and approves them, each signs in with the
link in their welcome mail, and from there to a valid label using only the browser and the mail
folder — an intent set, a recording uploaded from the page, an AI system registered, a contract
filed and confirmed. Screenshots of every page at 390 px and 1280 px go to build/artifacts/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from tests import audiofiles
from tests.e2e.conftest import ROOT, Stack

ARTIFACTS = ROOT / "build" / "artifacts" / "portal"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def sign_in_link(stack: Stack, address: str, after: float, timeout_s: float = 30) -> str:
    """The newest sign-in link mailed to ``address`` since ``after`` (the mail folder)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in sorted(stack.mail_dir.glob("*.eml"), reverse=True):
            if path.stat().st_mtime < after:
                continue
            message = message_from_bytes(path.read_bytes(), policy=default)
            if message["To"] != address:
                continue
            found = re.search(r"https?://\S+/signin/\S+", message.get_body().get_content())
            if found:
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no sign-in mail for {address}")


class Person:
    """One browser context (its own cookies) and the screenshots of what it saw."""

    def __init__(self, browser: object, stack: Stack, name: str) -> None:
        self.context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.stack, self.name = stack, name
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, path: str) -> None:
        self.page.goto(self.stack.base_url + path)

    def shoot(self, label: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for width in (390, 1280):
            self.page.set_viewport_size({"width": width, "height": 844})
            self.page.screenshot(
                path=ARTIFACTS / f"{self.name}-{label}-{width}.png", full_page=True
            )
        self.page.set_viewport_size({"width": 390, "height": 844})

    def sign_in_by_mail(self, address: str, since: float) -> None:
        self.page.goto(sign_in_link(self.stack, address, since))
        self.page.get_by_role("button", name="サインインする").click()
        self.page.wait_for_url("**/portal")


def apply(person: Person, kind_label: str, name: str, kana: str, email: str) -> None:
    person.open("/apply")
    person.page.get_by_label(kind_label).check()
    person.page.get_by_label("氏名（非公開）", exact=True).fill(name)
    person.page.get_by_label("フリガナ").fill(kana)
    person.page.get_by_label("公開名（芸名・社名）", exact=True).fill(name)
    person.page.get_by_label("メールアドレス", exact=True).fill(email)
    person.page.get_by_label("利用規約（2026-01版）に同意します", exact=True).check()
    person.page.get_by_role("button", name="申請する").click()
    person.page.get_by_text("申請を受け付けました").wait_for()


def test_from_application_to_a_valid_label_in_the_browser(
    browser: object, stack: Stack, tmp_path: Path
) -> None:
    started = time.time()
    run = str(int(started * 1000))[-6:]
    performer = Person(browser, stack, "performer")
    holder = Person(browser, stack, "holder")
    business = Person(browser, stack, "business")
    operator = Person(browser, stack, "operator")
    emails = {
        "performer": f"koe{run}@example.jp",
        "holder": f"agency{run}@example.jp",
        "business": f"ai{run}@example.jp",
    }
    names = {"performer": f"声優 花子{run}", "holder": f"事務所{run}", "business": f"こえAI社{run}"}

    performer.open("/")
    performer.shoot("home")
    apply(
        performer,
        "実演家（声優・ナレーターなど）",
        names["performer"],
        "セイユウ ハナコ",
        emails["performer"],
    )
    performer.shoot("applied")
    apply(holder, "権利者（事務所・制作会社など）", names["holder"], "ジムショ", emails["holder"])
    apply(
        business,
        "AI事業者（開発・利用）",
        names["business"],
        "コエエーアイシャ",
        emails["business"],
    )

    # The operator signs in by e-mail link and approves the three from the queue.
    operator.open("/signin")
    operator.shoot("signin")
    operator.page.get_by_label("メールアドレス", exact=True).fill("operator@localhost")
    operator.page.get_by_role("button", name="リンクを送る").click()
    operator.page.get_by_text("メールを確認してください").wait_for()
    operator.sign_in_by_mail("operator@localhost", started)
    operator.open("/portal/operator")
    operator.shoot("queue")
    for who in ("performer", "holder", "business"):
        operator.page.get_by_role("button", name=f"承認 {names[who]}").click()
        operator.page.wait_for_url("**/portal/operator?done=approve*")
        operator.page.get_by_text("を承認しました").wait_for()  # the page says what was done
    assert "承認待ちはありません" in operator.page.content() or names["performer"] not in (
        operator.page.locator("table").first.inner_text()
    )

    # Each member follows the link of the welcome mail (the operator never saw a token).
    for who, person in (("performer", performer), ("holder", holder), ("business", business)):
        person.sign_in_by_mail(emails[who], started)
        person.shoot("dashboard")
    performer_id = re.search(
        r"M-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z*~$=]", performer.page.inner_text("main")
    ).group(0)

    # 意思登録: TTS and fine-tuning need a contract; training is refused.
    performer.open("/portal/intent")
    performer.page.get_by_label("音声合成: 要契約", exact=True).check()
    performer.page.get_by_label("追加学習: 要契約", exact=True).check()
    performer.page.get_by_label("学習: 不許可", exact=True).check()
    performer.page.get_by_label("商用利用: 要契約", exact=True).check()
    performer.page.get_by_role("button", name="この内容で登録").click()
    performer.page.get_by_text("版を登録しました").wait_for()
    performer.shoot("intent")

    # 音声登録: the rights holder uploads a recording from the page (presigned POST).
    recording = audiofiles.write(
        tmp_path / "朗読.wav", audiofiles.speech(8, seed=8801), 16000, "WAV", "PCM_16"
    )
    holder.open("/portal/voices/new")
    holder.page.set_input_files("#file", str(recording))
    holder.page.get_by_label("題名", exact=True).fill("朗読サンプル")
    holder.page.get_by_label("実演家の会員番号（1行に1つ）", exact=True).fill(performer_id)
    holder.page.get_by_role("button", name="登録してアップロード").click()
    try:
        holder.page.locator("#voice-status.status-registered").wait_for(timeout=90_000)
    finally:
        holder.shoot("voice-upload")
    assert holder.page.locator("#upload-progress").get_attribute("value") == "100"
    assert holder.page.inner_text("#voice-status") == "登録済み"  # words, not the status code
    holder.shoot("voice-registered")
    voice_no = holder.page.inner_text("#voice-no")

    # トラッキング: the performer finds 5 s of the recording elsewhere (as MP3) and traces it.
    samples = audiofiles.speech(8, seed=8801)[16000 * 2 : 16000 * 7]
    clip = audiofiles.write(tmp_path / "見つけた.mp3", samples, 16000, "MP3", "MPEG_LAYER_III")
    performer.open("/portal")
    performer.page.get_by_role("link", name="音声をたどる").click()
    performer.page.set_input_files("#file", str(clip))
    performer.page.get_by_role("button", name="照合する").click()
    performer.page.wait_for_url(re.compile(r".*/portal/traces/T-[^/]*$"), timeout=90_000)
    found = performer.page.inner_text("table")
    assert "朗読サンプル" in found and "（あなたの声）" in found, found
    assert names["performer"] in found
    performer.shoot("trace")

    # 事業登録: the business registers its AI system and sees why no label yet.
    business.open("/portal/ai-systems/new")
    business.page.get_by_label("名称", exact=True).fill("こえAI")
    business.page.get_by_label("商用", exact=True).check()
    business.page.get_by_label("音声合成", exact=True).check()
    business.page.get_by_label("追加学習", exact=True).check()
    business.page.get_by_label("学習データに含む登録音声の番号（1行に1つ）", exact=True).fill(
        voice_no
    )
    business.page.get_by_role("button", name="登録", exact=True).click()
    business.page.wait_for_url(re.compile(r".*/portal/ai-systems/A-.*"))
    assert "contract_missing" in business.page.inner_text("#problems")
    business.shoot("ai-unfair")

    # 契約: filed by the business, confirmed by the rights holder.
    business.page.get_by_label("終了日", exact=True).fill(
        (date.today() + timedelta(days=365)).isoformat()
    )
    business.page.get_by_label("契約書の SHA-256").fill("ab" * 32)
    business.page.get_by_role("button", name="申告する").click()
    business.page.wait_for_url(re.compile(r".*#contracts"))
    holder.open("/portal/contracts")
    holder.shoot("contracts")
    holder.page.get_by_role("button", name="確認する").click()
    holder.page.wait_for_url("**/portal/contracts?done=*")
    assert "有効" in holder.page.inner_text("table")  # active, as people read it

    # ラベル: fair now; the business applies and holds a valid label.
    business.page.reload()
    business.page.get_by_text("公正な取引の条件を満たしています").wait_for()
    business.page.get_by_role("button", name="ラベルを申請").click()
    business.page.locator("#label-status").wait_for()
    assert business.page.get_attribute("#label-status", "data-status") == "valid"
    assert business.page.inner_text("#label-status") == "有効"
    business.shoot("label")

    # 取り消し: one click does not revoke; the disclosure asks for a reason, and the label follows.
    holder.open("/portal/contracts")
    holder.page.get_by_text("取り消す…").click()
    holder.page.get_by_label(
        "取り消しの理由（記録に残り、契約の相手方のこの一覧にも表示されます）"
    ).fill("条件の相違")
    holder.shoot("revoke")
    holder.page.get_by_role("button", name="取り消しを確定").click()
    holder.page.wait_for_url("**/portal/contracts?done=*")
    assert "取消" in holder.page.inner_text("table")
    assert "契約を取り消しました" in holder.page.inner_text("[role=status]")
    deadline = time.monotonic() + 60
    while business.page.get_attribute("#label-status", "data-status") == "valid":
        assert time.monotonic() < deadline, "the label still reads valid a minute later"
        time.sleep(1)
        business.page.reload()

    # The English switch, and a page per registry, as anyone sees them.
    visitor = Person(browser, stack, "visitor")
    visitor.open("/registry/intents?lang=en")
    assert "Performers' intents" in visitor.page.inner_text("h1")
    assert names["performer"] in visitor.page.inner_text("table")
    visitor.shoot("intents-en")
    visitor.open("/registry/ai-systems")
    visitor.shoot("ai-systems")
    visitor.open("/transparency")
    visitor.shoot("log")
    for person in (performer, holder, business, operator, visitor):
        assert person.errors == [], (person.name, person.errors)
        person.context.close()
