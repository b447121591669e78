"""The whole fair-trade flow on the local stack, through HTTP and the `ailas` client: performer
and intent, voice (uploaded with the CLI), AI system, label refused, contract filed and
confirmed, label issued, verified online and offline, intent withdrawn → suspended, restored →
valid, contract revoked → suspended, operator revoke → revoked for good; tracing and auditing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shared.audio.engine import AUDIT_ALGORITHM
from tests import audiofiles
from tests.e2e.conftest import Stack
from tests.scenario import Registry, ai_sheet, contract_filing

INTENT = {
    "uses": {"tts": "contract", "fine_tuning": "contract", "training": "deny"},
    "commercial": "contract",
    "conditions": {"credit_required": True},
}


def ailas(stack: Stack, token: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AILAS_API": stack.base_url}
    if token:
        env["AILAS_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "ailas.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def label_status(registry: Registry, label_no: str, want: str, timeout_s: float = 30) -> dict:
    """The label's status once the audit stream has been delivered (or the last seen)."""
    deadline = time.monotonic() + timeout_s
    while True:
        view = registry.api.get(f"/v1/labels/{label_no}").json
        if view["status"] == want or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("recordings")
    return {
        name: audiofiles.write(
            folder / f"{name}.wav", audiofiles.speech(20, seed=seed), 16000, "WAV", "PCM_16"
        )
        for name, seed in (("voice", 9001), ("other", 9002))
    }


def test_fair_trade_flow(
    registry: Registry, stack: Stack, recordings: dict[str, Path], tmp_path: Path
) -> None:
    api = registry.api
    performer = registry.member("performer", display_name="声優 花子")
    holder = registry.member("rights_holder")
    business = registry.member("business")
    assert (
        api.put(
            f"/v1/performers/{performer.member_id}/intent", INTENT, token=performer.token
        ).status
        == 200
    )

    uploaded = ailas(
        stack,
        holder.token,
        "--json",
        "upload",
        str(recordings["voice"]),
        "--title",
        "朗読",
        "--performer-id",
        performer.member_id,
    )
    assert uploaded.returncode == 0, uploaded.stderr
    voice = json.loads(uploaded.stdout)
    assert voice["status"] == "registered"
    voice_no = voice["voice_no"]

    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    refused = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert refused.status == 422 and refused.json["code"] == "unfair"
    assert {p["reason"] for p in refused.json["problems"]} == {"contract_missing"}

    contract_id = api.post(
        "/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token
    ).json["contract_id"]
    assert (
        api.post(f"/v1/contracts/{contract_id}/confirm", token=holder.token).json["status"]
        == "active"
    )
    issued = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert issued.status == 201, issued
    label_no, token = issued.json["label_no"], issued.json["token"]

    # verified online, and offline by the CLI with only the published keys
    assert api.post("/v1/labels/verify", {"token": token}).json["signature_valid"]
    jwks = tmp_path / "jwks.json"
    jwks.write_text(api.get("/.well-known/jwks.json").body.decode())
    offline = ailas(
        stack, None, "--api", "http://127.0.0.1:9", "--json", "verify", token, "--jwks", str(jwks)
    )
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout)["claims"]["label_no"] == label_no
    forged = ailas(stack, None, "verify", token[:-6] + "AAAAAA", "--jwks", str(jwks))
    assert forged.returncode == 1 and "NOT VALID" in forged.stdout

    # consent withdrawn → suspended; restored → valid; contract revoked → suspended
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {**INTENT, "uses": {**INTENT["uses"], "tts": "deny"}},
        token=performer.token,
    )
    suspended = label_status(registry, label_no, "suspended")
    assert suspended["status"] == "suspended"
    assert {r["reason"] for r in suspended["reasons"]} == {"intent_denies"}
    page = api.get(f"/verify/{label_no}").body.decode()
    assert "一時停止" in page and "Suspended" in page
    assert b"Suspended" in api.get(f"/v1/labels/{label_no}/badge.svg").body
    api.put(f"/v1/performers/{performer.member_id}/intent", INTENT, token=performer.token)
    assert label_status(registry, label_no, "valid")["status"] == "valid"
    api.post(f"/v1/contracts/{contract_id}/revoke", {"reason": "解除"}, token=business.token)
    assert label_status(registry, label_no, "suspended")["status"] == "suspended"
    revoked = api.post(
        f"/v1/labels/{label_no}/revoke", {"reason": "虚偽申告"}, token=registry.operator
    )
    assert revoked.json["status"] == "revoked"
    contract_again = api.post(
        "/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token
    ).json["contract_id"]
    api.post(f"/v1/contracts/{contract_again}/confirm", token=holder.token)
    time.sleep(2)
    assert api.get(f"/v1/labels/{label_no}").json["status"] == "revoked"
    statuses = [
        e["summary"]["status"]
        for e in api.get("/v1/log?limit=200").json["entries"]
        if e["subject"] == f"label:{label_no}"
    ]
    assert statuses == ["valid", "suspended", "valid", "suspended", "revoked"]


