"""`make deploy STAGE=dev [DRY_RUN=1]`: package, upload the artifacts, deploy the stack through a
change set. The two `aws cloudformation package` / `deploy` steps, done with boto3 (no AWS CLI).

1. ``infra/build.py`` builds build/<stage>/package (SAM template, function zip, audio layer);
2. cfn-lint checks the template;
3. "package": every local ``CodeUri``/``ContentUri`` becomes ``s3://<artifacts>/<stage>/<sha256>.zip``
   (content-addressed: an unchanged zip is neither uploaded nor redeployed), and the packaged
   template itself is uploaded too (it is larger than CloudFormation's 51,200-byte inline limit);
4. "deploy": a change set on stack ``ailas-<stage>`` (CREATE or UPDATE), executed, then waited
   for. A change set without changes is deleted and reported as "no changes".

The artifacts bucket ``ailas-<stage>-artifacts-<account>`` is created when missing: private,
encrypted, TLS-only, versioned. With ``DRY_RUN=1`` steps 1-3 run offline (no upload) and the
packaged template is written to build/<stage>/deploy/packaged.json.

Stage parameters: ``Stage`` is the stage; ``PUBLIC_BASE_URL`` (optional) sets the
``PublicBaseUrl`` parameter (a custom domain in front of the API).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import WaiterError

from infra import build, sizes

ROOT = Path(__file__).resolve().parent.parent
STACK = "ailas-{stage}"
ACCOUNT_PLACEHOLDER = "<ACCOUNT_ID>"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
INLINE_LIMIT = 51_200


def artifacts_bucket(stage: str, account: str) -> str:
    return f"ailas-{stage}-artifacts-{account}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_artifacts(
    template: dict[str, Any], package: Path, bucket: str, stage: str
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The template with S3 URIs for its local zips, and {s3 key: local zip} to upload."""
    packaged = json.loads(json.dumps(template))
    uploads: dict[str, Path] = {}
    for spec in packaged["Resources"].values():
        properties = spec.get("Properties", {})
        for field in ("CodeUri", "ContentUri"):
            value = properties.get(field)
            if isinstance(value, str) and not value.startswith("s3://"):
                local = (package / value).resolve()
                key = f"{stage}/{sha256(local)}{local.suffix}"
                uploads[key] = local
                properties[field] = f"s3://{bucket}/{key}"
    return packaged, uploads


# The stack's parameters an operator gives by environment (the template's defaults otherwise).
PARAMETERS = {
    "PUBLIC_BASE_URL": "PublicBaseUrl",
    "MAIL_DOMAIN": "MailDomain",
    "OPS_EMAIL": "OpsEmail",  # where the alarms are mailed
}


def parameters(stage: str) -> list[dict[str, str]]:
    found = [{"ParameterKey": "Stage", "ParameterValue": stage}]
    for variable, key in PARAMETERS.items():
        if value := os.environ.get(variable):
            found.append({"ParameterKey": key, "ParameterValue": value})
    return found


def lint(template: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(template)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"cfn-lint found problems in {template}:\n{result.stdout}")


# --- AWS ------------------------------------------------------------------------------------------


def ensure_artifacts_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    options = {} if region == "us-east-1" else {"LocationConstraint": region}
    s3.create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": options} if options else {}))
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )


def upload(s3: Any, bucket: str, uploads: dict[str, Path]) -> None:
    for key, local in uploads.items():
        try:
            s3.head_object(Bucket=bucket, Key=key)
            print(f"  s3://{bucket}/{key} already there")
        except s3.exceptions.ClientError:
            print(f"  uploading {local.name} → s3://{bucket}/{key}")
            s3.upload_file(str(local), bucket, key)


