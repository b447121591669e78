"""Checks on what operators deploy: the SAM templates and zips of `make package` for dev and prod
(offline once the wheelhouse holds the wheels; see infra/build.py)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra import build, merge
from infra.build import pins
from infra.event_sources import AUDIT_POLL_MAX_CONCURRENCY
from infra.sizes import FORBIDDEN, LIMIT_MB, function_sizes, top_level_names
from infra.template import RESOURCES, load
from tests.infra.conftest import ROOT, Package

AUDIO = {"numpy", "soundfile", "_soundfile", "_soundfile_data", "soxr"}
DATA_STORES = ("dynamodb:", "s3:", "sqs:", "kms:")

# What each function may reach (logical ids of the data resources), inferred from the code:
# a new function fails here until someone decides what it may touch.
REACH = {
    "api_handler": {
        "RegistryTable",
        "AuditTable",
        "FingerprintTable",
        "AudioBucket",
        "DataKey",
        "EventsFailedQueue",
        # counted on the operator's page (sqs:GetQueueAttributes only)
        "IngestDeadLetterQueue",
        "AuditPollDeadLetterQueue",
    },
    "ingest": {
        "RegistryTable",
        "AuditTable",
        "FingerprintTable",
        "AudioBucket",
        "DataKey",
        "IngestQueue",
        "AuditPollQueue",
    },
    "audit_poll": {"RegistryTable", "AuditTable", "AudioBucket", "DataKey", "AuditPollQueue"},
    "domain_events": {
        "RegistryTable",
        "AuditTable",
        "EventsFailedQueue",
        "AudioBucket",
        "DataKey",
        "AuditPollQueue",  # the export INSERTs it starts are followed by the audit-poll worker
    },
    "end_contracts": {"RegistryTable", "AuditTable"},
    "label_signer": {"LabelSigningKey", "RegistryTable"},
}
# The S3 actions per function and object prefix.
# Bulk audits: Athena reads and writes S3 with the caller's rights (shared/audits).
ATHENA_RESULTS = {
    ("athena-results/*", a) for a in ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")
}
# an audit's first two stages stored as tables (engine.audit_statements_athena)
ATHENA_WORK = {
    ("athena-work/*", a) for a in ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")
}
LIST_BY_PREFIX = {("<bucket>", "s3:ListBucket"), ("<bucket>", "s3:GetBucketLocation")}
S3_GRANTS = {
    # traces read the registered voices' peak constellations (verification of near misses)
    "api_handler": {
        ("uploads/*", "s3:PutObject"),
        ("audits/*", "s3:GetObject"),
        ("constellations/*", "s3:GetObject"),
    },
    # the Athena audit's poll: its next stages (which read the dataset, the export and the
    # stored stages), the result CSV in, the audit's result document out
    "audit_poll": {
        ("uploads/audits/*", "s3:GetObject"),
        ("fingerprint-export/parquet/*", "s3:GetObject"),
        *ATHENA_WORK,
        *ATHENA_RESULTS,
        ("audits/*", "s3:PutObject"),
        *LIST_BY_PREFIX,
    },
    "ingest": {
        ("uploads/*", "s3:GetObject"),
        ("uploads/*", "s3:GetObjectTagging"),
        ("uploads/*", "s3:DeleteObject"),
        ("retained/*", "s3:PutObject"),
        ("retained/*", "s3:PutObjectTagging"),
        ("retained/*", "s3:DeleteObject"),  # a copy of a file replaced meanwhile is removed
        ("fingerprint-export/staging/*", "s3:PutObject"),
        ("fingerprint-export/parquet/*", "s3:GetObject"),
        ("constellations/*", "s3:PutObject"),  # at registration
        ("constellations/*", "s3:GetObject"),  # traces of uploaded clips verify on them
        *ATHENA_RESULTS,
        *ATHENA_WORK,
        *LIST_BY_PREFIX,
    },
    "domain_events": {
        ("fingerprint-export/staging/*", "s3:GetObject"),
        *{
            ("fingerprint-export/parquet/*", a)
            for a in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
        },
        *ATHENA_RESULTS,
        *LIST_BY_PREFIX,
    },
}
# The only wildcards on a data store, each for a reason IAM leaves no choice about.
WILDCARDS = {
    ("label_signer", "kms:ListKeys"): "ListKeys has no resource-level scope",
    ("label_signer", "kms:ListResourceTags"): "finding the keys tagged for label signing",
    ("label_signer", "kms:GetPublicKey"): "rotated keys, by tag condition only",
    ("label_signer", "kms:DescribeKey"): "rotated keys, by tag condition only",
}
# Wildcards that stay inside one named resource.
SCOPED_SUFFIXES = (
    "/index/*",
    "/stream/*",
    "/uploads/*",
    "/retained/*",
    "/fingerprint-export/staging/*",
    "/fingerprint-export/parquet/*",
    "/athena-results/*",
    "/athena-work/*",
    "/audits/*",
    "/constellations/*",
)


def resolve_if(value: Any, stage: str) -> Any:
    """Evaluate Fn::If on the only condition the data resources use (IsProd)."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        condition, yes, no = value["Fn::If"]
        assert condition == "IsProd"
        return yes if stage == "prod" else no
    return value


