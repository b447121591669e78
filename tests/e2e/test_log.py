"""The audit and transparency logs on the real local stack: after the README's walk (members,
intents, voices, AI systems, contracts, labels, traces) `python -m infra.ops verify-audit` finds
the stack by itself and reports both chains intact, `ailas log verify` mirrors the public log and
exits 0; an edited entry is then reported by both, and the chain verifies again once restored."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3

from tests import audiofiles
from tests.e2e.conftest import Stack, ops
from tests.e2e.test_flow import INTENT, ailas, label_status
from tests.scenario import Registry, ai_sheet, contract_filing


def test_without_a_running_stack_ops_says_so(tmp_path: Path) -> None:
    outcome = ops(tmp_path / "no-stack.json", "verify-audit")
    assert outcome.returncode != 0
    assert "No local stack is running" in outcome.stderr and "make run" in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_after_the_walk_both_tools_verify_and_both_find_an_edit(
    registry: Registry, stack: Stack, tmp_path: Path
) -> None:
    api = registry.api
    performer = registry.member("performer", display_name="検証 花子")
    holder, business = registry.member("rights_holder"), registry.member("business")
    reply = api.put(f"/v1/performers/{performer.member_id}/intent", INTENT, token=performer.token)
    assert reply.status == 200, reply
    recording = audiofiles.write(
        tmp_path / "voice.wav", audiofiles.speech(6, seed=9141), 16000, "WAV", "PCM_16"
    )
    uploaded = ailas(
        stack, holder.token, "--json", "upload", str(recording), "--title", "検証",
        "--performer-id", performer.member_id,
    )  # fmt: skip
    assert uploaded.returncode == 0, uploaded.stderr
    voice_no = json.loads(uploaded.stdout)["voice_no"]
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    contract = api.post("/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token)
    api.post(f"/v1/contracts/{contract.json['contract_id']}/confirm", token=holder.token)
    label = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert label.status == 201, label
    trace = api.post(  # a trace is audited when created (its pipeline is test_flow's)
        "/v1/traces",
        {"file": {"filename": "q.wav", "size_bytes": 96044, "content_type": "audio/wav"}},
        token=business.token,
    )
    assert trace.status == 201, trace
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {**INTENT, "uses": {**INTENT["uses"], "tts": "deny"}},
        token=performer.token,
    )
    assert label_status(registry, label.json["label_no"], "suspended")["status"] == "suspended"

    stack_file = stack.log.parent / "stack.json"
    assert oct(stack_file.stat().st_mode & 0o777) == "0o600"
    signed = ops(stack_file, "checkpoint")
    assert signed.returncode == 0, signed.stderr
    verified = ops(stack_file, "verify-audit")
    assert verified.returncode == 0, verified.stderr + verified.stdout
    assert "audit chain intact" in verified.stdout and "public chain intact" in verified.stdout
    mirror = tmp_path / "log.jsonl"
    first = ailas(stack, None, "log", "verify", "--api", stack.base_url, "--mirror", str(mirror))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "public log consistent" in first.stdout
    again = ailas(stack, None, "--json", "log", "verify", "--mirror", str(mirror))
    assert again.returncode == 0 and json.loads(again.stdout)["ok"]

    table = boto3.resource(
        "dynamodb",
        endpoint_url=stack.aws_url,
        region_name="ap-northeast-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).Table("ailas-local-audit")
    key = {"pk": "public", "sk": f"{2:012d}"}
    original = table.get_item(Key=key)["Item"]
    table.put_item(Item={**original, "actor": "M-EVIL-EVIL-0"})
    try:
        broken = ops(stack_file, "verify-audit")
        assert broken.returncode == 1
        assert "public entry 2: content changed" in broken.stderr
        found = ailas(
            stack, None, "log", "verify", "--api", stack.base_url,
            "--mirror", str(tmp_path / "fresh.jsonl"),
        )  # fmt: skip
        assert found.returncode == 1 and "entry 2: content changed" in found.stdout
    finally:
        table.put_item(Item=original)
    assert ops(stack_file, "verify-audit").returncode == 0

    # the operator rotates the label key on the local stack (it once failed half-way there)
    rotated = ops(stack_file, "rotate-label-key", "--lead-s", "1")
    assert rotated.returncode == 0, rotated.stderr + rotated.stdout
    assert re.search(r"JWKS publishes [2-9] keys", rotated.stdout), rotated.stdout
    old = api.post("/v1/labels/verify", {"token": label.json["token"]}).json
    assert old["signature_valid"], old  # signed by the old key, still published
    assert ops(stack_file, "checkpoint").returncode == 0  # signed by the new key
    assert ops(stack_file, "verify-audit").returncode == 0
