"""The verify page as people see it: headless Chromium (Debian's `chromium`) renders the page
served by the local stack at phone width; the status text is in the rendered DOM and its colour
fills the status panel of the screenshot."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

from tests.e2e.conftest import Stack
from tests.scenario import Registry, ai_sheet, contract_filing

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=390,844",
]


def png_pixels(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA PNG with the standard library (no imaging dependency)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    idat = b""
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks[kind] = body
        position += 12 + length
    width, height = (int.from_bytes(chunks[b"IHDR"][i : i + 4], "big") for i in (0, 4))
    channels = {2: 3, 6: 4}[chunks[b"IHDR"][9]]
    raw = zlib.decompress(idat)
    stride = width * channels
    image = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], np.frombuffer(raw[start + 1 : start + 1 + stride], np.uint8)
        line = line.astype(np.int32)
        out = np.zeros(stride, dtype=np.int32)
        for i in range(stride):
            left = out[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 0:
                predictor = 0
            elif kind == 1:
                predictor = left
            elif kind == 2:
                predictor = up
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


def test_verify_page_in_headless_chromium(registry: Registry, stack: Stack) -> None:
    browser = shutil.which("chromium")
    assert browser, "Debian's chromium is needed (the CI script installs it)"
    api = registry.api
    holder, business = registry.member("rights_holder"), registry.member("business")
    performer = registry.member("performer", display_name="声優 画面")
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {
            "uses": {"tts": "allow", "fine_tuning": "allow"},
            "commercial": "allow",
            "conditions": {"credit_required": True},
        },
        token=performer.token,
    )
    from tests import audiofiles
    from tests.e2e.test_voices import register, wait

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
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    assert "有効" in dom and "Valid" in dom and "声優 画面" in dom
    shot = Path(tempfile.gettempdir()) / f"ailas-verify-{label_no}.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", url],
            capture_output=True,
            timeout=120,
        )
    pixels = png_pixels(shot)
    green = np.all(np.abs(pixels - np.array([0x1A, 0x7F, 0x37])) < 12, axis=2)
    assert green.mean() > 0.03, "the status panel's green is not on screen"
    white = np.all(pixels > 240, axis=2)
    assert (white & np.roll(green, 1, axis=1)).sum() > 200, "no light text on the status panel"