def name_of(spec: dict[str, Any]) -> str:
    return spec["Properties"]["FunctionName"]["Fn::Sub"].removeprefix("ailas-${Stage}-")


def statements(package: Package, spec: dict[str, Any]) -> list[dict[str, Any]]:
    role = spec["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in package.resources[role]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the templates are valid ------------------------------------------------------------------


def test_cfn_lint_is_clean_on_resources_and_both_stages(packages: dict[str, Package]) -> None:
    files = [RESOURCES] + [p.path / "sam.json" for p in packages.values()]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_dependency_cycle(package: Package) -> None:
    assert merge.dependency_cycle(package.template) is None
    # The API's integrations name the function, so the function may know the API's URL.
    assert "APIHandler.Arn" not in json.dumps(package.resources["RestAPI"])


def test_every_data_resource_of_resources_yaml_is_deployed(package: Package) -> None:
    source = load()
    for name, spec in source["Resources"].items():
        assert package.resources[name]["Type"] == spec["Type"], name
    assert package.template["Parameters"]["Stage"]["Default"] == package.stage
    assert set(source["Outputs"]) <= set(package.template["Outputs"])


# --- sizes, layers and what is inside the zips -----------------------------------------------


def test_every_function_fits_lambda_and_carries_no_librosa(package: Package) -> None:
    sizes = function_sizes(package.path)
    assert set(sizes) == set(package.functions())
    for name, info in sizes.items():
        assert info["mb"] <= LIMIT_MB, (name, info["mb"])
        assert not {p.lower() for p in info["packages"]} & set(FORBIDDEN), name


def test_audio_stack_is_only_in_the_layer(package: Package) -> None:
    code = {
        package.path / Path(s["Properties"]["CodeUri"]).name for s in package.functions().values()
    }
    assert len(code) == 1
    assert not top_level_names(code.pop()) & AUDIO
    assert {"numpy", "soundfile", "soxr"} <= top_level_names(package.path / "audio-layer.zip")


def test_layer_pins_are_the_runtime_pins() -> None:
    runtime = pins(ROOT / "requirements.txt")
    layer = pins(ROOT / "layers" / "audio" / "requirements.txt")
    for name in ("numpy", "soundfile", "soxr"):
        assert layer[name] == runtime[name]


def test_functions_that_reach_audio_code_have_the_layer(package: Package) -> None:
    for function in merge.discover():
        spec = package.resources[function.logical_id]
        has_layer = {"Ref": "AudioLayer"} in spec["Properties"].get("Layers", [])
        assert has_layer == merge.needs_audio(function), function.name
    # today: the API (POST /v1/traces/fingerprint matches with numpy) and ingest
    assert {"Ref": "AudioLayer"} in package.resources["APIHandler"]["Properties"]["Layers"]
    assert {"Ref": "AudioLayer"} in package.resources["Ingest"]["Properties"]["Layers"]


@pytest.fixture(scope="module")
def unpacked(packages: dict[str, Package], tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("lambda")
    for name in ("deployment.zip", "audio-layer.zip"):
        with zipfile.ZipFile(packages["dev"].path / name) as archive:
            archive.extractall(target / name.removesuffix(".zip"))
    return target


def test_each_function_imports_from_its_own_package(
    packages: dict[str, Package], unpacked: Path
) -> None:
    """A cold start, roughly: a bare Python 3.12 with only the function zip and its layers on
    sys.path (no venv, no site-packages) imports the handler."""
    env = {
        "PATH": os.environ["PATH"],
        "AILAS_STAGE": "dev",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    for name, spec in packages["dev"].functions().items():
        module, handler = spec["Properties"]["Handler"].rsplit(".", 1)
        path = [str(unpacked / "deployment")]
        if spec["Properties"].get("Layers"):
            path.append(str(unpacked / "audio-layer" / "python"))
        code = (
            f"import sys; sys.path[:0] = {path!r}; import importlib; "
            f"assert callable(getattr(importlib.import_module({module!r}), {handler!r}))"
        )
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, env=env
        )
        assert result.returncode == 0, (name, result.stderr[-2000:])


# --- what the merge template adds -------------------------------------------------------------


def test_event_sources_use_the_stack_resources(package: Package) -> None:
    sqs = package.resources["Ingest"]["Properties"]["Events"]["IngestSqsEventSource"]
    assert sqs["Properties"]["Queue"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert sqs["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    polls = package.resources["AuditPoll"]["Properties"]["Events"]["AuditPollSqsEventSource"]
    assert polls["Properties"]["Queue"] == {"Fn::GetAtt": ["AuditPollQueue", "Arn"]}
    # the cap survives Chalice's package (and its own SQS event) intact (infra/event_sources.py)
    cap = {"MaximumConcurrency": AUDIT_POLL_MAX_CONCURRENCY}
    assert polls["Properties"]["ScalingConfig"] == cap
    for spec in package.functions().values():
        for event in spec["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                queues = [{"Fn::GetAtt": [q, "Arn"]} for q in ("IngestQueue", "AuditPollQueue")]
                assert event["Properties"]["Queue"] in queues
                assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            if event["Type"] == "DynamoDB":
                stream = {"Fn::GetAtt": ["AuditTable", "StreamArn"]}
                assert event["Properties"]["Stream"] == stream
    events = package.resources["DomainEvents"]["Properties"]["Events"]
    stream = events["DomainEventsDynamodbEventSource"]
    assert stream["Type"] == "DynamoDB"


def test_a_failing_domain_event_cannot_block_the_stream(package: Package) -> None:
    """One bad event must not hold the shard for 24 h: bounded retries from its own position
    (partial batch responses, bisection), a maximum age, then the failure queue, which alarms."""
    stream = package.resources["DomainEvents"]["Properties"]["Events"][
        "DomainEventsDynamodbEventSource"
    ]["Properties"]
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert 0 < stream["MaximumRetryAttempts"] <= 10
    assert 60 <= stream["MaximumRecordAgeInSeconds"] < 24 * 3600
    queue = {"Fn::GetAtt": ["EventsFailedQueue", "Arn"]}
    assert stream["DestinationConfig"] == {"OnFailure": {"Type": "SQS", "Destination": queue}}
    assert package.resources["EventsFailedQueue"]["Type"] == "AWS::SQS::Queue"
    # the function may send there (Lambda uses its role for the on-failure destination)
    sends = [
        s
        for s in statements(package, package.resources["DomainEvents"])
        if "sqs:SendMessage" in as_list(s["Action"])
    ]
    assert queue in [s["Resource"] for s in sends]
    alarm = next(
        r["Properties"]
        for r in package.resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventsFailedQueue", "QueueName"]}}
        in r["Properties"]["Dimensions"]
    )
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_functions_get_the_environment_the_code_reads(package: Package) -> None:
    for name, spec in package.functions().items():
        variables = spec["Properties"]["Environment"]["Variables"]
        assert variables["AILAS_STAGE"] == package.stage
        assert variables["AILAS_BUCKET"] == {"Ref": "AudioBucket"}
        assert variables["AILAS_ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}
        assert variables["AILAS_INGEST_QUEUE_URL"] == {"Ref": "IngestQueue"}
        assert variables["AILAS_AUDIT_STREAM_ARN"] == {"Fn::GetAtt": ["AuditTable", "StreamArn"]}
        assert variables["AILAS_LABEL_KEY_ID"] == {"Ref": "LabelSigningKeyAlias"}
        assert variables["AILAS_REGISTRY_TABLE"] == {"Ref": "RegistryTable"}
        assert "RestAPI" in json.dumps(variables["AILAS_PUBLIC_BASE_URL"]), name
        # named as shared/settings.py derives them: ailas-<stage>-<function>
        assert name == merge.to_cfn_resource_name(name_of(spec)) or name == "APIHandler"
        signer = variables["AILAS_LABEL_SIGNER_FUNCTION"]
        assert signer == {"Fn::Sub": "ailas-${Stage}-label_signer"}
    assert "LabelSigner" in package.resources


def test_each_function_has_a_log_group_with_retention(package: Package) -> None:
    days = merge.STAGES[package.stage]["log_retention_days"]
    for name, spec in package.functions().items():
        group = package.resources[f"{name}LogGroup"]
        assert group["Properties"]["RetentionInDays"] == days
        expected = "/aws/lambda/" + spec["Properties"]["FunctionName"]["Fn::Sub"]
        assert group["Properties"]["LogGroupName"]["Fn::Sub"] == expected
        assert f"{name}LogGroup" in spec["DependsOn"]  # exists before the first invocation


def test_api_answers_json_errors_and_is_throttled(package: Package) -> None:
    api = package.resources["RestAPI"]["Properties"]
    responses = api["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"):
        template = responses[kind]["responseTemplates"]["application/json"]
        rendered = template.replace("$context.error.messageString", '"Forbidden"').replace(
            "$context.requestId", "abc"
        )
        body = json.loads(rendered)
        assert body["code"] and body["message"] and body["request_id"] == "abc"
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]["responseTemplates"]["application/json"]
    assert json.loads(missing.replace("$context.requestId", "x"))["code"] == "not_found"
    (throttle,) = api["MethodSettings"]
    assert throttle["ResourcePath"] == "/*" and throttle["HttpMethod"] == "*"
    assert 0 < throttle["ThrottlingRateLimit"] <= throttle["ThrottlingBurstLimit"]


# --- least privilege ----------------------------------------------------------------------------


def test_every_function_has_its_own_role_from_infra_policies(package: Package) -> None:
    roles = [s["Properties"]["Role"]["Fn::GetAtt"][0] for s in package.functions().values()]
    assert len(set(roles)) == len(roles)
    for spec in package.functions().values():
        name = name_of(spec)
        policy = json.loads((ROOT / "infra" / "policies" / f"{name}.json").read_text())
        assert statements(package, spec) == policy["Statement"], name


def test_no_wildcard_actions_or_resources_on_data_stores(package: Package) -> None:
    for spec in package.functions().values():
        name = name_of(spec)
        for statement in statements(package, spec):
            if statement["Effect"] == "Deny":  # narrows what is allowed, never widens it
                assert statement["Sid"] == "NeverTheLabelSigningKeys", name
                continue
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                assert "*" not in action, (name, action)
                if not action.startswith(DATA_STORES):
                    continue
                for resource in as_list(statement["Resource"]):
                    text = json.dumps(resource)
                    for suffix in SCOPED_SUFFIXES:
                        text = text.replace(suffix, "")
                    if "*" not in text:
                        continue
                    assert (name, action) in WILDCARDS, (name, action, resource)
                    if action in ("kms:GetPublicKey", "kms:DescribeKey"):
                        condition = statement["Condition"]["StringEquals"]
                        assert condition == {"aws:ResourceTag/ailas:label-signing": "true"}


def test_each_function_reaches_only_what_it_uses(package: Package) -> None:
    functions = {name_of(spec): spec for spec in package.functions().values()}
    assert set(functions) == set(REACH), "a new function: decide what it may reach (REACH)"
    data = set(load()["Resources"])
    for name, spec in functions.items():
        reached: set[str] = set()
        s3: set[tuple[str, str]] = set()
        for statement in statements(package, spec):
            actions = as_list(statement["Action"])
            targets = merge.references(statement["Resource"]) & data
            reached |= targets
            if "AuditTable" in targets:  # the audit log is append-only for everyone
                assert not {"dynamodb:UpdateItem", "dynamodb:DeleteItem"} & set(actions), name
                assert "dynamodb:BatchWriteItem" not in actions, name
            for resource in as_list(statement["Resource"]):
                if "AudioBucket" in merge.references(resource):
                    sub = resource.get("Fn::Sub", "")  # the bucket itself: listing by prefix
                    prefixes = re.findall(r"\$\{AudioBucket\.Arn\}/(.+)$", sub) or ["<bucket>"]
                    s3 |= {(prefixes[0], a) for a in actions}
        assert reached == REACH[name], name
        assert s3 == S3_GRANTS.get(name, set()), name
    api = statements(package, functions["api_handler"])
    fingerprint = [s for s in api if "FingerprintTable" in merge.references(s["Resource"])]
    # read-only: Query (per-voice layout) and BatchGetItem (keyed layout)
    assert [s["Action"] for s in fingerprint] == [["dynamodb:Query", "dynamodb:BatchGetItem"]]


def test_only_the_label_signer_signs_and_only_with_the_label_key(package: Package) -> None:
    signers = []
    for spec in package.functions().values():
        name = name_of(spec)
        for statement in statements(package, spec):
            if "kms:Sign" in as_list(statement["Action"]):
                signers.append(name)
                assert as_list(statement["Resource"]) == [
                    {"Fn::GetAtt": ["LabelSigningKey", "Arn"]}
                ]
                assert "Condition" not in statement
            elif name != "label_signer":
                assert "LabelSigningKey" not in merge.references(statement["Resource"]), name
    assert set(signers) <= {"label_signer"}
    assert signers == ["label_signer"]


REGISTRY_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}
# Every DynamoDB delete in the code, the function that runs it and the partition it deletes in.
# A Delete in a transaction needs dynamodb:DeleteItem as DeleteItem does, and moto checks no IAM:
# a missing grant is a 500 in AWS only (sign-out, removing an agent, an AI system dropping a
# voice were). ``None``: an operator's command (infra.ops), run with the operator's credentials.
DELETES = {
    "shared/portal/sessions.py": ("api_handler", "SESSION#"),
    "shared/intents/service.py": ("api_handler", "PERFORMER#"),
    "shared/business/ai_systems.py": ("api_handler", "VOICE#"),
    "shared/audits/export.py": (None, "EXPORT#"),
}


def _registry_grants(package: Package, name: str, action: str) -> list[dict[str, Any]]:
    spec = next(s for s in package.functions().values() if name_of(s) == name)
    return [
        statement
        for statement in statements(package, spec)
        if statement["Effect"] == "Allow"
        and action in as_list(statement["Action"])
        and "RegistryTable" in merge.references(statement["Resource"])
    ]


def test_every_delete_in_the_code_is_granted_to_its_function_and_no_more() -> None:
    found = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "shared").rglob("*.py")
        if re.search(r"\.delete_item\(|\btx\.delete\(", path.read_text(encoding="utf-8"))
    }
    assert found == set(DELETES), "a new delete: decide which function may run it (DELETES)"


def test_deletes_are_granted_only_in_the_partitions_the_code_deletes_in(package: Package) -> None:
    for spec in package.functions().values():
        name = name_of(spec)
        needed = {prefix + "*" for fn, prefix in DELETES.values() if fn == name}
        grants = _registry_grants(package, name, "dynamodb:DeleteItem")
        if not needed:
            assert grants == [], name
            continue
        assert len(grants) == 1, name
        condition = grants[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert set(condition) == needed, name


def test_only_the_label_signer_writes_the_published_label_keys(package: Package) -> None:
    """The JWKS item is what every label is verified against: a role that could write it could
    publish its own key, so each writer of the registry but the signer is denied it."""
    for spec in package.functions().values():
        name = name_of(spec)
        writes = {a for a in REGISTRY_WRITES if _registry_grants(package, name, a)}
        if name == "label_signer" or not writes:
            continue
        denied = [
            statement
            for statement in statements(package, spec)
            if statement["Effect"] == "Deny"
            and statement.get("Condition", {}).get("ForAnyValue:StringEquals")
            == {"dynamodb:LeadingKeys": ["KEYS#LABEL"]}
        ]
        assert len(denied) == 1, name
        assert writes | {"dynamodb:DeleteItem"} <= set(as_list(denied[0]["Action"])), name


def test_only_label_and_checkpoint_signing_functions_invoke_the_signer(package: Package) -> None:
    """The API signs labels; the hourly job and the event stream sign log checkpoints."""
    signer = {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}"
        ":function:ailas-${Stage}-label_signer"
    }
    invokers = set()
    for spec in package.functions().values():
        for statement in statements(package, spec):
            if "lambda:InvokeFunction" in as_list(statement["Action"]):
                assert as_list(statement["Action"]) == ["lambda:InvokeFunction"]
                assert statement["Resource"] == signer
                invokers.add(name_of(spec))
    assert invokers == {"api_handler", "end_contracts", "domain_events"}


# --- the data stores are protected --------------------------------------------------------------


def test_bucket_is_private_encrypted_and_tls_only(package: Package) -> None:
    bucket = package.resources["AudioBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey", "Arn"]},
    }
    policy = package.resources["AudioBucketPolicy"]["Properties"]["PolicyDocument"]
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert any(
        s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and s["Action"] == "s3:*"
        and s["Principal"] == "*"
        for s in deny
    )


