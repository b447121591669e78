"""The verify page and labelled audio as third parties meet them, on the local stack.

Headless Chromium (Debian's `chromium`, driven by Playwright through ``executable_path``;
nothing downloaded) renders the pages of a valid, a suspended, a revoked and an unknown label at
phone (390 px) and desktop (1280 px) width: the words are read from the DOM, the status panel's
colour from the computed style and from the screenshot. The screenshots are kept as test
artifacts (``tests/artifacts/verify-page/``, ignored by git; ``AILAS_TEST_ARTIFACTS`` moves them).

Between the states, a business labels generated WAV and MP3 audio with ``ailas label-file``
(C2PA, its own test certificate from ``ailas dev-cert``); ``ailas verify FILE`` accepts it, and
reports a tampered file and, once consent is withdrawn, the suspended label, with exit 1.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests import audiofiles, labelled_audio
from tests.e2e.conftest import Stack
from tests.e2e.test_flow import INTENT, ailas, label_status
from tests.e2e.test_voices import register, wait
from tests.scenario import Registry, ai_sheet, contract_filing

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
# status → (Japanese word on the page, English word, panel colour)
LOOKS = {
    "valid": ("有効", "Valid", (0x1A, 0x7F, 0x37)),
    "suspended": ("一時停止", "Suspended", (0xB3, 0x59, 0x00)),
    "revoked": ("取消", "Revoked", (0xB4, 0x23, 0x18)),
    "unknown": ("該当なし", "Unknown", (0x57, 0x60, 0x6A)),
}


def png_pixels(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA PNG with the standard library (no imaging dependency)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, idat = 8, {}, b""
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks[kind] = body
        position += 12 + length
    width, height = (int.from_bytes(chunks[b"IHDR"][i : i + 4], "big") for i in (0, 4))
    channels = {2: 3, 6: 4}[chunks[b"IHDR"][9]]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width * channels + 1)
    image = np.zeros((height, width * channels), dtype=np.int32)
    previous = np.zeros(width * channels, dtype=np.int32)
    for row in range(height):
        kind, line = raw[row, 0], raw[row, 1:].astype(np.int32)
        if kind == 0:
            out = line
        elif kind == 2:
            out = (line + previous) & 0xFF
        else:  # sub, average, paeth: byte by byte
            out = np.zeros_like(line)
            for i in range(line.size):
                left = out[i - channels] if i >= channels else 0
                up, corner = previous[i], previous[i - channels] if i >= channels else 0
                if kind == 1:
                    predictor = left
                elif kind == 3:
                    predictor = (left + up) // 2
                else:
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                out[i] = (line[i] + predictor) & 0xFF
        image[row] = out
        previous = out
    return image.reshape(height, width, channels)[:, :, :3]


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("AILAS_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))
    folder = folder / "verify-page"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is needed (make sysdeps installs it)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def shoot(browser, url: str, state: str, artifacts: Path, label: str, tmp: Path) -> dict[str, str]:
    """Render ``url`` at both widths; assert the words and the colour; keep the screenshots."""
    ja, en, colour = LOOKS[state]
    seen = {}
    for width_name, (width, height) in WIDTHS.items():
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url)
        panel = page.locator("#status")
        words = panel.inner_text()
        assert ja in words and en in words, (state, width_name, words)
        background = page.evaluate("getComputedStyle(document.querySelector('#status')).background")
        assert f"rgb({colour[0]}, {colour[1]}, {colour[2]})" in background, background
        # nothing wider than the screen: a phone does not scroll sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot = artifacts / f"{state}-{width_name}.png"
        page.screenshot(path=str(shot), full_page=True)  # the artifact
        seen[width_name] = page.inner_text("body")
        panel_shot = tmp / f"{state}-{width_name}-panel.png"
        panel.screenshot(path=str(panel_shot))
        page.close()
        # the panel as rendered: mostly its colour, with light text on it
        pixels = png_pixels(panel_shot)
        filled = np.all(np.abs(pixels - np.array(colour)) < 12, axis=2).mean()
        light = np.all(pixels > 225, axis=2).mean()
        assert filled > 0.5 and light > 0.005, (state, width_name, filled, light)
        print(f"screenshot {label}: {shot}")
    return seen


def upload(browser, stack: Stack, path: Path, shot: Path) -> str:
    """Choose the file on /verify, submit, and read the verdict off the result page."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{stack.base_url}/verify")
    page.set_input_files("input[type=file]", str(path))
    page.click("#file-check button[type=submit]")
    page.wait_for_selector("#status[data-verdict]")
    verdict = page.get_attribute("#status", "data-verdict") or ""
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    return verdict


