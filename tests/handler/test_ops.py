"""Operator commands against moto: key rotation keeps old labels verifiable, the index rebuild
lists voices without retained audio, exports and backups cover every table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from infra.ops import cli
from shared.formats import jws
from tests.scenario import Registry, ai_sheet, contract_filing


def test_rotation_keeps_old_labels_verifiable(registry: Registry, registered_voice) -> None:
    api = registry.api
    holder, business = registry.member("rights_holder"), registry.member("business")

    def label() -> str:
        voice_no = registered_voice(holder)
        ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
        contract = api.post(
            "/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token
        ).json["contract_id"]
        api.post(f"/v1/contracts/{contract}/confirm", token=holder.token)
        return api.post("/v1/labels", {"ai_no": ai_no}, token=business.token).json["token"]

    old_token = label()
    outcome = CliRunner().invoke(cli, ["rotate-label-key", "--lead-s", "0"])
    assert outcome.exit_code == 0, outcome.output
    new_token = label()
    keys = api.get("/.well-known/jwks.json").json
    assert len(keys["keys"]) == 2
    assert jws.header(old_token)["kid"] != jws.header(new_token)["kid"]
    for token in (old_token, new_token):
        assert jws.verify(token, keys)
        assert api.post("/v1/labels/verify", {"token": token}).json["signature_valid"]


def test_a_label_signed_after_a_rotation_verifies_where_the_old_keys_were_cached(
    registry: Registry, registered_voice
) -> None:
    """An API process caches the JWKS for minutes; a label the new key signed meanwhile read
    as forged there (`unknown_kid`) until the cache aged. A key it does not know re-reads."""
    import time

    from shared.labels import keyring

    api = registry.api
    holder, business = registry.member("rights_holder"), registry.member("business")
    voice_no = registered_voice(holder)
    before = keyring.jwks(max_age_s=0)  # what another process cached before the rotation
    assert CliRunner().invoke(cli, ["rotate-label-key", "--lead-s", "0"]).exit_code == 0
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    contract = api.post(
        "/v1/contracts", contract_filing(ai_no, [voice_no]), token=business.token
    ).json["contract_id"]
    api.post(f"/v1/contracts/{contract}/confirm", token=holder.token)
    label = api.post("/v1/labels", {"ai_no": ai_no}, token=business.token).json
    keyring._cache.update(jwks=before, at=time.monotonic())  # that process's view
    verified = api.post("/v1/labels/verify", {"token": label["token"]}).json
    assert verified["signature_valid"], verified


def test_rebuild_lists_voices_without_retained_audio(registry: Registry, registered_voice) -> None:
    voice_no = registered_voice(registry.member("rights_holder"))
    outcome = CliRunner().invoke(cli, ["rebuild-index", "--dry-run"])
    assert outcome.exit_code == 0, outcome.output
    assert "1 need a new upload" in outcome.output and voice_no in outcome.output


def test_export_and_backup(registry: Registry, tmp_path: Path) -> None:
    registry.member("performer")
    outcome = CliRunner().invoke(cli, ["export-tables", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    rows = [
        json.loads(line)
        for line in (tmp_path / "ailas-local-registry.jsonl").read_text().splitlines()
    ]
    assert any(r.get("kind") == "performer" for r in rows)
    assert (tmp_path / "ailas-local-audit.jsonl").read_text()
    backup = CliRunner().invoke(cli, ["backup-tables"])
    assert backup.exit_code == 0 and backup.output.count("arn:aws:dynamodb") == 3


def test_rotated_key_grants_the_signer_role(registry: Registry) -> None:
    from shared.aws import client

    role = "arn:aws:iam::123456789012:role/ailas-local-label-signer"
    outcome = CliRunner().invoke(
        cli, ["rotate-label-key", "--lead-s", "0", "--signer-role-arn", role]
    )
    assert outcome.exit_code == 0, outcome.output
    kms = client("kms")
    key_id = kms.describe_key(KeyId="alias/ailas-local-label-signing")["KeyMetadata"]["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    grant = next(s for s in policy["Statement"] if s.get("Sid") == "LabelSigner")
    assert grant["Principal"] == {"AWS": role} and "kms:Sign" in grant["Action"]


def test_a_key_in_the_account_the_signer_may_not_read_is_passed_over(registry: Registry) -> None:
    """In a shared account another team's key may refuse this role ListResourceTags (its key
    policy does not defer to IAM): publishing the JWKS then failed, and no label was signed."""
    from botocore.exceptions import ClientError

    from shared.aws import client
    from shared.labels.keys import signing_key_ids

    kms = client("kms")
    alias = "alias/ailas-local-label-signing"
    ours = signing_key_ids(kms, alias)
    theirs = kms.create_key(Description="another team's key")["KeyMetadata"]["KeyId"]

    class Refusing:  # KMS as that key's policy answers this role
        def __getattr__(self, name: str):
            return getattr(kms, name)

        def list_resource_tags(self, KeyId: str):
            if KeyId == theirs:
                denied = {"Error": {"Code": "AccessDeniedException", "Message": "denied"}}
                raise ClientError(denied, "ListResourceTags")
            return kms.list_resource_tags(KeyId=KeyId)

    assert signing_key_ids(Refusing(), alias) == ours


def test_events_show_counts_the_dead_letter_queues(registry: Registry) -> None:
    """Uploads that failed ingest three times sat in its dead-letter queue, shown nowhere but
    by boto3: `events show` counts them and exits 1, as for set-aside events."""
    from shared.aws import client

    clean = CliRunner().invoke(cli, ["events", "show"])
    assert clean.exit_code == 0, clean.output
    assert "ingest dead-letter queue: 0 waiting" in clean.output
    sqs = client("sqs")
    dlq = sqs.get_queue_url(QueueName="ailas-local-ingest-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")
    waiting = CliRunner().invoke(cli, ["events", "show"])
    assert waiting.exit_code == 1 and "ingest dead-letter queue: 1 waiting" in waiting.output


def test_voices_in_conflict_before_the_queue_existed_join_it(registry: Registry) -> None:
    from shared import store
    from shared.voices import service as voices
    from tests.scenario import voice_sheet

    holder = registry.member("rights_holder")
    voice_no = registry.api.post("/v1/voices", voice_sheet(), token=holder.token).json["voice_no"]
    store.registry().update_item(  # as an older release left it: in conflict, not queued
        Key=voices.key(voice_no),
        UpdateExpression="SET #s = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": "conflict"},
    )
    queue = "/v1/voices?status=conflict"
    assert registry.api.get(queue, token=registry.operator).json["voices"] == []
    for expected in ("1 newly queued", "0 newly queued"):  # idempotent
        outcome = CliRunner().invoke(cli, ["queue-conflicts"])
        assert outcome.exit_code == 0 and expected in outcome.output, outcome.output
    listed = registry.api.get(queue, token=registry.operator).json["voices"]
    assert [v["voice_no"] for v in listed] == [voice_no]


def test_a_rotation_publishes_the_new_key_before_it_signs(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint signed right after a rotation read as forged to outside verifiers for
    20-30 s: the alias moved before the JWKS (cached 30 s, max-age 30 s) showed the key."""
    import infra.ops
    from shared.aws import client
    from shared.labels import keyring
    from shared.settings import get_settings

    kms, alias = client("kms"), get_settings().label_key_id
    before = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    seen = {}

    def wait(seconds: float) -> None:  # what the world sees while the rotation waits
        seen["lead_s"] = seconds
        seen["published"] = len(keyring.jwks(max_age_s=0, consistent=True)["keys"])
        seen["signing"] = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]

    monkeypatch.setattr(infra.ops.time, "sleep", wait)
    assert CliRunner().invoke(cli, ["rotate-label-key"]).exit_code == 0
    assert seen == {"lead_s": 60, "published": 2, "signing": before}
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] != before


