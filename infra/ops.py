"""Operator commands, run against the stage named by AILAS_STAGE with the caller's AWS
credentials, or against the local stack: with AILAS_STAGE unset or `local` and no
AILAS_AWS_ENDPOINT_URL, the stack that `make run` started in this checkout is found through the
file it writes, `.local/stack.json` (or AILAS_STACK_FILE).

    python -m infra.ops bootstrap-operator --name "…" --email ops@example.org
    python -m infra.ops verify-audit [--chain audit|public|all]
    python -m infra.ops checkpoint
    python -m infra.ops rotate-label-key
    python -m infra.ops rebuild-index [--dry-run]
    python -m infra.ops restore-export [--voice V-…]… [--reinsert]
    python -m infra.ops queue-conflicts
    python -m infra.ops index-agents
    python -m infra.ops export-tables DIR
    python -m infra.ops backup-tables
    python -m infra.ops events show | events redrive [--message ID] [--seq N]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from shared import audit

ROOT = Path(__file__).resolve().parent.parent


@click.group()
def cli() -> None:
    """AILAS operator commands."""


@cli.command("bootstrap-operator")
@click.option("--name", required=True)
@click.option("--email", required=True)
def bootstrap_operator(name: str, email: str) -> None:
    """Create an operator; its token is printed once and stored only as a hash."""
    from shared.members.operators import create_operator

    operator, token = create_operator(name, email)
    click.echo(f"operator {operator['member_id']} created.")
    click.echo(f"token (shown once, keep it in a password manager): {token}")


@cli.command("verify-audit")
@click.option(
    "--chain",
    type=click.Choice([audit.AUDIT, audit.PUBLIC, "all"]),
    default="all",
    help="default: both chains",
)
def verify_audit(chain: str) -> None:
    """Walk the whole chain(s): every hash, every link, against every signed checkpoint.
    Lists every problem found; exits 1 when there is any."""
    from shared import checkpoints
    from shared.aws import client
    from shared.formats import logchain
    from shared.labels import keys
    from shared.settings import get_settings

    # The public keys from KMS itself, not the JWKS stored in the registry table: someone who
    # can write the tables could replace that one along with the checkpoints.
    kms = client("kms")
    jwks = keys.jwks(kms, keys.signing_key_ids(kms, get_settings().label_key_id))
    broken = False
    for name in (audit.AUDIT, audit.PUBLIC) if chain == "all" else (chain,):
        signed = checkpoints.every(name)
        walker = audit.walk(
            name, keep={c["size"] for c in signed if isinstance(c.get("size"), int)}
        )
        problems, good = logchain.check_checkpoints(name, signed, walker.hashes, walker.size, jwks)
        problems = walker.problems + problems
        latest = max(good, key=lambda c: c["size"]) if good else None
        against = (
            f"latest checkpoint: {latest['size']} entries at {latest['at']}"
            if latest
            else "no checkpoint yet"
        )
        if not problems:
            click.echo(
                f"{name} chain intact: {walker.checked} entries verified, "
                f"{len(good)} checkpoints ({against})."
            )
            continue
        broken = True
        click.echo(
            f"{name} chain BROKEN: {len(problems)} problems in {walker.checked} entries "
            f"({against}):",
            err=True,
        )
        for problem in sorted(problems, key=lambda p: (p.seq or 0, p.reason)):
            click.echo(f"  {problem}", err=True)
    if broken:
        sys.exit(1)


@cli.command("checkpoint")
def checkpoint() -> None:
    """Sign both chains' heads now (the hourly job and bursts of writes do it anyway)."""
    import functions.events.signer  # noqa: F401 - the local stack signs in-process
    from shared import checkpoints

    signed = checkpoints.create_all()
    for item in signed:
        click.echo(f"{item['chain']}: {item['size']} entries, head {item['head_hash']}")
    if not signed:
        click.echo("nothing new to sign: every chain's head already has a checkpoint.")


