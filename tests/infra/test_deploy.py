"""`make deploy`: the DRY_RUN path offline, and the boto3 steps (artifacts bucket, uploads,
change sets) against moto."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra import deploy
from infra.template import RESOURCES
from tests.infra.conftest import ROOT, Package

REGION = "ap-northeast-1"


def test_dry_run_packages_and_says_where_the_template_is(packages: dict[str, Package]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        ["make", "--no-print-directory", "deploy", "STAGE=dev", "DRY_RUN=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"template: {ROOT / 'build/dev/package/sam.json'}" in result.stdout
    assert "nothing was sent to AWS" in result.stdout
    packaged = json.loads((ROOT / "build/dev/deploy/packaged.json").read_text())
    uris = [
        spec["Properties"].get("CodeUri") or spec["Properties"].get("ContentUri")
        for spec in packaged["Resources"].values()
        if spec["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion")
    ]
    assert uris and all(u.startswith("s3://ailas-dev-artifacts-<ACCOUNT_ID>/dev/") for u in uris)


def test_artifacts_are_content_addressed(tmp_path: Path) -> None:
    (tmp_path / "deployment.zip").write_bytes(b"code")
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "./deployment.zip"},
            },
            "Other": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "s3://b/k"}},
        }
    }
    packaged, uploads = deploy.package_artifacts(template, tmp_path, "bucket", "dev")
    key = f"dev/{hashlib.sha256(b'code').hexdigest()}.zip"
    assert packaged["Resources"]["Fn"]["Properties"]["CodeUri"] == f"s3://bucket/{key}"
    assert packaged["Resources"]["Other"]["Properties"]["CodeUri"] == "s3://b/k"
    assert uploads == {key: (tmp_path / "deployment.zip").resolve()}
    assert template["Resources"]["Fn"]["Properties"]["CodeUri"] == "./deployment.zip"


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_change_sets_create_then_update_the_stack(tmp_path: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        bucket = deploy.artifacts_bucket("dev", "123456789012")
        deploy.ensure_artifacts_bucket(s3, bucket, REGION)
        deploy.ensure_artifacts_bucket(s3, bucket, REGION)  # idempotent
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values())
        assert "aws:SecureTransport" in s3.get_bucket_policy(Bucket=bucket)["Policy"]
        # in-process moto evaluates aws:SecureTransport as false: lift the TLS-only policy
        s3.delete_bucket_policy(Bucket=bucket)

        (tmp_path / "a.zip").write_bytes(b"zip")
        deploy.upload(s3, bucket, {"dev/a.zip": tmp_path / "a.zip"})
        deploy.upload(s3, bucket, {"dev/a.zip": tmp_path / "a.zip"})  # already there
        assert s3.get_object(Bucket=bucket, Key="dev/a.zip")["Body"].read() == b"zip"

        s3.put_object(Bucket=bucket, Key="dev/templates/t.yaml", Body=RESOURCES.read_bytes())
        url = f"https://{bucket}.s3.{REGION}.amazonaws.com/dev/templates/t.yaml"
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        first = [*deploy.parameters("dev"), {"ParameterKey": "OpsEmail",
                                              "ParameterValue": "ops@example.org"}]  # fmt: skip
        assert deploy.deploy_stack(cloudformation, "ailas-dev", url, first, 0) == (
            "CREATE_COMPLETE"
        )
        # a later deploy without OPS_EMAIL keeps it (left out, it fell back to the default)
        later = deploy.keeping_previous(cloudformation, "ailas-dev", deploy.parameters("dev"))
        assert {"ParameterKey": "OpsEmail", "UsePreviousValue": True} in later
        assert {"ParameterKey": "Stage", "ParameterValue": "dev"} in later
        assert deploy.deploy_stack(
            cloudformation, "ailas-dev", url, deploy.parameters("dev"), 0
        ) in (
            "UPDATE_COMPLETE",
            "NO_CHANGES",
        )
        tables = boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"]
        assert "ailas-dev-registry" in tables