def test_tables_recover_to_a_point_in_time_and_prod_tables_resist_deletion(
    package: Package,
) -> None:
    for name in ("RegistryTable", "AuditTable", "FingerprintTable"):
        table = package.resources[name]["Properties"]
        assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert table["SSESpecification"]["SSEEnabled"] is True
        protected = resolve_if(table["DeletionProtectionEnabled"], package.stage)
        assert protected is (package.stage == "prod"), name


@pytest.mark.parametrize(
    ("queue_id", "dlq_id"),
    [("IngestQueue", "IngestDeadLetterQueue"), ("AuditPollQueue", "AuditPollDeadLetterQueue")],
)
def test_dead_letter_queue_raises_an_alarm(package: Package, queue_id: str, dlq_id: str) -> None:
    queue = package.resources[queue_id]["Properties"]
    dlq = {"Fn::GetAtt": [dlq_id, "Arn"]}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == dlq
    alarms = [r for r in package.resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = [
        a["Properties"]
        for a in alarms
        if a["Properties"]["Namespace"] == "AWS/SQS"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
        in a["Properties"]["Dimensions"]
    ]
    assert watched and watched[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (
        watched[0]["Threshold"] == 0 and watched[0]["ComparisonOperator"] == "GreaterThanThreshold"
    )


def test_every_alarm_reaches_the_operators(package: Package) -> None:
    """An alarm without actions only changes colour in the console: each publishes to the ops
    topic, which mails OPS_EMAIL when the operator gives one."""
    alarms = [r for r in package.resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) >= 3
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "OpsTopic"}], alarm
    mail = package.resources["OpsEmailSubscription"]
    assert mail["Properties"]["TopicArn"] == {"Ref": "OpsTopic"}
    assert mail["Properties"]["Protocol"] == "email" and mail["Condition"] == "HasOpsEmail"