def test_index_agents_puts_grants_made_before_it_in_their_agencys_list(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import keys, store
    from shared.intents import service as intents

    api = registry.api
    performer, agency = registry.member("performer"), registry.member("rights_holder")
    path = f"/v1/performers/{performer.member_id}/agents"
    assert api.post(path, {"agent_id": agency.member_id}, token=performer.token).status == 201
    grant = keys.agent(performer.member_id, agency.member_id)
    store.registry().update_item(Key=grant, UpdateExpression="REMOVE gsi1pk, gsi1sk, performer_id")
    assert intents.represented_by(agency.member_id) == []  # as a grant made before the index
    first = CliRunner().invoke(cli, ["index-agents"])
    assert first.exit_code == 0 and "1 newly indexed" in first.output, first.output
    assert [p["performer_id"] for p in intents.represented_by(agency.member_id)] == [
        performer.member_id
    ]
    assert "0 newly indexed" in CliRunner().invoke(cli, ["index-agents"]).output
    # a grant removed while the command ran (after its scan) does not come back as a stub
    store.registry().update_item(Key=grant, UpdateExpression="REMOVE gsi1pk, gsi1sk, performer_id")
    removed = api.delete(f"{path}/{agency.member_id}", token=performer.token)
    assert removed.status in (200, 204), removed
    scanned = store.scan_all
    monkeypatch.setattr(store, "scan_all", lambda *a, **k: [{**grant, "agent_id": agency.member_id}]
                        if scanned(*a, **k) is not None else [])  # fmt: skip
    assert CliRunner().invoke(cli, ["index-agents"]).exit_code == 0
    assert not intents.is_agent(performer.member_id, agency.member_id)
