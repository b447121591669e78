"""The Athena side of the bulk audit, as the template declares it: the tables read exactly the
columns the client writes and the export holds, and the IAM grants stay narrow."""

from __future__ import annotations

import json
from pathlib import Path

from ailas.dataset import COLUMNS
from infra import event_sources, merge
from infra.template import load
from shared.audio.engine import AUDIT_ALGORITHM
from shared.audits import engine, ranges
from shared.audits import sql as sql_module
from shared.audits.sql import COLUMNS as RESULT_COLUMNS
from shared.settings import get_settings

POLICIES = Path(__file__).resolve().parents[2] / "infra" / "policies"


def _columns(resource: str) -> dict[str, str]:
    table = load()["Resources"][resource]["Properties"]["TableInput"]
    return {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}


def test_glue_tables_match_the_parquet_the_client_and_the_export_write() -> None:
    dataset = _columns("AuditDatasetTable")
    assert list(dataset) == list(COLUMNS)
    hive = {"INTEGER": "int", "SMALLINT": "smallint", "BIGINT": "bigint"}
    assert dataset == {k: hive[v] for k, v in COLUMNS.items()}
    assert list(_columns("FingerprintExportTable")) == ["voice_no", "hash", "t"]
    assert list(_columns("FingerprintStagingTable")) == ["hash", "t"]