def test_what_cannot_be_made_again_outlives_the_stack(package: Package) -> None:
    for name in ("DataKey", "LabelSigningKey", "AudioBucket", "RegistryTable", "AuditTable",
                 "FingerprintTable"):  # fmt: skip
        resource = package.resources[name]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain", name


def test_the_lock_is_what_the_tests_run_and_what_requirements_pin() -> None:
    """requirements.lock (the Lambda build's only source) holds every pin of requirements.txt at
    its version, each with hashes, and every locked package at the version the venv runs."""
    locked = build.locked()
    for name, line in pins(ROOT / "requirements.txt").items():
        assert name in locked, f"{name} is missing from requirements.lock: run make lock"
        assert locked[name].block.startswith(line + " \\"), (name, "run make lock")
    for name, package in locked.items():
        assert "--hash=sha256:" in package.block, name
        version = package.block.split("==", 1)[1].split()[0]
        assert importlib.metadata.version(name) == version, (name, "venv differs from the lock")


def test_the_layer_holds_what_only_it_needs_and_the_zip_the_rest() -> None:
    function, layer = build.split_lock()
    in_function = {build.requirement_name(b) for b in function.split("\n") if "==" in b}
    in_layer = {build.requirement_name(b) for b in layer.split("\n") if "==" in b}
    assert {"numpy", "soundfile", "soxr"} <= in_layer
    assert not {"numpy", "soundfile", "soxr"} & in_function
    assert "cffi" in in_function  # cryptography needs it where the layer is absent
    assert in_function | in_layer == set(build.locked())