def stack_status(cloudformation: Any, stack: str) -> str | None:
    try:
        return cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def keeping_previous(
    cloudformation: Any, stack: str, given: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """An update keeps every parameter the environment does not give (OPS_EMAIL, MAIL_DOMAIN
    from an earlier deploy): left out of a change set, it would fall back to the template's
    default, dropping the alarms' mail or the members' sign-in mail domain."""
    named = {p["ParameterKey"] for p in given}
    current = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Parameters", [])
    kept = [
        {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
        for p in current
        if p["ParameterKey"] not in named
    ]
    return [*given, *kept]


def deploy_stack(
    cloudformation: Any,
    stack: str,
    template_url: str,
    stack_parameters: list[dict[str, Any]],
    poll_s: float = 10.0,
    deadline_s: float = 3600.0,
) -> str:
    """Create and execute a change set; the final stack status, or "NO_CHANGES".

    boto3's waiters poll every ``poll_s`` and give up after ``deadline_s``: a deploy that hangs
    fails instead of polling forever."""
    status = stack_status(cloudformation, stack)
    if status == "ROLLBACK_COMPLETE":  # a failed first create cannot be updated
        cloudformation.delete_stack(StackName=stack)
        _wait(cloudformation, "stack_delete_complete", poll_s, deadline_s, StackName=stack)
        status = None
    creating = status is None or status == "REVIEW_IN_PROGRESS"
    if not creating:
        stack_parameters = keeping_previous(cloudformation, stack, stack_parameters)
    name = f"deploy-{time.strftime('%Y%m%d-%H%M%S')}"
    cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType="CREATE" if creating else "UPDATE",
        TemplateURL=template_url,
        Parameters=stack_parameters,
        Capabilities=CAPABILITIES,
        Tags=[{"Key": "app", "Value": "ailas"}],
    )
    with contextlib.suppress(WaiterError):  # FAILED is an answer too: read why below
        _wait(
            cloudformation,
            "change_set_create_complete",
            poll_s,
            deadline_s,
            StackName=stack,
            ChangeSetName=name,
        )
    change_set = cloudformation.describe_change_set(StackName=stack, ChangeSetName=name)
    if change_set["Status"] == "FAILED":
        reason = change_set.get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            cloudformation.delete_change_set(StackName=stack, ChangeSetName=name)
            return "NO_CHANGES"
        raise SystemExit(f"change set {name} failed: {reason}")
    if change_set["Status"] != "CREATE_COMPLETE":
        raise SystemExit(f"change set {name} is still {change_set['Status']}")
    for change in change_set.get("Changes", []):
        rc = change["ResourceChange"]
        replace = " (REPLACEMENT)" if rc.get("Replacement") == "True" else ""
        print(f"  {rc['Action']:8s} {rc['LogicalResourceId']} {rc['ResourceType']}{replace}")
    cloudformation.execute_change_set(StackName=stack, ChangeSetName=name)
    waiter = "stack_create_complete" if creating else "stack_update_complete"
    try:
        _wait(cloudformation, waiter, poll_s, deadline_s, StackName=stack)
    except WaiterError as error:
        if "Max attempts exceeded" in str(error):
            raise SystemExit(f"{stack} did not finish within {deadline_s:.0f} s") from None
    return stack_status(cloudformation, stack) or "DELETED"  # a failure: its rollback status


def _wait(client: Any, name: str, poll_s: float, deadline_s: float, **kwargs: Any) -> None:
    delay = max(1, round(poll_s))
    config = {"Delay": delay, "MaxAttempts": max(1, int(deadline_s // delay))}
    client.get_waiter(name).wait(WaiterConfig=config, **kwargs)


def main() -> None:
    stage = os.environ.get("STAGE", "dev")
    dry_run = os.environ.get("DRY_RUN", "") not in ("", "0", "false", "no")
    region = os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-1")
    package = build.build(stage)
    template_path = package / "sam.json"
    print(f"template: {template_path}")
    if not sizes.report(package):
        raise SystemExit("a function is over Lambda's 250 MB or carries a forbidden package")
    lint(template_path)
    template = json.loads(template_path.read_text())
    stack = STACK.format(stage=stage)
    out = package.parent / "deploy"
    out.mkdir(exist_ok=True)

    if dry_run:
        bucket = artifacts_bucket(stage, ACCOUNT_PLACEHOLDER)
        packaged, uploads = package_artifacts(template, package, bucket, stage)
        (out / "packaged.json").write_text(json.dumps(packaged, indent=1))
        (out / "parameters.json").write_text(json.dumps(parameters(stage), indent=1))
        print(f"DRY_RUN: nothing was sent to AWS. A deploy of stack {stack} ({region}) would:")
        for key, local in uploads.items():
            print(f"  upload {local.relative_to(ROOT)} → s3://{bucket}/{key}")
        print(f"  upload the packaged template ({len(json.dumps(packaged))} bytes)")
        print(f"  create and execute a change set with parameters {parameters(stage)}")
        print(f"packaged template: {out / 'packaged.json'}")
        return

    import boto3

    account = boto3.client("sts").get_caller_identity()["Account"]
    bucket = artifacts_bucket(stage, account)
    s3 = boto3.client("s3", region_name=region)
    ensure_artifacts_bucket(s3, bucket, region)
    packaged, uploads = package_artifacts(template, package, bucket, stage)
    upload(s3, bucket, uploads)
    body = json.dumps(packaged).encode()
    template_key = f"{stage}/templates/{hashlib.sha256(body).hexdigest()}.json"
    s3.put_object(Bucket=bucket, Key=template_key, Body=body)
    (out / "packaged.json").write_bytes(body)
    template_url = f"https://{bucket}.s3.{region}.amazonaws.com/{template_key}"
    print(f"deploying {stack} in {region} from {template_url}")
    cloudformation = boto3.client("cloudformation", region_name=region)
    status = deploy_stack(cloudformation, stack, template_url, parameters(stage))
    print(f"{stack}: {status}")
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "NO_CHANGES"):
        raise SystemExit(1)
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        print(f"  {output['OutputKey']}: {output['OutputValue']}")
    print(f"first deploy? next: AILAS_STAGE={stage} python -m infra.ops bootstrap-operator ...")


if __name__ == "__main__":
    main()
