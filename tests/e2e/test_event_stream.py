"""Labels follow consent on a stack left running as `make run` runs it: after a few voices and
a hundred-odd audit entries the stream still delivers each event once (at most twice), and every
label follows (how fast: bench/label_follow_latency.py), with no error in the worker's log; and
one event that a subscriber cannot handle is set aside — the others still arrive — and an
operator sees it and redrives it."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import audiofiles
from tests.e2e.conftest import Stack, ops, start_stack, stop_stack
from tests.e2e.failing_subscriber import BROKEN_NAME
from tests.e2e.test_voices import register, wait
from tests.http import http_api
from tests.scenario import Registry, ai_sheet, contract_filing

INTENT = {
    "uses": {"tts": "contract", "fine_tuning": "contract", "training": "deny"},
    "commercial": "contract",
}
WITHDRAWN = {**INTENT, "uses": {**INTENT["uses"], "tts": "deny"}}


@pytest.fixture
def quiet_stack(tmp_path: Path) -> Iterator[Stack]:
    stack = start_stack(tmp_path)
    yield stack
    stop_stack(stack)


@pytest.fixture
def flawed_stack(tmp_path: Path) -> Iterator[Stack]:
    stack = start_stack(tmp_path, AILAS_LOCAL_PLUGINS="tests.e2e.failing_subscriber")
    yield stack
    stop_stack(stack)


def caught_up(registry: Registry, timeout_s: float = 30) -> dict:
    """Wait until the stream has delivered every audit entry; the health's event view."""
    deadline = time.monotonic() + timeout_s
    while True:
        head = registry.api.get("/v1/audit?limit=1", token=registry.operator).json["entries"]
        health = registry.api.get("/v1/health").json["events"]
        if head and health["last_delivered_seq"] == head[0]["seq"]:
            return health
        assert time.monotonic() < deadline, (head, health)
        time.sleep(0.1)


def seconds_until(registry: Registry, label_no: str, status: str, limit_s: float = 30) -> float:
    """Seconds until the label reads ``status``; ``limit_s`` only guards against a hang (the
    latency itself is measured by bench/label_follow_latency.py, not asserted here)."""
    started = time.monotonic()
    while registry.api.get(f"/v1/labels/{label_no}").json["status"] != status:
        assert time.monotonic() - started < limit_s, f"{label_no} never became {status}"
        time.sleep(0.05)
    return time.monotonic() - started


def apply(registry: Registry, business, holder, voices: list[str]) -> tuple[str, str]:
    """An AI system on ``voices``, a confirmed contract, an issued label: (label_no, contract)."""
    api = registry.api
    ai_no = api.post("/v1/ai-systems", ai_sheet(voices), token=business.token).json["ai_no"]
    filing = contract_filing(ai_no, voices)
    contract = api.post("/v1/contracts", filing, token=business.token).json["contract_id"]
    api.post(f"/v1/contracts/{contract}/confirm", token=holder.token)
    issued = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert issued.status == 201, issued
    return issued.json["label_no"], contract


def issue_label(registry: Registry, seed: int = 7000):
    """One performer with an intent, one registered voice, one issued label (the bench's unit)."""
    performer = registry.member("performer")
    holder = registry.member("rights_holder")
    business = registry.member("business")
    registry.api.put(f"/v1/performers/{performer.member_id}/intent", INTENT, token=performer.token)
    audio = audiofiles.wav_bytes(audiofiles.speech(6, seed=seed), 16000)
    voice_no = register(registry, holder, audio, performer_ids=[performer.member_id])["voice_no"]
    voice = wait(registry, voice_no, holder.token)
    assert voice["status"] == "registered", voice
    return performer, apply(registry, business, holder, [voice_no])[0]


def test_labels_follow_consent_and_each_event_arrives_once(quiet_stack: Stack) -> None:
    registry = Registry(http_api(quiet_stack.base_url), quiet_stack.operator_token)
    api = registry.api
    performer = registry.member("performer")
    holder = registry.member("rights_holder")
    business = registry.member("business")
    api.put(f"/v1/performers/{performer.member_id}/intent", INTENT, token=performer.token)
    voices = []
    for seed in range(4):
        audio = audiofiles.wav_bytes(audiofiles.speech(6, seed=7100 + seed), 16000)
        created = register(registry, holder, audio, performer_ids=[performer.member_id])
        voices.append(created["voice_no"])
    for voice_no in voices:
        assert wait(registry, voice_no, holder.token)["status"] == "registered"
    for n in range(18):  # other performers who change their minds: the audit log grows
        other = registry.member("performer")
        for tts in ("allow", "contract", "deny"):
            body = {**INTENT, "uses": {**INTENT["uses"], "tts": tts}, "note": f"v{n}"}
            api.put(f"/v1/performers/{other.member_id}/intent", body, token=other.token)
    label_no, contract = apply(registry, business, holder, voices)
    caught_up(registry)
    head = api.get("/v1/audit?limit=1", token=registry.operator).json["entries"][0]["seq"]
    assert head > 100

    intent = f"/v1/performers/{performer.member_id}/intent"
    api.put(intent, WITHDRAWN, token=performer.token)
    seconds_until(registry, label_no, "suspended")
    api.put(intent, INTENT, token=performer.token)
    seconds_until(registry, label_no, "valid")
    api.post(f"/v1/contracts/{contract}/revoke", {"reason": "終了"}, token=holder.token)
    seconds_until(registry, label_no, "suspended")
    reasons = {r["reason"] for r in api.get(f"/v1/labels/{label_no}").json["reasons"]}
    assert "contract_revoked" in reasons

    time.sleep(3)  # the worker keeps polling: nothing may come round again
    health = caught_up(registry)
    assert health["set_aside"] == 0
    log = quiet_stack.log.read_text("utf-8")
    assert '"level":"ERROR"' not in log and "Traceback" not in log
    delivered = Counter(
        int(m) for m in re.findall(r'"message":"domain event delivered".*?"seq":(\d+)', log)
    )
    assert len(delivered) >= head
    assert max(delivered.values()) <= 2, delivered.most_common(3)
    transitions = api.get(f"/v1/audit?entity=label:{label_no}", token=registry.operator).json
    assert [e["action"] for e in transitions["entries"]] == [
        "label.issued",
        "label.suspended",
        "label.restored",
        "label.suspended",
    ]


