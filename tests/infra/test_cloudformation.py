"""infra/resources.yaml deployed by moto's CloudFormation, as operators' stacks deploy it."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from infra.template import RESOURCES, load

REGION = "ap-northeast-1"
# Types moto's CloudFormation skips (it warns and leaves them out of the stack); the local stack
# applies them itself (infra/provision.py) and tests/infra/test_package.py checks them in the
# template. Listed so that a new unsupported type, or moto learning one, is noticed here.
MOTO_SKIPS = {
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::SES::EmailIdentity",  # moto has no CloudFormation support for it
    "AWS::Athena::WorkGroup",  # the bulk audit's engine (shared/audits)
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::SNS::Subscription",  # the alarms' mail to the operators
}


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_resources_template_creates_a_complete_stack() -> None:
    template = {name: spec["Type"] for name, spec in load()["Resources"].items()}
    expected = {name: kind for name, kind in template.items() if kind not in MOTO_SKIPS}
    assert set(template.values()) & MOTO_SKIPS == MOTO_SKIPS
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName="ailas-dev",
            TemplateBody=RESOURCES.read_text(),
            Parameters=[
                {"ParameterKey": "Stage", "ParameterValue": "dev"},
                {"ParameterKey": "OpsEmail", "ParameterValue": "ops@example.org"},
            ],
        )
        stack = cloudformation.describe_stacks(StackName="ailas-dev")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        created = {
            r["LogicalResourceId"]: (r["ResourceType"], r["ResourceStatus"])
            for r in cloudformation.list_stack_resources(StackName="ailas-dev")[
                "StackResourceSummaries"
            ]
            if r["LogicalResourceId"]  # moto lists its skipped resources under an empty id
        }
        assert {name: kind for name, (kind, _) in created.items()} == expected
        assert {status for _, status in created.values()} == {"CREATE_COMPLETE"}

        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["RegistryTableName"] == "ailas-dev-registry"
        assert outputs["AudioBucketName"] == "ailas-dev-audio-123456789012"
        ddb = boto3.client("dynamodb", region_name=REGION)
        assert {
            "ailas-dev-registry",
            "ailas-dev-audit",
            "ailas-dev-fingerprints",
        } <= set(ddb.list_tables()["TableNames"])
        audit = ddb.describe_table(TableName="ailas-dev-audit")["Table"]
        assert audit["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
        queues = boto3.client("sqs", region_name=REGION).list_queues()["QueueUrls"]
        assert {q.rsplit("/", 1)[1] for q in queues} >= {"ailas-dev-ingest", "ailas-dev-ingest-dlq"}
        # (moto's DescribeKey fails on keys whose policy came from a template: aliases only)
        aliases = boto3.client("kms", region_name=REGION).list_aliases()["Aliases"]
        label = [a for a in aliases if a["AliasName"] == "alias/ailas-dev-label-signing"]
        assert label and label[0]["TargetKeyId"] == outputs["LabelSigningKeyId"]
        assert boto3.client("s3", region_name=REGION).head_bucket(
            Bucket="ailas-dev-audio-123456789012"
        )
