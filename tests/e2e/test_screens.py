"""Voice-likeness screening end to end on the local stack, with real speech of two people
(Debian's pocketsphinx-testdata: a LibriVox reader, and another speaker naming cards).

Each performer registers a recording (the CLI's presigned upload → S3 → SQS → ingest, which
keeps the speech's embedding); the audit stream builds their voiceprints; then a member screens
*other* recordings of each speaker — other words than the registered ones — over HTTP and with
the CLI. The same speaker matches, the other does not, and no uploaded audio is left."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pytest
import soundfile as sf

from tests import realspeech
from tests.e2e.conftest import Stack
from tests.e2e.test_flow import ailas
from tests.e2e.test_voices import aws
from tests.scenario import Actor, Registry


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("speech")
    reader, cards = realspeech.reader_sentences(), realspeech.card_names()
    parts = {
        "reader_voice": reader[:3],  # registered: three sentences
        "cards_voice": cards[:4],  # registered: four card names
        "queries/reader_other.wav": reader[3:],  # screened: the reader's other sentences
        "queries/cards_other.wav": cards[4:],  # screened: the other speaker's last card
    }
    out = {}
    for name, paths in parts.items():
        path = folder / (name if name.endswith(".wav") else f"{name}.wav")
        path.parent.mkdir(exist_ok=True)
        sf.write(path, realspeech.joined(paths), 16000, subtype="PCM_16")
        out[name.removeprefix("queries/").removesuffix(".wav")] = path
    return out


def voiceprint(registry: Registry, performer: Actor, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        view = registry.api.get(
            f"/v1/performers/{performer.member_id}/voiceprint", token=performer.token
        ).json
        if view["status"] == "active" or time.monotonic() > deadline:
            return view
        time.sleep(0.3)


def test_a_clip_matches_its_speakers_voiceprint_and_not_another(
    registry: Registry, stack: Stack, speech: dict[str, Path]
) -> None:
    reader = registry.member("performer", display_name="朗読者")
    cards = registry.member("performer", display_name="カード")
    holder = registry.member("rights_holder")
    intent = {"uses": {"tts": "deny", "voice_conversion": "contract", "singing": "allow"}}
    assert registry.api.put(
        f"/v1/performers/{reader.member_id}/intent", intent, token=reader.token
    ).status in (200, 201)
    assert voiceprint(registry, reader, timeout_s=0)["status"] == "none"
    for performer, name in ((reader, "reader_voice"), (cards, "cards_voice")):
        uploaded = ailas(
            stack,
            holder.token,
            "--json",
            "upload",
            str(speech[name]),
            "--title",
            name,
            "--performer-id",
            performer.member_id,
        )
        assert uploaded.returncode == 0, uploaded.stderr
        assert json.loads(uploaded.stdout)["status"] == "registered"
    reader_print = voiceprint(registry, reader)
    assert reader_print["status"] == "active"
    assert 8 < reader_print["speech_s"] <= 18  # the three sentences, silences trimmed
    assert voiceprint(registry, cards)["status"] == "active"

    business = registry.member("business")
    screened = ailas(stack, business.token, "--json", "screen", str(speech["reader_other"]))
    assert screened.returncode == 0, screened.stderr
    result = json.loads(screened.stdout)
    assert result["status"] == "done"
    found = {m["performer_id"]: m for m in result["matches"]}
    assert reader.member_id in found
    assert cards.member_id not in found
    match = found[reader.member_id]
    assert match["display_name"] == "朗読者"
    assert match["similarity"] >= result["threshold"] and 0.5 < match["score"] <= 1
    assert match["intent"] == {"tts": "deny", "voice_conversion": "contract", "singing": "allow"}
    scores = [m["score"] for m in result["matches"]]
    assert scores == sorted(scores, reverse=True)
    # only the owner reads a screen
    other = registry.member("performer")
    assert registry.api.get(f"/v1/screens/{result['screen_id']}", token=other.token).status == 404

    # a folder of clips, with a report: each clip finds its own speaker only
    folder = speech["reader_other"].parent
    out = folder.parent / "report"
    batch = ailas(stack, business.token, "--json", "screen", str(folder), "--out", str(out))
    assert batch.returncode == 0, batch.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    assert {m["performer_id"] for m in report["cards_other.wav"]["matches"]} & {
        cards.member_id,
        reader.member_id,
    } == {cards.member_id}
    rows = list(csv.DictReader(out.with_suffix(".csv").open(encoding="utf-8")))
    assert {(r["file"], r["performer_id"]) for r in rows} >= {
        ("reader_other.wav", reader.member_id),
        ("cards_other.wav", cards.member_id),
    }
    # a folder where one file cannot be screened exits 1, as one such file does
    mixed = folder.parent / "mixed"
    mixed.mkdir()
    shutil.copy(speech["reader_other"], mixed / "ok.wav")
    (mixed / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64))
    done = ailas(stack, business.token, "--json", "screen", str(mixed), "--out", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    assert json.loads(done.stdout)["failed"] == 1
    # no audio is kept: every screen upload was deleted once embedded
    listed = aws(stack, "s3").list_objects_v2(
        Bucket="ailas-local-audio-123456789012", Prefix="uploads/screens/"
    )
    assert listed.get("KeyCount", 0) == 0


def test_a_screen_without_speech_fails_with_a_code(
    registry: Registry, stack: Stack, tmp_path: Path
) -> None:
    import numpy as np

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000 * 4, np.float32), 16000, subtype="PCM_16")
    member = registry.member("rights_holder")
    screened = ailas(stack, member.token, "--json", "screen", str(silent))
    assert screened.returncode == 1
    result = json.loads(screened.stdout)
    assert result["status"] == "failed" and result["error"]["code"] == "no_speech"
