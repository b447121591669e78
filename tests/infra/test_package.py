"""Checks on what operators deploy: the generated SAM template and zips (built once, offline but
for PyPI wheels), and the resources template deployed into moto's CloudFormation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.sizes import FORBIDDEN, LIMIT_MB, function_sizes
from infra.template import RESOURCES

ROOT = Path(__file__).resolve().parents[2]
DATA_STORES = ("dynamodb:", "s3:", "sqs:", "kms:")


@pytest.fixture(scope="module", params=["dev", "prod"])
def package(request: pytest.FixtureRequest) -> tuple[str, Path, dict[str, Any]]:
    stage = request.param
    subprocess.run(
        [str(ROOT / "infra" / "package.sh"), stage], check=True, cwd=ROOT, capture_output=True
    )
    path = ROOT / "build" / stage / "package"
    return stage, path, json.loads((path / "sam.json").read_text())


def _lint(path: Path) -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_is_clean(package) -> None:
    _, path, _ = package
    _lint(RESOURCES)
    _lint(path / "sam.json")


def test_every_function_fits_lambda_and_carries_no_librosa(package) -> None:
    _, path, _ = package
    sizes = function_sizes(path)
    assert {"APIHandler", "Ingest", "DomainEvents", "EndContracts", "LabelSigner"} <= set(sizes)
    for name, info in sizes.items():
        assert info["mb"] <= LIMIT_MB, (name, info["mb"])
        assert not {p.lower() for p in info["packages"]} & set(FORBIDDEN), name


def _statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        s
        for p in template["Resources"][role]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
    ]


def test_iam_is_least_privilege(package) -> None:
    _, _, template = package
    functions = [
        n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    ]
    for function in functions:
        for statement in _statements(template, function):
            actions = statement["Action"]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), function
            if any(a.startswith(DATA_STORES) for a in actions):
                assert "*" not in json.dumps(statement["Resource"]).replace("/index/*", "").replace(
                    "uploads/*", ""
                ).replace("retained/*", ""), (function, statement)
            if "kms:Sign" in actions:
                assert function == "LabelSigner"
                assert statement["Resource"] == [{"Fn::GetAtt": ["LabelSigningKey", "Arn"]}]
    signing = [
        f for f in functions if any("kms:Sign" in s["Action"] for s in _statements(template, f))
    ]
    assert signing == ["LabelSigner"]
    ingest_tables = {
        r["Fn::GetAtt"][0]
        for s in _statements(template, "Ingest")
        for r in s["Resource"]
        if isinstance(r, dict) and "Fn::GetAtt" in r
    }
    assert "LabelSigningKey" not in ingest_tables
    events = {
        r["Fn::GetAtt"][0]
        for s in _statements(template, "DomainEvents")
        for r in s["Resource"]
        if isinstance(r, dict) and "Fn::GetAtt" in r
    }
    assert "FingerprintTable" not in events and "AudioBucket" not in events


def test_data_stores_are_protected(package) -> None:
    stage, _, template = package
    resources = template["Resources"]
    bucket = resources["AudioBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    policy = resources["AudioBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert policy["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(policy)
    for table in ("RegistryTable", "AuditTable", "FingerprintTable"):
        properties = resources[table]["Properties"]
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        assert properties["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert template["Parameters"]["Stage"]["Default"] == stage
    alarm = resources["IngestDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["IngestDeadLetterQueue", "QueueName"]}
    throttle = resources["RestAPI"]["Properties"]["MethodSettings"][0]
    assert throttle["ThrottlingRateLimit"] > 0
    retention = [
        r["Properties"]["RetentionInDays"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::LogGroup"
    ]
    assert len(retention) == 5 and all(d == 90 for d in retention)
    ingest = resources["Ingest"]["Properties"]["Events"]["IngestSqsEventSource"]["Properties"]
    assert ingest["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_resources_template_deploys_in_moto_cloudformation() -> None:
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="ap-northeast-1")
        cloudformation.create_stack(
            StackName="ailas-dev",
            TemplateBody=RESOURCES.read_text(),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": "dev"}],
        )
        stack = cloudformation.describe_stacks(StackName="ailas-dev")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["RegistryTableName"] == "ailas-dev-registry"
        tables = boto3.client("dynamodb", region_name="ap-northeast-1").list_tables()
        assert {"ailas-dev-registry", "ailas-dev-audit", "ailas-dev-fingerprints"} <= set(
            tables["TableNames"]
        )
        queues = boto3.client("sqs", region_name="ap-northeast-1").list_queues()["QueueUrls"]
        assert any(q.endswith("ailas-dev-ingest-dlq") for q in queues)
