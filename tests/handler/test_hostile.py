"""The hostile requests of issue #15, one by one, against the app in-process: each gets a 4xx in
the API's error shape (or, for tokens, a clean ``signature_valid: false``), never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from tests.http import Api, Reply
from tests.scenario import Registry, fair_trade, voice_sheet
from tests.unit.audio.speechlike import speechlike

DEEP = b"[" * 50_000
FORGED_CURSOR = base64.urlsafe_b64encode(b'{"pk":"x"}').decode().rstrip("=")


def error_shaped(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    assert reply.status == status, reply
    body = reply.json
    assert isinstance(body["code"], str) and isinstance(body["message"], str), body
    assert "Code" not in body and "Message" not in body
    if code is not None:
        assert body["code"] == code, body
    return body


# (method, path, raw body, status, code): requests that need no member.
ANONYMOUS = [
    ("POST", "/v1/members", DEEP, 400, "too_deep"),
    ("POST", "/v1/labels/verify", DEEP, 400, "too_deep"),
    ("POST", "/v1/members", b'{"kind": "performer", "x": NaN}', 422, "invalid_number"),
    ("POST", "/v1/members", b'{"kind": "performer", "x": 1e400}', 422, "invalid_number"),
    ("POST", "/v1/members", b"\xff\xfe{}", 400, "invalid_json"),
    ("GET", "/v1/intents?limit=%C2%B2", None, 422, "invalid_query"),  # ?limit=²
    ("GET", "/v1/intents?limit=1_0", None, 422, "invalid_query"),
    ("GET", "/v1/ai-systems?limit=999999999999999999999999", None, 422, "invalid_query"),
    ("GET", "/v1/log?after=%C2%B2", None, 400, "invalid_cursor"),  # /v1/log?after=²
    ("GET", "/v1/log?limit=%D9%A3", None, 400, "invalid_limit"),  # Arabic-Indic three
    ("GET", f"/v1/intents?cursor={FORGED_CURSOR}", None, 400, "invalid_cursor"),
    ("GET", f"/v1/ai-systems?cursor={FORGED_CURSOR}", None, 400, "invalid_cursor"),
    ("GET", "/v1/intents?use=%E2%80%AEtts", None, 400, "invalid_character"),
    (
        "GET",
        "/v1/labels/L-0000-0000-0?at=0001-01-01T00:00:00%2B14:00",
        None,
        400,
        "invalid_time",
    ),
    ("PATCH", "/v1/members", b"{}", 405, "method_not_allowed"),
    ("PATCH", "/v1/health", None, 405, "method_not_allowed"),
]


def test_hostile_anonymous_requests(api: Api) -> None:
    for method, path, raw, status, code in ANONYMOUS:
        reply = api.request(method, path, raw=raw)
        assert reply.status == status, (method, path, reply)
        error_shaped(reply, status, code)


def test_intent_at_far_past_with_offset_is_400(registry: Registry) -> None:
    performer = registry.member("performer")
    path = f"/v1/performers/{performer.member_id}/intent?at=0001-01-01T00:00:00%2B14:00"
    error_shaped(registry.api.get(path), 400, "invalid_time")


def test_health_does_not_show_the_runtime(api: Api) -> None:
    assert "python" not in api.get("/v1/health").json


def test_rights_sheet_numbers_must_be_storable(registry: Registry) -> None:
    holder = registry.member("rights_holder")
    body = voice_sheet()
    body["rights"] = {"holder_role": "agency", "share": "__VALUE__"}
    for value in ("NaN", "Infinity", "-Infinity", "1e400", "1e-200", "1" + "0" * 59):
        raw = json.dumps(body).replace('"__VALUE__"', value).encode()
        reply = registry.api.request("POST", "/v1/voices", raw=raw, token=holder.token)
        assert reply.status == 422, (value, reply)
        error_shaped(reply, 422, "invalid_number")


def test_format_characters_are_refused_in_free_text(registry: Registry) -> None:
    holder = registry.member("rights_holder")
    for char in ("\u202e", "\u2066", "\u200b", "\ufeff", "\u200f"):
        title = voice_sheet(title=f"朗読{char}サンプル")
        rights = voice_sheet(rights={"holder_role": "agency", "note": f"契約{char}書"})
        for body in (title, rights):
            reply = registry.api.post("/v1/voices", body, token=holder.token)
            assert reply.status == 422, (f"U+{ord(char):04X}", reply)
            error_shaped(reply, 422, "invalid_character")
        application = registry.application("performer", display_name=f"花{char}子")
        error_shaped(registry.api.post("/v1/members", application), 422, "invalid_character")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


GARBAGE_TOKENS = [
    _b64(b"\xff\xfe\xfd\xfc") + ".e30.AAAA",  # header: invalid UTF-8
    _b64(b"[" * 12_000) + ".e30.AAAA",  # header: 12,000 '['
    _b64(b'{"alg":"ES256","kid":{"a":1}}') + ".e30.AAAA",
    "not a token at all",
]


def test_garbage_tokens_verify_as_invalid(api: Api) -> None:
    for token in GARBAGE_TOKENS:
        reply = api.post("/v1/labels/verify", {"token": token})
        assert reply.status == 200, (token[:40], reply)
        assert reply.json["signature_valid"] is False
        assert reply.json["error"] in ("malformed", "unknown_kid")
    error_shaped(api.post("/v1/labels/verify", {"token": "a.b.c\u202e"}), 422, "invalid_character")


def test_a_pasted_token_with_a_newline_verifies_and_is_found(
    registry: Registry, registered_voice
) -> None:
    api = registry.api
    _, label_no = fair_trade(registry, registered_voice)
    token = api.get(f"/v1/labels/{label_no}").json["token"]
    for pasted in (token + "\n", "  " + token + "\r\n"):
        verified = api.post("/v1/labels/verify", {"token": pasted}).json
        assert verified["signature_valid"] is True and verified.get("error") is None, verified
        assert verified["label"]["label_no"] == label_no


def test_signed_cursors_page_through_and_forgeries_do_not(registry: Registry) -> None:
    for _ in range(3):
        registry.apply("performer")
    first = registry.api.get("/v1/members?limit=2", token=registry.operator)
    assert first.status == 200 and first.json["next"]
    cursor = first.json["next"]
    second = registry.api.get(f"/v1/members?limit=2&cursor={cursor}", token=registry.operator)
    assert second.status == 200
    seen = {m["member_id"] for m in first.json["members"]}
    assert seen.isdisjoint({m["member_id"] for m in second.json["members"]})
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    error_shaped(
        registry.api.get(f"/v1/members?limit=2&cursor={tampered}", token=registry.operator),
        400,
        "invalid_cursor",
    )
    # a genuine cursor of one list is not a cursor of another (DynamoDB answers a start key
    # outside the query's partition with a ValidationException: a 500 in AWS)
    error_shaped(registry.api.get(f"/v1/ai-systems?cursor={cursor}"), 400, "invalid_cursor")


def test_client_fingerprints_of_real_length_are_accepted(registry: Registry) -> None:
    """`ailas trace` sends the peaks of the whole clip: 30 s and 5 min must fit (they hit the
    2,000-character default string limit before, about 12 s of peaks)."""
    from shared.audio import decode_array
    from shared.audio.fingerprint import ALGORITHM_VERSION

    member = registry.member("business")
    for seconds in (30, 300):
        decoded = decode_array(speechlike(seconds, 16000, seed=seconds).astype(np.float32), 16000)
        body = {
            "algorithm": ALGORITHM_VERSION,
            "frames": base64.b64encode(decoded.peaks.frames.astype("<u4").tobytes()).decode(),
            "hz": base64.b64encode(decoded.peaks.hz.astype("<f4").tobytes()).decode(),
        }
        assert len(body["frames"]) > 2000
        reply = registry.api.post("/v1/traces/fingerprint", body, token=member.token)
        assert reply.status == 200, (seconds, reply)
        assert reply.json["peaks"] == len(decoded.peaks)
        assert isinstance(reply.json["matches"], list)
