"""`make deploy STAGE=dev`: package, upload the artifacts, deploy the stack with a change set.
With DRY_RUN=1 it does everything that needs no AWS account and says where the template is.

The two `aws cloudformation package` / `deploy` steps, done with boto3 (no AWS CLI needed):
zips go to the artifacts bucket ``ailas-<stage>-artifacts-<account>`` (created if missing), the
template's CodeUri/ContentUri are rewritten to them, and a change set is created and executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    stage = os.environ.get("STAGE", "dev")
    dry_run = os.environ.get("DRY_RUN", "") not in ("", "0")
    subprocess.run([str(ROOT / "infra" / "package.sh"), stage], check=True)
    package = ROOT / "build" / stage / "package"
    template = json.loads((package / "sam.json").read_text())
    if dry_run:
        print(f"DRY_RUN: template ready at {package / 'sam.json'}; nothing was sent to AWS.")
        return
    import boto3

    region = os.environ.get("AWS_DEFAULT_REGION", "ap-northeast-1")
    account = boto3.client("sts").get_caller_identity()["Account"]
    bucket = f"ailas-{stage}-artifacts-{account}"
    s3 = boto3.client("s3", region_name=region)
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    for spec in template["Resources"].values():
        properties = spec.get("Properties", {})
        for field in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(field), str) and properties[field].endswith(".zip"):
                local = package / Path(properties[field]).name
                key = f"{stage}/{hashlib.sha256(local.read_bytes()).hexdigest()}.zip"
                s3.upload_file(str(local), bucket, key)
                properties[field] = f"s3://{bucket}/{key}"
    cloudformation = boto3.client("cloudformation", region_name=region)
    stack = f"ailas-{stage}"
    exists = bool(cloudformation.list_stacks()["StackSummaries"]) and any(
        s["StackName"] == stack and s["StackStatus"] != "DELETE_COMPLETE"
        for s in cloudformation.list_stacks()["StackSummaries"]
    )
    name = f"deploy-{os.urandom(4).hex()}"
    cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType="UPDATE" if exists else "CREATE",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    cloudformation.get_waiter("change_set_create_complete").wait(
        StackName=stack, ChangeSetName=name
    )
    cloudformation.execute_change_set(StackName=stack, ChangeSetName=name)
    waiter = "stack_update_complete" if exists else "stack_create_complete"
    cloudformation.get_waiter(waiter).wait(StackName=stack)
    print(f"deployed {stack}; next: python -m infra.ops bootstrap-operator (first deploy only)")


if __name__ == "__main__":
    sys.exit(main())