def test_trace_and_dataset_audit_with_the_cli(
    registry: Registry, stack: Stack, recordings: dict[str, Path], tmp_path: Path
) -> None:
    api = registry.api
    holder = registry.member("rights_holder")
    business = registry.member("business")
    performer = registry.member("performer")
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {"uses": {"tts": "deny"}},
        token=performer.token,
    )
    uploaded = ailas(
        stack,
        holder.token,
        "--json",
        "upload",
        str(recordings["other"]),
        "--title",
        "台詞",
        "--performer-id",
        performer.member_id,
    )
    voice_no = json.loads(uploaded.stdout)["voice_no"]

    # a 6 s excerpt, noisier, at another sample rate: found by a fingerprint made locally
    import soundfile as sf

    samples, rate = sf.read(recordings["other"], dtype="float32")
    clip = samples[int(7 * rate) : int(13 * rate)]
    clip = clip + np.random.default_rng(1).standard_normal(len(clip)).astype(np.float32) * 0.02
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    audiofiles.write(dataset / "clip.flac", clip, rate, "FLAC")
    audiofiles.write(dataset / "unrelated.wav", audiofiles.speech(6, seed=4242), 16000, "WAV")
    (dataset / "notes.txt").write_text("not audio")
    (dataset / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    audiofiles.write(dataset / "silent.wav", audiofiles.silence(3), 16000, "WAV")

    traced = ailas(stack, business.token, "--json", "trace", str(dataset / "clip.flac"))
    assert traced.returncode == 0, traced.stderr
    matches = json.loads(traced.stdout)["matches"]
    assert [m["voice_no"] for m in matches] == [voice_no]
    assert abs(matches[0]["voice_start_s"] - matches[0]["query_start_s"] - 7.0) < 0.3
    nothing = ailas(stack, business.token, "--json", "trace", str(dataset / "unrelated.wav"))
    assert json.loads(nothing.stdout)["matches"] == []

    ai_no = api.post(
        "/v1/ai-systems", ai_sheet([voice_no], uses=["tts"]), token=business.token
    ).json["ai_no"]
    out = tmp_path / "report"
    audited = ailas(
        stack,
        business.token,
        "--json",
        "audit",
        str(dataset),
        "--ai",
        ai_no,
        "--out",
        str(out),
        "--workers",
        "2",
    )
    # one voice found and not covered (its performer denies tts), one unreadable file: exit 1
    assert audited.returncode == 1, audited.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert set(by_name) == {"clip.flac", "unrelated.wav", "broken.wav", "silent.wav"}
    clip_row = by_name["clip.flac"]
    assert [v["voice_no"] for v in clip_row["voices"]] == [voice_no]
    assert (clip_row["status"], clip_row["covered"]) == ("not_covered", False)
    found = clip_row["voices"][0]
    name = api.get(f"/v1/members/{performer.member_id}").json["display_name"]
    assert found["performers"] == [name]
    assert abs(found["voice_from_s"] - found["from_s"] - 7.0) < 0.3  # where in the file
    assert any("tts: The performer's intent does not allow" in why for why in found["why"])
    assert by_name["unrelated.wav"]["status"] == "no_match"
    assert (by_name["broken.wav"]["status"], by_name["broken.wav"]["covered"]) == (
        "unreadable",
        False,
    )
    assert (by_name["silent.wav"]["status"], by_name["silent.wav"]["covered"]) == (
        "too_short",
        False,
    )
    assert report["summary"] == {
        "files": 4,
        "covered": 0,
        "not_covered": 1,
        "no_match": 1,
        "unreadable": 1,
        "too_short": 1,
    }
    assert report["registry"]["engine"] == "duckdb"
    csv_rows = out.with_suffix(".csv").read_text().splitlines()
    assert any("broken.wav,unreadable,False" in row for row in csv_rows)
    page = out.with_suffix(".html").read_text()
    assert voice_no in page and "<html lang=ja>" in page
    # read by people: each status in words, the rule's Japanese sentence, what to do next
    assert "利用できない" in page and "登録された声なし" in page and "読めないファイル" in page
    assert "音声合成: " in page and name in page and "契約を申告" in page
    # resumable: a second run fingerprints nothing again, and still says what is wrong
    again = ailas(stack, business.token, "audit", str(dataset), "--ai", ai_no, "--out", str(out))
    assert again.returncode == 1
    assert "1 NOT covered" in again.stdout and "1 unreadable" in again.stdout
    assert "1 too short" in again.stdout
    cache = tmp_path / "report.work" / AUDIT_ALGORITHM  # rows of another algorithm: not reused
    assert len((cache / "files.jsonl").read_text().splitlines()) == 4


def test_trace_upload_through_the_pipeline(
    registry: Registry, stack: Stack, recordings: dict[str, Path]
) -> None:
    holder = registry.member("rights_holder")
    member = registry.member("business")
    uploaded = ailas(
        stack,
        holder.token,
        "--json",
        "upload",
        str(recordings["voice"]),
        "--title",
        "x",
        "--performer-name",
        "誰か",
    )
    voice = json.loads(uploaded.stdout)
    # the same recording may already be registered by the flow test's holder (a conflict)
    expected = {voice["voice_no"], *(voice.get("conflict_with") or [])}
    traced = ailas(stack, member.token, "--json", "trace", "--upload", str(recordings["voice"]))
    assert traced.returncode == 0, traced.stderr
    result = json.loads(traced.stdout)
    assert result["status"] == "done"
    assert expected & {m["voice_no"] for m in result["matches"]}
    other = registry.member("performer")
    assert registry.api.get(f"/v1/traces/{result['trace_id']}", token=other.token).status == 404