def test_an_event_that_keeps_failing_is_set_aside_and_redriven(flawed_stack: Stack) -> None:
    registry = Registry(http_api(flawed_stack.base_url), flawed_stack.operator_token)
    api = registry.api
    registry.member("performer")
    broken = registry.apply("performer", display_name=BROKEN_NAME)
    after = registry.member("business")
    health = caught_up(registry)  # the events after the broken one still arrived
    deadline = time.monotonic() + 20
    while (health := api.get("/v1/health").json["events"])["set_aside"] != 1:
        assert time.monotonic() < deadline, health
        time.sleep(0.2)
    assert api.get(f"/v1/members/{after.member_id}").status == 200

    shown = ops(flawed_stack.log.parent / "stack.json", "events", "show")
    assert shown.returncode == 1, shown.stdout + shown.stderr
    applied = [
        e["seq"]
        for e in api.get(f"/v1/audit?entity=member:{broken}", token=registry.operator).json[
            "entries"
        ]
        if e["action"] == "member.applied"
    ]
    assert f"#{applied[0]} member.applied member:{broken}" in shown.stdout, shown.stdout

    # the operator's process has the fixed code (no faulty plugin): the redrive goes through
    redriven = ops(flawed_stack.log.parent / "stack.json", "events", "redrive")
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    assert "1 of 1 set-aside batches redriven" in redriven.stdout
    clear = ops(flawed_stack.log.parent / "stack.json", "events", "show")
    assert clear.returncode == 0, clear.stdout + clear.stderr
    assert "ingest dead-letter queue: 0 waiting" in clear.stdout  # counted, not "?"
    assert api.get("/v1/health").json["events"]["set_aside"] == 0
    log = flawed_stack.log.read_text("utf-8")
    errors = [json.loads(line) for line in log.splitlines() if '"level":"ERROR"' in line]
    assert {e["message"] for e in errors} == {
        "subscriber failed",
        "domain events set aside in the failure queue",
    }


def test_concurrent_applications_give_one_label(registry: Registry) -> None:
    """12 businesses' worth of clicks on "apply" at once: one label, the rest told so."""
    from concurrent.futures import ThreadPoolExecutor

    api = registry.api
    performer = registry.member("performer")
    holder = registry.member("rights_holder")
    business = registry.member("business")
    api.put(
        f"/v1/performers/{performer.member_id}/intent",
        {"uses": {"research": "allow"}, "commercial": "allow"},
        token=performer.token,
    )
    audio = audiofiles.wav_bytes(audiofiles.speech(6, seed=7300), 16000)
    voice_no = register(registry, holder, audio, performer_ids=[performer.member_id])["voice_no"]
    assert wait(registry, voice_no, holder.token)["status"] == "registered"
    sheet = ai_sheet([voice_no], uses=["research"], commercial=False)
    ai_no = api.post("/v1/ai-systems", sheet, token=business.token).json["ai_no"]

    with ThreadPoolExecutor(12) as pool:
        replies = list(
            pool.map(
                lambda _: api.post("/v1/labels", {"ai_no": ai_no}, token=business.token),
                range(12),
            )
        )
    issued = [r for r in replies if r.status == 201]
    assert len(issued) == 1, replies
    assert all(r.status == 409 for r in replies if r.status != 201), replies
    label_no = issued[0].json["label_no"]
    assert {r.json["details"]["label_no"] for r in replies if r.status == 409} <= {label_no}
    assert api.get(f"/v1/ai-systems/{ai_no}").json["label_no"] == label_no
    # revocation is final for that token; a new application gets a new label and token
    revoked = api.post(f"/v1/labels/{label_no}/revoke", {"reason": "試験"}, token=registry.operator)
    assert revoked.json["status"] == "revoked"
    again = api.post(f"/v1/labels/{label_no}/reinstate", {"reason": "x"}, token=registry.operator)
    assert again.status == 409
    renewed = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert renewed.status == 201 and renewed.json["label_no"] != label_no
    old = api.post("/v1/labels/verify", {"token": issued[0].json["token"]}).json
    assert old["label"]["status"] == "revoked"
