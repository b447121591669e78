"""The hash-chained audit log and the public transparency log: every change is recorded, what is
stored re-hashes equal, and each kind of tampering is found by both the operator's verify-audit
(reading DynamoDB) and an outsider's `ailas log verify` (reading the public API, with a mirror)."""

from __future__ import annotations

import hashlib
import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ailas import log as transparency
from infra.ops import cli
from shared import actions, audit, checkpoints, store
from shared.formats import canonical, jws
from shared.labels import keys
from tests.http import Api
from tests.scenario import Registry, ai_sheet, contract_filing

API = "http://registry.test"


class Source:
    """`ailas log verify`'s view of the API, served by the in-process app."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def get(self, path: str) -> Any:
        reply = self.api.get(path)
        assert reply.status == 200, reply
        return reply.json


def _activity(registry: Registry) -> None:
    performer = registry.member("performer")
    registry.member("business")
    registry.api.post(
        f"/v1/members/{performer.member_id}/suspend", {"reason": "調査"}, token=registry.operator
    )


def _public_activity(registry: Registry, performers: int = 4) -> None:
    """Public entries: each approval, and an intent each (with nulls and Japanese text)."""
    for _ in range(performers):
        performer = registry.member("performer")
        reply = registry.api.put(
            f"/v1/performers/{performer.member_id}/intent",
            {"uses": {"tts": "allow"}, "note": "事務所経由で", "valid_until": None},
            token=performer.token,
        )
        assert reply.status == 200, reply


def verify_audit(*args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(cli, ["verify-audit", *args])
    return outcome.exit_code, outcome.output


def ailas_log(api: Api, mirror: Path) -> transparency.Report:
    return transparency.verify(Source(api), mirror, API)


def reasons(report: transparency.Report) -> set[tuple[int | None, str]]:
    return {(p.seq, p.reason) for p in report.problems}


def stored(chain: str) -> list[dict[str, Any]]:
    return audit.entries(chain, limit=1000)


def put_entry(entry: dict[str, Any]) -> None:
    store.audit_table().put_item(Item=store.to_dynamo(entry))


# --- recording ------------------------------------------------------------------------------


def test_every_change_is_in_the_audit_log_with_a_chain(registry: Registry) -> None:
    _activity(registry)
    page = registry.api.get("/v1/audit?limit=200", token=registry.operator).json["entries"]
    actions = [e["action"] for e in reversed(page)]
    assert actions == [
        "operator.created",
        "member.applied",
        "member.approved",
        "member.applied",
        "member.approved",
        "member.suspended",
    ]
    ordered = list(reversed(page))
    for previous, entry in itertools.pairwise(ordered):
        assert entry["prev_hash"] == previous["hash"]
    assert not audit.walk(audit.AUDIT).problems and not audit.walk(audit.PUBLIC).problems


def test_audit_filters_by_entity(registry: Registry) -> None:
    performer = registry.member("performer")
    registry.member("business")
    entity = f"member:{performer.member_id}"
    reply = registry.api.get(f"/v1/audit?entity={entity}", token=registry.operator)
    assert reply.status == 200, reply
    entries = reply.json
    assert {e["entity"] for e in entries["entries"]} == {entity}
    assert [e["action"] for e in entries["entries"]] == ["member.applied", "member.approved"]
    # an entity is kind:id: a bare number or a malformed one is the caller's mistake, said so
    for wrong in (performer.member_id, "member:", "member:M-1 OR 1=1", "x" * 120 + ":1"):
        path = "/v1/audit?" + urlencode({"entity": wrong})
        reply = registry.api.get(path, token=registry.operator)
        assert 400 <= reply.status < 500 and "entity" in reply.json["message"], reply


def test_public_log_is_chained_and_paginated(registry: Registry) -> None:
    for _ in range(3):
        registry.member("performer")
    api = registry.api
    first = api.get("/v1/log?limit=2").json
    assert len(first["entries"]) == 2 and first["next"] == "2"
    rest = api.get(f"/v1/log?after={first['next']}&limit=2").json
    assert [e["seq"] for e in rest["entries"]] == [3]
    assert rest["entries"][0]["prev_hash"] == first["entries"][1]["hash"]
    assert first["head"] == {"seq": 3, "hash": rest["entries"][0]["hash"]}
    assert all("email" not in str(e) for e in first["entries"] + rest["entries"])


def test_an_outsider_recomputes_every_public_hash_from_the_readme_rule(registry: Registry) -> None:
    """Written from the README alone, with the standard library: no project code."""
    _public_activity(registry, performers=2)
    entries = registry.api.get("/v1/log?limit=200").json["entries"]
    assert entries and all(e["actor"] for e in entries)
    previous = "0" * 64
    for entry in entries:
        fields = ("seq", "prev_hash", "at", "actor", "action", "subject", "summary")
        hashed = {"chain": "public", **{k: entry[k] for k in fields}}
        text = json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(text.encode("utf-8")).hexdigest() == entry["hash"]
        assert entry["prev_hash"] == previous
        previous = entry["hash"]


# --- the canonical form: what is stored re-hashes equal ----------------------------------------

# Every action the domain audits: the one list (shared/actions.py), which audit.commit enforces.
ACTIONS = sorted(actions.CATALOG)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e100, max_value=1e100).filter(
        lambda x: x == 0 or abs(x) > 1e-100
    )
    | st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-1e9, max_value=1e9)
    | st.text(max_size=12)
    | st.sampled_from(["", "山田 花子", "ヤマダ ハナコ", "事務所経由でご相談ください", "𠮷野家"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
# DynamoDB keeps no empty member names (moto fails to read them back)
event_data = st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=6)
texts = st.text(max_size=12) | st.sampled_from(["", "山田 花子", "事務所経由でご相談ください"])
BY_TYPE: dict[Any, Any] = {
    str: texts,
    int: st.integers(min_value=-(2**40), max_value=2**40),
    bool: st.booleans(),
    list[str]: st.lists(texts, max_size=3),
    dict[str, Any]: event_data,
}


def data_for(action: str) -> Any:
    """Data as the action declares it: every required field, each optional one absent, null or
    a value — free-form members (an intent's old and new decisions) carry anything JSON holds."""
    required, optional = {}, {}
    for name, field in actions.model_for(action).model_fields.items():
        kind = field.annotation
        inner = next((a for a in getattr(kind, "__args__", ()) if a is not type(None)), kind)
        strategy = BY_TYPE[kind] if kind in BY_TYPE else BY_TYPE.get(inner, texts)
        if field.is_required():
            required[field.alias or name] = strategy
        else:  # null only where the declaration allows it
            nullable = type(None) in getattr(kind, "__args__", ())
            optional[field.alias or name] = (st.none() | strategy) if nullable else strategy
    return st.fixed_dictionaries(required, optional=optional)


action_and_data = st.sampled_from(ACTIONS).flatmap(
    lambda action: st.tuples(st.just(action), data_for(action))
)


def test_every_audited_action_is_covered() -> None:
    assert {"intent.changed", "label.issued", "voice.registered", "contract.filed"} <= set(ACTIONS)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(action_data=action_and_data, public=st.none() | event_data)
def test_what_is_stored_and_read_back_rehashes_equal(
    aws: dict[str, str], action_data: tuple[str, dict[str, Any]], public: dict[str, Any] | None
) -> None:
    action, data = action_data
    state = {"pk": "X", "sk": "Y", "data": data}
    written = audit.commit(
        None, audit.Event("M-TEST", action, "test:1", state, data=data, public=public)
    )
    read_back = audit.latest(audit.AUDIT)
    assert read_back == written
    assert audit.entry_hash(read_back) == read_back["hash"]
    assert read_back["digest"] == audit.digest(store.from_dynamo(store.to_dynamo(state)))
    if public is not None:
        head = audit.latest(audit.PUBLIC)
        assert head is not None and canonical.entry_hash(head) == head["hash"]


def test_the_whole_chain_verifies_after_nulls_floats_and_decimals(registry: Registry) -> None:
    """The issue's report: nulls and integral floats made a clean chain look broken."""
    event = audit.Event(
        "M-TEST",
        "intent.changed",
        "performer:M-1",
        {"duration_s": 30.0, "gain": Decimal("0.5"), "note": None, "tags": [None, "", 1.25]},
        data={
            "performer_id": "M-1",
            "version": 1,
            "author_role": "performer",
            "old": None,
            "new": {"duration_s": 30.0, "error": None, "nested": [{"a": None, "b": []}]},
        },
        public={"status": "registered", "reason": None},
    )
    audit.commit(None, event)
    _public_activity(registry, performers=1)
    code, output = verify_audit()
    assert code == 0, output
    assert "audit chain intact" in output and "public chain intact" in output


# --- checkpoints --------------------------------------------------------------------------------


def test_checkpoints_are_signed_published_and_paginated(registry: Registry) -> None:
    api = registry.api
    assert api.get("/v1/log/checkpoints").json == {
        "chain": "public",
        "latest": None,
        "checkpoints": [],
        "next": None,
    }
    sizes = []
    for _ in range(3):
        registry.member("performer")
        signed = checkpoints.create_all()
        assert {c["chain"] for c in signed} == {"public", "audit"}
        sizes.append(next(c["size"] for c in signed if c["chain"] == "public"))
    assert checkpoints.create_all() == []  # nothing moved: nothing to sign
    jwks = api.get("/.well-known/jwks.json").json
    first = api.get("/v1/log/checkpoints?limit=2").json
    assert [c["size"] for c in first["checkpoints"]] == sizes[:0:-1]
    assert first["latest"] == first["checkpoints"][0] and first["next"] == str(sizes[1])
    older = api.get(f"/v1/log/checkpoints?limit=2&before={first['next']}").json
    assert [c["size"] for c in older["checkpoints"]] == [sizes[0]] and older["next"] is None
    assert older["latest"] == first["latest"]
    head = api.get("/v1/log").json["head"]
    latest = first["latest"]
    claims = jws.verify(latest["jws"], jwks, check_expiry=False, typ=jws.CHECKPOINT_TYP)
    assert claims["size"] == head["seq"] == latest["size"]
    assert claims["head_hash"] == head["hash"] == latest["head_hash"]
    assert claims["chain"] == "public" and claims["at"] == latest["at"]
    audit_cps = api.get("/v1/log/checkpoints?chain=audit").json
    assert audit_cps["latest"]["size"] == audit.latest(audit.AUDIT)["seq"]
    bad = api.get("/v1/log/checkpoints?chain=private")
    assert bad.status == 400 and bad.json["code"] == "invalid_chain"
    # signed with the label key, but typed: a checkpoint never passes for a label
    with pytest.raises(jws.TokenError) as refused:
        jws.verify(latest["jws"], jwks, check_expiry=False)
    assert refused.value.reason == "wrong_type"
    as_label = api.post("/v1/labels/verify", {"token": latest["jws"]})
    assert as_label.status == 200 and as_label.json["signature_valid"] is False


def test_a_burst_of_public_entries_is_checkpointed_by_the_event_stream(
    registry: Registry, deliver_events, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoints, "BURST", 4)
    registry.member("performer")
    deliver_events()
    assert checkpoints.latest(audit.PUBLIC) is None  # 1 public entry: no burst yet
    _public_activity(registry, performers=2)  # 4 more
    deliver_events()
    latest = checkpoints.latest(audit.PUBLIC)
    assert latest is not None and latest["size"] >= 4


def test_the_hourly_job_signs_the_heads(registry: Registry, app) -> None:
    from infra.local_worker import LambdaContext, scheduled_event

    registry.member("performer")
    app.handler_map["end_contracts"](scheduled_event(), LambdaContext("end_contracts"))
    assert checkpoints.latest(audit.PUBLIC)["size"] == audit.latest(audit.PUBLIC)["seq"]
    assert checkpoints.latest(audit.AUDIT)["size"] == audit.latest(audit.AUDIT)["seq"]


# --- a full walk verifies; ailas log verify mirrors and continues ------------------------------


def test_after_a_full_walk_both_chains_verify_and_the_mirror_continues(
    registry: Registry, registered_voice, deliver_events, tmp_path: Path
) -> None:
    api = registry.api
    performer = registry.member("performer")
    holder, business = registry.member("rights_holder"), registry.member("business")
    intent = {"uses": {"tts": "contract", "fine_tuning": "contract"}, "commercial": "contract"}
    api.put(f"/v1/performers/{performer.member_id}/intent", intent, token=performer.token)
    voice_no = registered_voice(holder, [performer.member_id])
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    contract = api.post("/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token)
    api.post(f"/v1/contracts/{contract.json['contract_id']}/confirm", token=holder.token)
    label = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token)
    assert label.status == 201, label
    trace = api.post(
        "/v1/traces",
        {"file": {"filename": "q.wav", "size_bytes": 1000, "content_type": "audio/wav"}},
        token=business.token,
    )
    assert trace.status == 201, trace
    api.put(  # the intent withdrawn: the label is suspended through the event stream
        f"/v1/performers/{performer.member_id}/intent",
        {**intent, "uses": {"tts": "deny"}},
        token=performer.token,
    )
    deliver_events()
    assert api.get(f"/v1/labels/{label.json['label_no']}").json["status"] == "suspended"
    checkpoints.create_all()
    actions = {e["action"] for e in stored(audit.AUDIT)}
    assert {"intent.changed", "voice.registered", "contract.filed", "label.issued"} <= actions
    assert "trace.created" in actions

    code, output = verify_audit()
    assert code == 0, output
    mirror = tmp_path / "mirror.jsonl"
    first = ailas_log(api, mirror)
    assert first.ok, first.problems
    assert first.size == audit.latest(audit.PUBLIC)["seq"] == first.new_entries
    assert first.checkpoints == 1

    registry.member("business")  # later: only what is new is fetched and verified
    checkpoints.create_all()
    again = ailas_log(api, mirror)
    assert again.ok, again.problems
    assert again.new_entries == 1 and again.held == first.size and again.checkpoints == 2
    lines = mirror.read_text().splitlines()
    assert len(lines) == 1 + again.size + again.checkpoints


# --- tampering: each case is found by verify-audit and by ailas log verify ----------------------


@pytest.fixture
def signed_log(registry: Registry) -> list[dict[str, Any]]:
    """Public activity, then a signed checkpoint of both chains; the public entries as stored."""
    _public_activity(registry, performers=3)
    checkpoints.create_all()
    return stored(audit.PUBLIC)


def test_one_edited_field_is_found(registry: Registry, signed_log, tmp_path: Path) -> None:
    store.audit_table().update_item(
        Key={"pk": "public", "sk": f"{2:012d}"},
        UpdateExpression="SET actor = :a",
        ExpressionAttributeValues={":a": "M-EVIL-EVIL-0"},
    )
    code, output = verify_audit()
    assert code == 1
    assert "public entry 2: content changed" in output and "audit chain intact" in output
    assert (2, "content_changed") in reasons(ailas_log(registry.api, tmp_path / "m.jsonl"))


def test_an_edit_with_every_later_hash_recomputed_is_found_against_the_checkpoint(
    registry: Registry, signed_log, tmp_path: Path
) -> None:
    previous = signed_log[0]["hash"]
    for entry in signed_log[1:]:
        forged = {**entry, "prev_hash": previous}
        if entry["seq"] == 2:
            forged["actor"] = "M-EVIL-EVIL-0"
        forged["hash"] = audit.entry_hash(forged)
        put_entry(forged)
        previous = forged["hash"]
    size = signed_log[-1]["seq"]
    assert not audit.walk(audit.PUBLIC).problems  # the chain alone looks intact
    code, output = verify_audit("--chain", "public")
    assert code == 1 and f"public entry {size}: rewritten" in output
    assert reasons(ailas_log(registry.api, tmp_path / "m.jsonl")) == {(size, "rewritten")}


def test_a_deleted_tail_is_found_against_the_checkpoint(
    registry: Registry, signed_log, tmp_path: Path
) -> None:
    size = signed_log[-1]["seq"]
    for seq in (size, size - 1):
        store.audit_table().delete_item(Key={"pk": "public", "sk": f"{seq:012d}"})
    code, output = verify_audit()
    assert code == 1 and f"public entry {size - 1}: truncated" in output
    assert (size - 1, "truncated") in reasons(ailas_log(registry.api, tmp_path / "m.jsonl"))


def test_an_inserted_entry_is_found(registry: Registry, signed_log, tmp_path: Path) -> None:
    """A forged entry 3, correctly linked to entry 2; the later entries renumbered."""
    for entry in reversed(signed_log[2:]):
        put_entry({**entry, "sk": f"{entry['seq'] + 1:012d}", "seq": entry["seq"] + 1})
    forged = {
        **signed_log[2],
        "actor": "M-EVIL-EVIL-0",
        "summary": {"status": "active", "display_name": "偽物"},
        "prev_hash": signed_log[1]["hash"],
    }
    forged["hash"] = audit.entry_hash(forged)
    put_entry(forged)
    code, output = verify_audit()
    assert code == 1 and "public entry 3: inserted" in output
    found = reasons(ailas_log(registry.api, tmp_path / "m.jsonl"))
    assert (3, "inserted") in found and (4, "content_changed") in found


def test_a_forged_checkpoint_is_found(registry: Registry, signed_log, tmp_path: Path) -> None:
    """Someone with write access signs a longer history with a key of their own, under the
    registry's key id."""
    signer = keys.LocalSigner()
    signer.kid = jws.header(checkpoints.latest(audit.PUBLIC)["jws"])["kid"]
    at = "2030-01-01T00:00:00.000000Z"
    claims = {"kind": "ailas-log-checkpoint", "chain": "public", "size": 99,
              "head_hash": "f" * 64, "at": at, "iat": 1}  # fmt: skip
    forged = {"pk": "checkpoint#public", "sk": f"{99:012d}", "chain": "public", "size": 99,
              "head_hash": "f" * 64, "at": at, "kid": signer.kid,
              "jws": jws.sign(claims, signer, jws.CHECKPOINT_TYP)}  # fmt: skip
    put_entry(forged)
    code, output = verify_audit()
    assert code == 1 and "bad checkpoint" in output and "(bad_signature)" in output
    report = ailas_log(registry.api, tmp_path / "m.jsonl")
    assert (None, "bad_checkpoint") in reasons(report)
    assert not (tmp_path / "m.jsonl").exists()  # nothing trusted


def test_verify_audit_takes_the_keys_from_kms_not_from_the_tables(
    registry: Registry, signed_log
) -> None:
    """A forger who can write the tables swaps the stored JWKS for their own key too."""
    signer = keys.LocalSigner()
    store.registry().put_item(
        Item={"pk": "KEYS#LABEL", "sk": "JWKS", "jwks": {"keys": [signer.jwk]}}
    )
    at = "2030-01-01T00:00:00.000000Z"
    claims = {"kind": "ailas-log-checkpoint", "chain": "public", "size": 99,
              "head_hash": "f" * 64, "at": at, "iat": 1}  # fmt: skip
    put_entry({"pk": "checkpoint#public", "sk": f"{99:012d}", "chain": "public", "size": 99,
               "head_hash": "f" * 64, "at": at, "kid": signer.kid,
               "jws": jws.sign(claims, signer, jws.CHECKPOINT_TYP)})  # fmt: skip
    code, output = verify_audit()
    assert code == 1 and "bad checkpoint" in output and "(unknown_kid)" in output


def test_a_rewritten_history_is_found_against_the_mirror_alone(
    registry: Registry, tmp_path: Path
) -> None:
    """No checkpoint covers the edit: the mirror taken earlier does, and is not overwritten."""
    _public_activity(registry, performers=2)
    mirror = tmp_path / "m.jsonl"
    assert ailas_log(registry.api, mirror).ok
    kept = mirror.read_text()
    entries = stored(audit.PUBLIC)
    previous = entries[0]["hash"]
    for entry in entries[1:]:
        forged = {**entry, "prev_hash": previous, "at": entry["at"].replace("Z", "1Z")}
        forged["hash"] = audit.entry_hash(forged)
        put_entry(forged)
        previous = forged["hash"]
    registry.member("performer")
    report = ailas_log(registry.api, mirror)
    assert (entries[-1]["seq"], "rewritten") in reasons(report)
    assert mirror.read_text() == kept


def test_every_problem_is_listed_not_only_the_first(registry: Registry, tmp_path: Path) -> None:
    _activity(registry)
    _public_activity(registry, performers=2)
    store.audit_table().update_item(
        Key={"pk": "audit", "sk": f"{2:012d}"},
        UpdateExpression="SET #d.#k = :v",
        ExpressionAttributeNames={"#d": "data", "#k": "kind"},
        ExpressionAttributeValues={":v": "operator"},
    )
    store.audit_table().delete_item(Key={"pk": "audit", "sk": f"{4:012d}"})
    store.audit_table().delete_item(Key={"pk": "public", "sk": f"{3:012d}"})
    code, output = verify_audit()
    assert code == 1
    assert "audit entry 2: content changed" in output
    assert "audit entry 5: missing — entry 4 is missing before it" in output
    assert "public entry 4: missing" in output
    assert (4, "missing") in reasons(ailas_log(registry.api, tmp_path / "m.jsonl"))


def test_verify_audit_without_tampering_names_both_chains(registry: Registry) -> None:
    _activity(registry)
    checkpoints.create_all()
    code, output = verify_audit()
    assert code == 0, output
    assert "audit chain intact: 6 entries verified, 1 checkpoints" in output


def test_a_burst_of_writers_all_land_on_the_chain(aws: dict[str, str]) -> None:
    """Every write races for the chain's next entry: 24 performers' intent writes at once over
    HTTP lost 3 to `409 busy` (a consent withdrawal among them); 64 writers in-process lose
    some with the old linear 5–30 ms step. With jittered exponential backoff each lands, once,
    and the chain verifies."""
    from concurrent.futures import ThreadPoolExecutor

    def write(n: int) -> int:
        decided = {"from": "pending", "to": "active", "kind": "performer"}
        event = audit.Event("M-BURST", "member.approved", f"member:M-{n}", {"n": n}, data=decided)
        return int(audit.commit(None, event)["seq"])

    with ThreadPoolExecutor(64) as pool:
        seqs = list(pool.map(write, range(128)))
    assert sorted(seqs) == list(range(min(seqs), min(seqs) + 128))  # each once, no gap
    assert not audit.walk(audit.AUDIT).problems