def test_verify_pages_and_labelled_audio(
    registry: Registry, stack: Stack, browser, artifacts: Path, tmp_path: Path
) -> None:
    api = registry.api
    holder, business = registry.member("rights_holder"), registry.member("business")
    performer = registry.member("performer", display_name="声優 画面")
    api.put(f"/v1/performers/{performer.member_id}/intent", INTENT, token=performer.token)
    data = audiofiles.wav_bytes(audiofiles.speech(6, seed=8080), 16000)
    voice_no = register(registry, holder, data, performer_ids=[performer.member_id])["voice_no"]
    assert wait(registry, voice_no, holder.token)["status"] == "registered"
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    contract = api.post(
        "/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token
    ).json["contract_id"]
    api.post(f"/v1/contracts/{contract}/confirm", token=holder.token)
    label_no = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token).json["label_no"]
    url = f"{stack.base_url}/verify/{label_no}"

    valid = shoot(browser, url, "valid", artifacts, label_no, tmp_path)
    assert "声優 画面" in valid["phone"] and "音声合成" in valid["phone"]
    assert "確認済み" in valid["desktop"]
    english = browser.new_page(viewport={"width": 390, "height": 844})
    english.goto(url)
    english.click("#lang-switch")
    assert english.url.endswith("?lang=en")
    assert "Speech synthesis (TTS) in this voice" in english.inner_text("body")
    english.close()

    # a business labels generated audio; anyone verifies it
    made = ailas(stack, None, "--json", "dev-cert", "--org", "こえAI", "--out", str(tmp_path))
    assert made.returncode == 0, made.stderr
    cert = json.loads(made.stdout)
    labelled = {}
    for fmt in ("WAV", "MP3"):
        source = tmp_path / f"generated.{fmt.lower()}"
        source.write_bytes(labelled_audio.audio(fmt))
        out = tmp_path / f"labelled.{fmt.lower()}"
        done = ailas(
            stack,
            None,
            "label-file",
            str(source),
            "--label",
            label_no,
            "--cert",
            cert["cert"],
            "--key",
            cert["key"],
            "-o",
            str(out),
        )
        assert done.returncode == 0, done.stderr
        checked = ailas(stack, None, "--json", "verify", str(out))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        result = json.loads(checked.stdout)
        assert result["verdict"] == "ok" and result["label_no"] == label_no
        assert result["manifest"]["intact"] and result["token_valid"]
        assert result["live"]["status"] == "valid"
        labelled[fmt] = out
    # the reference library's own reader sees the assertions (what c2patool would show)
    import c2pa

    with c2pa.Reader(str(labelled["WAV"])) as reader:
        labels = {a["label"] for a in reader.get_active_manifest()["assertions"]}
    assert {"ailas.label", "cawg.training-mining"} <= labels
    trusted = ailas(stack, None, "verify", str(labelled["MP3"]), "--trust-anchors", cert["ca"])
    assert trusted.returncode == 0 and "trusted" in trusted.stdout
    tampered = tmp_path / "tampered.wav"
    tampered.write_bytes(labelled_audio.tamper(labelled["WAV"].read_bytes()))
    caught = ailas(stack, None, "verify", str(tampered))
    assert caught.returncode == 1 and "tampered" in caught.stdout
    # the same checks through the lookup page's upload form, as a person would use it
    assert upload(browser, stack, labelled["MP3"], artifacts / "file-ok.png") == "ok"
    assert upload(browser, stack, tampered, artifacts / "file-tampered.png") == "tampered"
    # `ailas verify TOKEN` still verifies a token
    token = api.get(f"/v1/labels/{label_no}").json["token"]
    assert ailas(stack, None, "verify", token, "--online").returncode == 0

    unknown = shoot(
        browser, f"{stack.base_url}/verify/L-0000-0000-0", "unknown", artifacts, "?", tmp_path
    )
    assert "ラベル番号で確認する" in unknown["phone"]  # the lookup box to try again

    # consent withdrawn → suspended: the page says since when and why; the file is refused
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {**INTENT, "uses": {**INTENT["uses"], "tts": "deny"}},
        token=performer.token,
    )
    assert label_status(registry, label_no, "suspended")["status"] == "suspended"
    suspended = shoot(browser, url, "suspended", artifacts, label_no, tmp_path)
    assert (
        "この状態になった日時" in suspended["phone"] and "事業者ができること" in suspended["phone"]
    )
    refused = ailas(stack, None, "verify", str(labelled["WAV"]))
    assert refused.returncode == 1 and "live status: suspended" in refused.stdout
    online = ailas(stack, None, "verify", token, "--online")  # the token: the same answer
    assert online.returncode == 1 and "live status: suspended" in online.stdout
    assert upload(browser, stack, labelled["WAV"], artifacts / "file-suspended.png") == "suspended"

    api.post(f"/v1/labels/{label_no}/revoke", {"reason": "虚偽申告"}, token=registry.operator)
    revoked = shoot(browser, url, "revoked", artifacts, label_no, tmp_path)
    assert "虚偽申告" in revoked["desktop"]
    assert (
        len(list(artifacts.glob("*-phone.png"))) == len(list(artifacts.glob("*-desktop.png"))) == 4
    )


def test_docs_render_the_openapi_document_offline(stack: Stack, browser, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(stack.base_url) else outside.append(request.url)
        ),
    )
    page.goto(f"{stack.base_url}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    operations = page.locator(".opblock").count()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    page.screenshot(path=str(artifacts / "swagger-docs.png"))
    page.close()
    assert operations >= 40 and any("/verify/{label_no}" in p for p in paths)
    assert outside == [], outside  # Swagger UI came from the app, nothing from elsewhere