@cli.command("rotate-label-key")
@click.option(
    "--signer-role-arn",
    envvar="AILAS_LABEL_SIGNER_ROLE_ARN",
    help="default: the stack's LabelSignerRoleArn output",
)
@click.option(
    "--lead-s",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="seconds the new key is published before it signs (the JWKS route's cache and "
    "max-age are 30 s each, so outside verifiers know it first)",
)
def rotate_label_key(signer_role_arn: str | None, lead_s: int) -> None:
    """A new ES256 key signs new labels; the old one stays published so its labels verify.
    The new key is published ``--lead-s`` seconds before the alias moves to it: a checkpoint
    or label it signed at once read as forged (``unknown kid``) to whoever had the JWKS.

    The signer role's IAM policy names the original key's ARN, so the new key's own policy
    grants that role what signing needs (a key policy grant suffices within the account).
    """
    from shared.aws import client
    from shared.labels import keyring, keys
    from shared.settings import get_settings

    settings = get_settings()
    kms = client("kms")
    alias = settings.label_key_id
    if not alias.startswith("alias/"):  # checked before anything changes
        raise click.ClickException(f"AILAS_LABEL_KEY_ID is {alias}, not the alias rotation moves.")
    current = kms.describe_key(KeyId=alias)["KeyMetadata"]
    kms.tag_resource(KeyId=current["KeyId"], Tags=[keys.TAG])
    policy = json.loads(kms.get_key_policy(KeyId=current["KeyId"], PolicyName="default")["Policy"])
    signer_role_arn = signer_role_arn or _stack_output(
        f"ailas-{settings.stage}", "LabelSignerRoleArn"
    )
    if signer_role_arn:
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "LabelSigner"]
        policy["Statement"].append(
            {
                "Sid": "LabelSigner",
                "Effect": "Allow",
                "Principal": {"AWS": signer_role_arn},
                "Action": ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"],
                "Resource": "*",
            }
        )
    new = kms.create_key(
        Description=f"ailas-{settings.stage} label signing (ES256)",
        KeySpec="ECC_NIST_P256",
        KeyUsage="SIGN_VERIFY",
        Policy=json.dumps(policy),
        Tags=[keys.TAG],
    )["KeyMetadata"]["KeyId"]
    published = keyring.publish()
    click.echo(f"JWKS publishes {len(published['keys'])} keys; {new} signs in {lead_s} s.")
    time.sleep(lead_s)
    kms.update_alias(AliasName=alias, TargetKeyId=new)
    click.echo(f"{alias} now signs with {new}.")
    if not signer_role_arn:
        click.echo("no label_signer role found (local stack?): the key policy was copied as is")


def _stack_output(stack: str, key: str) -> str | None:
    from botocore.exceptions import ClientError

    from shared.aws import client

    try:
        outputs = (
            client("cloudformation")
            .describe_stacks(StackName=stack)["Stacks"][0]
            .get("Outputs", [])
        )
    except ClientError:
        return None
    return next((o["OutputValue"] for o in outputs if o["OutputKey"] == key), None)


@cli.command("rebuild-index")
@click.option("--dry-run", is_flag=True)
def rebuild_index(dry_run: bool) -> None:
    """Re-fingerprint retained voices for the current algorithm; list those needing an upload."""
    from shared.voices.reindex import rebuild

    result = rebuild(dry_run=dry_run)
    click.echo(
        f"algorithm {result.algorithm}: {len(result.current)} current, "
        f"{len(result.rebuilt)} rebuilt{' (dry run)' if dry_run else ''}, "
        f"{len(result.need_upload)} need a new upload, "
        f"{len(result.constellations)} constellations made from retained audio"
        f"{' (dry run)' if dry_run else ''}"
    )
    for voice in result.need_upload:
        click.echo(f"  {voice['voice_no']}  holder {voice['holder_id']}  {voice['title']}")


