"""Provision infra/resources.yaml into an AWS endpoint (the local moto server) through boto3.

moto's own CloudFormation creates the stack but drops several bucket properties (public access
block, CORS, lifecycle, notifications), so the local stack applies the same template itself,
resource by resource, with the API calls CloudFormation would make. One source of truth.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3

from infra.template import Resolver, creation_order, load

Creator = Callable[["Provisioner", str, dict[str, Any]], None]
CREATORS: dict[str, Creator] = {}


def creates(resource_type: str) -> Callable[[Creator], Creator]:
    def register(fn: Creator) -> Creator:
        CREATORS[resource_type] = fn
        return fn

    return register


class Provisioner:
    def __init__(
        self, endpoint_url: str, region: str, stage: str, account_id: str = "123456789012"
    ) -> None:
        self.session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto
            region_name=region,
        )
        self.endpoint_url = endpoint_url
        self.region = region
        self.template = load()
        self.resolver = Resolver(
            self.template,
            parameters={"Stage": stage},
            pseudo={
                "AWS::AccountId": account_id,
                "AWS::Region": region,
                "AWS::Partition": "aws",
                "AWS::StackName": f"ailas-{stage}",
            },
        )

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def run(self) -> dict[str, str]:
        resources = self.template["Resources"]
        for name in creation_order(resources):
            spec = resources[name]
            if "Condition" in spec and not self.resolver.conditions[spec["Condition"]]:
                continue
            create = CREATORS.get(spec["Type"])
            if create is None:
                raise NotImplementedError(f"{name}: {spec['Type']} is not provisioned locally")
            create(self, name, self.resolver.resolve(spec.get("Properties", {})))
        return {
            k: str(self.resolver.resolve(v["Value"]))
            for k, v in self.template.get("Outputs", {}).items()
        }

    def record(self, name: str, physical_id: str, **attributes: str) -> None:
        self.resolver.physical[name] = physical_id
        for attribute, value in attributes.items():
            self.resolver.attributes[(name, attribute)] = value


@creates("AWS::KMS::Key")
def _kms_key(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    kms = p.client("kms")
    key = kms.create_key(
        Description=props.get("Description", ""),
        KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
        KeySpec=props.get("KeySpec", "SYMMETRIC_DEFAULT"),
        Policy=json.dumps(props["KeyPolicy"]),
    )["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    p.record(name, key["KeyId"], Arn=key["Arn"], KeyId=key["KeyId"])


@creates("AWS::KMS::Alias")
def _kms_alias(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    p.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    p.record(name, props["AliasName"])


@creates("AWS::SQS::Queue")
def _queue(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    attributes = {
        key: json.dumps(value)
        if isinstance(value, dict)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
        for key, value in props.items()
        if key != "QueueName"
    }
    sqs = p.client("sqs")
    url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    p.record(name, url, Arn=arn, QueueName=props["QueueName"], QueueUrl=url)


@creates("AWS::SQS::QueuePolicy")
def _queue_policy(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    for url in props["Queues"]:
        p.client("sqs").set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
        )
    p.record(name, name)


@creates("AWS::S3::Bucket")
def _bucket(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    s3 = p.client("s3")
    bucket = props["BucketName"]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": p.region})
    if block := props.get("PublicAccessBlockConfiguration"):
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
    if encryption := props.get("BucketEncryption"):
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                        "BucketKeyEnabled": rule.get("BucketKeyEnabled", False),
                    }
                    for rule in encryption["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    if cors := props.get("CorsConfiguration"):
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {k.replace("MaxAge", "MaxAgeSeconds"): v for k, v in rule.items()}
                    for rule in cors["CorsRules"]
                ]
            },
        )
    if lifecycle := props.get("LifecycleConfiguration"):
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [_lifecycle_rule(rule) for rule in lifecycle["Rules"]]
            },
        )
    if notifications := props.get("NotificationConfiguration"):
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": q["Queue"],
                        "Events": [q["Event"]],
                        "Filter": {"Key": {"FilterRules": q["Filter"]["S3Key"]["Rules"]}},
                    }
                    for q in notifications.get("QueueConfigurations", [])
                ]
            },
        )
    p.record(name, bucket, Arn=f"arn:aws:s3:::{bucket}", DomainName=f"{bucket}.s3.amazonaws.com")


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return out


@creates("AWS::S3::BucketPolicy")
def _bucket_policy(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    document = props["PolicyDocument"]
    if (p.endpoint_url or "").startswith("http://"):
        # The local moto server speaks plain HTTP and enforces bucket policies: the TLS-only
        # statement would deny every request, so it is the one statement not applied locally.
        document = {
            **document,
            "Statement": [
                st
                for st in document["Statement"]
                if "aws:SecureTransport" not in str(st.get("Condition", {}))
            ],
        }
    if document["Statement"]:
        p.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
    p.record(name, props["Bucket"])


@creates("AWS::DynamoDB::Table")
def _table(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    ddb = p.client("dynamodb")
    args: dict[str, Any] = {
        "TableName": props["TableName"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if stream := props.get("StreamSpecification"):
        args["StreamSpecification"] = {"StreamEnabled": True, **stream}
    if props.get("DeletionProtectionEnabled"):
        args["DeletionProtectionEnabled"] = True
    table = ddb.create_table(**args)["TableDescription"]
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(
            TableName=props["TableName"],
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    if ttl := props.get("TimeToLiveSpecification"):
        ddb.update_time_to_live(TableName=props["TableName"], TimeToLiveSpecification=ttl)
    p.record(
        name, props["TableName"], Arn=table["TableArn"], StreamArn=table.get("LatestStreamArn", "")
    )


@creates("AWS::SES::EmailIdentity")
def _mail_identity(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    # Locally mail goes to the stack's SMTP server (infra/local_mail.py), not through SES.
    p.record(name, props["EmailIdentity"])


@creates("AWS::SNS::Topic")
def _topic(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    arn = p.client("sns").create_topic(Name=props["TopicName"])["TopicArn"]
    p.record(name, arn, TopicArn=arn, TopicName=props["TopicName"])


@creates("AWS::SNS::Subscription")
def _subscription(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    reply = p.client("sns").subscribe(
        TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"]
    )
    p.record(name, reply["SubscriptionArn"])


@creates("AWS::CloudWatch::Alarm")
def _alarm(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    p.client("cloudwatch").put_metric_alarm(**props)
    p.record(name, props["AlarmName"])


@creates("AWS::Athena::WorkGroup")
def _workgroup(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    config = {k: v for k, v in props["WorkGroupConfiguration"].items() if k != "EngineVersion"}
    p.client("athena").create_work_group(
        Name=props["Name"], Description=props.get("Description", ""), Configuration=config
    )
    p.record(name, props["Name"])


@creates("AWS::Glue::Database")
def _glue_database(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    p.client("glue").create_database(DatabaseInput=props["DatabaseInput"])
    p.record(name, props["DatabaseInput"]["Name"])


@creates("AWS::Glue::Table")
def _glue_table(p: Provisioner, name: str, props: dict[str, Any]) -> None:
    p.client("glue").create_table(
        DatabaseName=props["DatabaseName"], TableInput=props["TableInput"]
    )
    p.record(name, props["TableInput"]["Name"])


def provision(endpoint_url: str, region: str, stage: str) -> dict[str, str]:
    """Create every resource of the template; returns the template's Outputs."""
    return Provisioner(endpoint_url, region, stage).run()