def test_workgroup_enforces_results_location_encryption_and_a_scan_cap() -> None:
    group = load()["Resources"]["AuditWorkGroup"]["Properties"]
    config = group["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] <= 2 * 10**12
    assert config["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert group["Name"]["Fn::Sub"] == "ailas-${Stage}-audits"


def test_only_the_functions_that_need_athena_get_it_and_never_a_wildcard_action() -> None:
    granted = {}
    for path in POLICIES.glob("*.json"):
        statements = json.loads(path.read_text())["Statement"]
        actions = {a for s in statements for a in s["Action"]}
        granted[path.stem] = {a for a in actions if a.startswith(("athena:", "glue:"))}
        assert not any(a.endswith("*") for a in actions)
    assert not granted["api_handler"]  # GET /v1/audits/{id} reads the job, never Athena
    assert "athena:StartQueryExecution" in granted["ingest"]
    assert granted["audit_poll"] == {
        "athena:GetQueryExecution",
        "athena:StartQueryExecution",  # the audit's next stage
        "athena:StopQueryExecution",  # past the maximum age
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:GetPartitions",
        "glue:CreateTable",
        "glue:DeleteTable",
    }
    assert not granted["label_signer"] and not granted["end_contracts"]


def test_tables_are_made_and_dropped_only_as_an_audits_work_tables() -> None:
    for name in ("ingest", "audit_poll"):
        statements = json.loads((POLICIES / f"{name}.json").read_text())["Statement"]
        for s in statements:
            if {"glue:CreateTable", "glue:DeleteTable"} & set(s["Action"]):
                tables = [r["Fn::Sub"] for r in s["Resource"] if ":table/" in r["Fn::Sub"]]
                # the work tables only: a wider audit_* would let them drop audit_dataset
                suffixes = sorted(t.rsplit(":table/ailas_${Stage}/", 1)[1] for t in tables)
                assert suffixes == ["audit_*_fans", "audit_*_live"], tables
    made = engine.work_tables("D-0000-0000-0")
    assert made[0].startswith("audit_") and made[0].endswith("_fans")
    assert made[1].startswith("audit_") and made[1].endswith("_live")


def test_the_poll_worker_writes_only_work_tables_results_and_its_queue_has_a_dlq() -> None:
    statements = json.loads((POLICIES / "audit_poll.json").read_text())["Statement"]

    def objects(action: str) -> set[str]:
        return {
            r["Fn::Sub"].split("/", 1)[1]
            for s in statements
            if action in s["Action"]
            for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        }

    assert objects("s3:PutObject") == {"athena-work/*", "athena-results/*", "audits/*"}
    # the scored ranges are work files, read back by the last range, and expire with them; the
    # result CSV is read by ranged GETs and its size by a HeadObject (s3:GetObject)
    assert ranges.range_key("D-0000-0000-0", 1, 4).startswith(engine.WORK_PREFIX)
    assert {"athena-work/*", "athena-results/*"} <= objects("s3:GetObject")
    lifecycle = load()["Resources"]["AudioBucket"]["Properties"]["LifecycleConfiguration"]
    expiring = {r["Prefix"]: r["ExpirationInDays"] for r in lifecycle["Rules"]}
    assert expiring["athena-work/"] <= 1  # a failed audit's stored stages do not stay
    queue = load()["Resources"]["AuditPollQueue"]["Properties"]
    dlq = queue["RedrivePolicy"]["deadLetterTargetArn"]
    assert dlq == {"Fn::GetAtt": ["AuditPollDeadLetterQueue", "Arn"]}
    # the function's timeout (read from the Chalice config): one look at a time
    assert queue["VisibilityTimeout"] >= _poll_timeout()
    assert engine.POLL_MAX_DELAY_S <= 900 and engine.POLL_MAX_AGE_S > engine.POLL_MAX_DELAY_S


def test_the_athena_audit_runs_in_stored_stages_over_one_audit_and_one_algorithm() -> None:
    first, second, result = engine.audit_statements_athena("D-0000-0000-0", AUDIT_ALGORITHM)
    fans, live = (f"{engine.database()}.{t}" for t in engine.work_tables("D-0000-0000-0"))
    work = f"s3://{get_settings().bucket}/{engine.WORK_PREFIX}D-0000-0000-0/"
    for sql, table in ((first, fans), (second, live)):
        assert sql.startswith(f"CREATE TABLE {table} WITH (format = 'PARQUET'")
        assert f"external_location = '{work}" in sql
        assert "WHERE audit_id = 'D-0000-0000-0'" in sql
        assert f"WHERE algorithm = '{AUDIT_ALGORITHM}'" in sql
        assert "audit_dataset" in sql and "fingerprint_export" in sql
    assert fans in second  # stage 2 reads stage 1's table, not its query again
    # the result rows read only the two stored tables, never the sources again
    assert fans in result and live in result and "audit_dataset" not in result
    assert all(column in result for column in RESULT_COLUMNS)
    # Trino runs each WITH query at every reference: no statement runs the join more than twice
    assert all(n <= 2 for n in sql_module.inlined_runs(first).values())
    insert = engine.export_insert_sql("V-1'; DROP", AUDIT_ALGORITHM)
    assert "voice_no = 'V-1''; DROP'" in insert  # quoted, never spliced


def test_the_clients_trace_windows_fit_the_registrys_limit() -> None:
    from ailas import audit
    from shared.traces.models import MAX_QUERY_PEAKS

    assert audit.MAX_QUERY_PEAKS == MAX_QUERY_PEAKS  # the client carries no `shared` import


def _poll_timeout() -> int:
    """The audit_poll function's longest timeout over the deployable stages."""
    stages = merge.chalice_config()["stages"]
    return max(
        stages[stage]["lambda_functions"]["audit_poll"].get(
            "lambda_timeout", stages[stage]["lambda_timeout"]
        )
        for stage in merge.STAGES
    )


def test_the_poll_mapping_caps_concurrent_invocations_and_its_queue_outlasts_them() -> None:
    cap = event_sources.AUDIT_POLL_MAX_CONCURRENCY
    assert 2 <= cap <= 1000  # what Lambda's ScalingConfig accepts
    for stage in merge.STAGES:
        function = merge.merge_template(stage)["Resources"]["AuditPoll"]["Properties"]
        mapping = function["Events"]["AuditPollSqsEventSource"]["Properties"]
        assert mapping["Queue"] == {"Fn::GetAtt": ["AuditPollQueue", "Arn"]}
        # the mapping's cap, not reserved concurrency: throttled receives would reach the DLQ
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": cap}
        assert "ReservedConcurrentExecutions" not in function
    queue = load()["Resources"]["AuditPollQueue"]["Properties"]
    # AWS: at least the timeout (required), 6x it (recommended) so that a retried invocation
    # does not see its message again while it still runs
    assert queue["VisibilityTimeout"] >= 6 * _poll_timeout()
    # a transient error is raised for SQS to redeliver (shared/audits/poll.py): AWS advises at
    # least 5 receives before the DLQ for a Lambda source; the DLQ alarm's text says five
    receives = queue["RedrivePolicy"]["maxReceiveCount"]
    assert receives >= 5
    alarm = load()["Resources"]["AuditPollDeadLetterAlarm"]["Properties"]["AlarmDescription"]
    assert {5: "five"}.get(receives, str(receives)) in alarm