@cli.command("restore-export")
@click.option(
    "--voice",
    "voice_nos",
    multiple=True,
    help="a voice to restore (repeatable); default: every searchable voice in the index",
)
@click.option(
    "--reinsert",
    is_flag=True,
    help="on Athena, INSERT the voices' rows into the export again (only if they are gone)",
)
def restore_export(voice_nos: tuple[str, ...], reinsert: bool) -> None:
    """Stage the bulk audit's export of voices from the keyed fingerprint index in DynamoDB
    (no audio needed) and publish it again. Exits 1 when a voice has no postings there."""
    from shared.audits.restore import restore

    result = restore(list(voice_nos) or None, reinsert=reinsert)
    click.echo(
        f"algorithm {result.algorithm}: {len(result.staged)} staged "
        f"({sum(result.staged.values())} pairs), {len(result.published)} published, "
        f"{len(result.missing)} with no postings in the index"
    )
    for voice_no in result.missing:
        click.echo(f"  {voice_no}: not in the index (rebuild-index, or a new upload)")
    if result.missing:
        sys.exit(1)


@cli.command("queue-conflicts")
def queue_conflicts() -> None:
    """Put voices that were in conflict before the operators' queue existed into it (the
    sparse gsi2 index that GET /v1/voices?status=conflict and the portal read). Idempotent."""
    from boto3.dynamodb.conditions import Attr

    from shared import store
    from shared.voices import service

    waiting = store.scan_all(Attr("sk").eq("VOICE") & Attr("status").eq("conflict"))
    queued = 0
    for voice in waiting:
        if "gsi2pk" not in voice:
            fields = service.queue_fields(voice, "conflict", voice["updated_at"])
            expression, names, values = store.set_fields(fields)
            store.registry().update_item(
                Key=service.key(voice["voice_no"]),
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            queued += 1
    click.echo(f"{len(waiting)} voices in conflict; {queued} newly queued for the operators.")


@cli.command("index-agents")
def index_agents() -> None:
    """Put agency grants made before the portal's agency pages into their agency's index
    (gsi1 AGENCY#…, which lists the performers an agency acts for). Idempotent."""
    from boto3.dynamodb.conditions import Attr
    from botocore.exceptions import ClientError

    from shared import store
    from shared.intents import service

    grants = store.scan_all(Attr("sk").begins_with("AGENT#") & Attr("pk").begins_with("PERFORMER#"))
    indexed = 0
    for grant in grants:
        if "gsi1pk" not in grant:
            performer_id = grant["pk"].split("#", 1)[1]
            fields = service.agency_fields(performer_id, grant["agent_id"])
            expression, names, values = store.set_fields(fields)
            try:  # only a grant that still exists: a removed one must not come back as a stub
                store.registry().update_item(
                    Key={"pk": grant["pk"], "sk": grant["sk"]},
                    UpdateExpression=expression,
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue
            indexed += 1
    click.echo(f"{len(grants)} agency grants; {indexed} newly indexed.")


@cli.command("export-tables")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_tables(directory: Path) -> None:
    """Every table to JSON Lines (one file per table) — a portable export."""
    from shared import store
    from shared.aws import resource
    from shared.settings import get_settings

    settings = get_settings()
    directory.mkdir(parents=True, exist_ok=True)
    for name in (settings.registry_table, settings.audit_table, settings.fingerprint_table):
        table = resource("dynamodb").Table(name)
        count, kwargs = 0, dict[str, Any]()
        with open(directory / f"{name}.jsonl", "w", encoding="utf-8") as out:
            while True:
                page = table.scan(**kwargs)
                for item in page.get("Items", []):
                    out.write(
                        json.dumps(
                            store.from_dynamo(item),
                            ensure_ascii=False,
                            default=lambda b: b.value.hex(),
                        )
                        + "\n"
                    )
                    count += 1
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        click.echo(f"{name}: {count} items")


@cli.command("backup-tables")
def backup_tables() -> None:
    """An on-demand DynamoDB backup of every table (point-in-time recovery runs anyway)."""
    from shared.aws import client
    from shared.settings import get_settings

    settings = get_settings()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (settings.registry_table, settings.audit_table, settings.fingerprint_table):
        arn = client("dynamodb").create_backup(TableName=name, BackupName=f"{name}-{stamp}")[
            "BackupDetails"
        ]["BackupArn"]
        click.echo(f"{name}: {arn}")


@cli.group("events")
def events_group() -> None:
    """Domain events: delivery progress, and events set aside after failing their retries."""


@events_group.command("show")
def events_show() -> None:
    """The delivery cursor, every set-aside event and the dead-letter queues' counts (exit 1
    when anything waits)."""
    from infra import event_failures
    from shared import events

    cursor = events.delivery_cursor() or {}
    click.echo(
        f"delivered up to audit entry {cursor.get('last_seq', '-')} "
        f"({cursor.get('last_action', '-')}, at {cursor.get('delivered_at', '-')})"
    )
    waiting = event_failures.set_aside()
    for item in waiting:
        what = (
            ", ".join(f"#{e['seq']} {e['action']} {e['entity']}" for e in item.entries)
            or "records no longer in the stream: redrive them with --seq"
        )
        click.echo(f"set aside {item.message_id} ({item.condition}, {item.arrived}): {what}")
    if not waiting:
        click.echo("no events set aside.")
    dead = events.dead_letters()
    for queue, count in dead.items():
        click.echo(f"{queue} dead-letter queue: {'?' if count is None else count} waiting")
    # a queue that could not be counted is not known to be empty
    sys.exit(1 if waiting or any(c is None or c > 0 for c in dead.values()) else 0)


@events_group.command("redrive")
@click.option("--message", "message_ids", multiple=True, help="a set-aside message (repeatable)")
@click.option("--seq", "seqs", type=int, multiple=True, help="an audit entry to deliver again")
def events_redrive(message_ids: tuple[str, ...], seqs: tuple[int, ...]) -> None:
    """Deliver set-aside events again (all of them by default), or audit entries by seq."""
    from infra import event_failures

    if seqs:
        failed = event_failures.deliver(event_failures.audit_entries(list(seqs)))
        click.echo(f"delivered {len(seqs) - len(failed)} of {len(seqs)} entries")
        sys.exit(1 if failed else 0)
    waiting = [
        i for i in event_failures.set_aside() if not message_ids or i.message_id in message_ids
    ]
    still = 0
    for item in waiting:
        failed = event_failures.redrive(item)
        state = f"failed again: {failed}" if failed else "delivered, removed from the queue"
        click.echo(f"{item.message_id} (entries {item.seqs}): {state}")
        still += bool(failed)
    click.echo(f"{len(waiting) - still} of {len(waiting)} set-aside batches redriven.")
    sys.exit(1 if still else 0)


STACK_FILE = ROOT / ".local" / "stack.json"


def use_local_stack() -> None:
    """Point the settings at the stack `make run` started in this checkout, unless the caller
    targets AWS (AILAS_STAGE=dev|prod) or a stack already (AILAS_AWS_ENDPOINT_URL)."""
    if os.environ.get("AILAS_STAGE", "local") != "local" or os.environ.get(
        "AILAS_AWS_ENDPOINT_URL"
    ):
        return
    local = os.environ.get("AILAS_LOCAL_DIR")
    path = Path(
        os.environ.get("AILAS_STACK_FILE") or (Path(local) / "stack.json" if local else STACK_FILE)
    )
    try:
        stack: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SystemExit(
            f"No local stack is running ({path} not found). Start one with `make run`, or set "
            "AILAS_STAGE=dev|prod (with AWS credentials) to work on a deployed stage."
        ) from None
    os.environ.update(stack["environment"])
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # moto accepts any credentials
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")


def main() -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    use_local_stack()
    try:
        cli(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.Abort:
        sys.exit(1)
    except (BotoCoreError, ClientError) as error:
        endpoint = os.environ.get("AILAS_AWS_ENDPOINT_URL")
        where = f"the local stack at {endpoint}" if endpoint else "AWS"
        click.echo(f"error: cannot work on {where}: {error}", err=True)
        if endpoint:
            click.echo(
                "Is `make run` still up? (a stale .local/stack.json stays after a crash)", err=True
            )
        else:
            click.echo("Check AILAS_STAGE and your AWS credentials (AWS_PROFILE).", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
