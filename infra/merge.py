"""The merge template for `chalice package`: every data resource of infra/resources.yaml, plus
what Chalice cannot say itself — each function's least-privilege role, its environment (the
names of the stage's resources), the audio layer, the SQS event source's partial batch failures
and the DynamoDB stream of the audit table."""

from __future__ import annotations

import json
import sys
from typing import Any

from infra.template import load

# function logical id (as Chalice names them) → what it touches
FUNCTIONS: dict[str, dict[str, Any]] = {
    "APIHandler": {
        "tables": ["RegistryTable", "AuditTable", "FingerprintTable"],
        "read_only": ["FingerprintTable"],
        "s3_put": ["uploads/*"],
        "invoke": ["LabelSigner"],
        "audio": True,
    },
    "Ingest": {
        "tables": ["RegistryTable", "AuditTable", "FingerprintTable", "IdempotencyTable"],
        "s3_rw": ["uploads/*", "retained/*"],
        "queue": True,
        "audio": True,
    },
    "DomainEvents": {"tables": ["RegistryTable", "AuditTable"], "stream": True, "audio": False},
    "EndContracts": {"tables": ["RegistryTable", "AuditTable"], "audio": False},
    "LabelSigner": {"tables": ["RegistryTable"], "kms_sign": True, "audio": False},
}


def _table_arns(name: str) -> list[Any]:
    arn = {"Fn::GetAtt": [name, "Arn"]}
    return [arn, {"Fn::Sub": f"${{{name}.Arn}}/index/*"}]


def policy(function: str, spec: dict[str, Any]) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    writable = [t for t in spec["tables"] if t not in spec.get("read_only", [])]
    if writable:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:Query",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:ConditionCheckItem",
                ],
                "Resource": [a for t in writable for a in _table_arns(t)],
            }
        )
    if spec.get("read_only"):
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                "Resource": [a for t in spec["read_only"] for a in _table_arns(t)],
            }
        )
    if spec.get("stream"):
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                "Resource": [{"Fn::GetAtt": ["AuditTable", "StreamArn"]}],
            }
        )
    if spec.get("queue"):
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ChangeMessageVisibility",
                ],
                "Resource": [{"Fn::GetAtt": ["IngestQueue", "Arn"]}],
            }
        )
    prefixes = spec.get("s3_put", []) + spec.get("s3_rw", [])
    if prefixes:
        objects = [{"Fn::Sub": f"${{AudioBucket.Arn}}/{p}"} for p in prefixes]
        actions = ["s3:PutObject"] + (
            ["s3:GetObject", "s3:DeleteObject"] if spec.get("s3_rw") else []
        )
        statements.append({"Effect": "Allow", "Action": actions, "Resource": objects})
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": [{"Fn::GetAtt": ["DataKey", "Arn"]}],
            }
        )
    if spec.get("kms_sign"):
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"],
                "Resource": [{"Fn::GetAtt": ["LabelSigningKey", "Arn"]}],
            }
        )
    for target in spec.get("invoke", []):
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": [{"Fn::GetAtt": [target, "Arn"]}],
            }
        )
    statements.append(
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:"
                    "${AWS::AccountId}:log-group:/aws/lambda/*"
                }
            ],
        }
    )
    return {
        "PolicyName": f"{function}Least",
        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
    }


def environment() -> dict[str, Any]:
    return {
        "AILAS_BUCKET": {"Ref": "AudioBucket"},
        "AILAS_INGEST_QUEUE_URL": {"Ref": "IngestQueue"},
        "AILAS_AUDIT_STREAM_ARN": {"Fn::GetAtt": ["AuditTable", "StreamArn"]},
        "AILAS_LABEL_KEY_ID": {"Ref": "LabelSigningKeyAlias"},
        "AILAS_LABEL_SIGNER_FUNCTION": {"Ref": "LabelSigner"},
        "AILAS_ACCOUNT_ID": {"Ref": "AWS::AccountId"},
        "AILAS_PUBLIC_BASE_URL": {
            "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"
        },
    }


def merge_template(stage: str) -> dict[str, Any]:
    template = load()
    template["Parameters"]["Stage"]["Default"] = stage
    resources = template["Resources"]
    resources["AudioLayer"] = {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "LayerName": {"Fn::Sub": "ailas-${Stage}-audio"},
            "ContentUri": "./audio-layer.zip",
            "CompatibleRuntimes": ["python3.12"],
        },
    }
    for function, spec in FUNCTIONS.items():
        resources[f"{function}Role"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [policy(function, spec)],
            },
        }
        properties: dict[str, Any] = {
            "Role": {"Fn::GetAtt": [f"{function}Role", "Arn"]},
            "Environment": {"Variables": environment()},
        }
        if spec.get("audio"):
            properties["Layers"] = [{"Ref": "AudioLayer"}]
        if function == "Ingest":
            properties["Events"] = {
                "IngestSqsEventSource": {
                    "Type": "SQS",
                    "Properties": {
                        "Queue": {"Fn::GetAtt": ["IngestQueue", "Arn"]},
                        "BatchSize": 5,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    },
                }
            }
        if function == "DomainEvents":
            properties["Events"] = {
                "DomainEventsDynamodbEventSource": {
                    "Type": "DynamoDB",
                    "Properties": {
                        "Stream": {"Fn::GetAtt": ["AuditTable", "StreamArn"]},
                        "StartingPosition": "TRIM_HORIZON",
                        "BatchSize": 50,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    },
                }
            }
        resources[function] = {"Properties": properties}
        resources[f"{function}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{function}}}"},
                "RetentionInDays": 90,
            },
        }
    resources["NotFoundResponse"] = {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "RestApiId": {"Ref": "RestAPI"},
            "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
            "StatusCode": "404",
            "ResponseTemplates": {
                "application/json": json.dumps({"code": "not_found", "message": "No such route."})
            },
        },
    }
    resources["RestAPI"] = {
        "Properties": {
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingBurstLimit": 200,
                    "ThrottlingRateLimit": 100,
                }
            ]
        }
    }
    template.pop("Outputs", None)
    return template


if __name__ == "__main__":
    json.dump(merge_template(sys.argv[1] if len(sys.argv) > 1 else "dev"), sys.stdout, indent=1)
