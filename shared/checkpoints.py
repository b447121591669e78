"""Signed checkpoints: the head of each chain (size, head hash, time) signed ES256 with the label
key, through the label signer (the only holder of kms:Sign). Signed every hour and after a burst of
public entries; kept in the audit table (``pk = checkpoint#<chain>``, ``sk`` = the size) and served
at ``GET /v1/log/checkpoints``. Once a mirror holds a checkpoint, an edit-and-rehash or a deleted
tail before it can no longer pass for the registry's history."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from shared import audit, events, store
from shared.clock import now_iso
from shared.formats import jws
from shared.formats.logchain import CHECKPOINT_KIND
from shared.labels import signing
from shared.logging import logger
from shared.settings import get_settings

CHAINS = (audit.PUBLIC, audit.AUDIT)
# A checkpoint follows once this many public entries have been appended since the last one.
BURST = 20
SERVED = ("chain", "size", "head_hash", "at", "kid", "jws")


def _pk(chain: str) -> str:
    return f"checkpoint#{chain}"


def view(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in SERVED if k in item}


def create(chain: str) -> dict[str, Any] | None:
    """Sign the chain's current head; None when the chain is empty or already checkpointed at
    this size (by this call's twin: the hourly job and the burst may meet)."""
    head = audit.latest(chain)
    if head is None:
        return None
    last = latest(chain)
    if last is not None and last["size"] >= head["seq"]:
        return None
    at = now_iso()
    claims = {
        "kind": CHECKPOINT_KIND,
        "iss": get_settings().public_base_url,
        "chain": chain,
        "size": head["seq"],
        "head_hash": head["hash"],
        "at": at,
        "iat": int(time.time()),
    }
    signed = signing.sign(claims, typ=jws.CHECKPOINT_TYP)
    item = {
        "pk": _pk(chain),
        "sk": f"{head['seq']:012d}",
        "chain": chain,
        "size": head["seq"],
        "head_hash": head["hash"],
        "at": at,
        "kid": signed["kid"],
        "jws": signed["token"],
    }
    try:
        store.audit_table().put_item(
            Item=store.to_dynamo(item), ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    logger.info("checkpoint signed", extra={"chain": chain, "size": head["seq"]})
    return view(item)


def create_all() -> list[dict[str, Any]]:
    return [c for c in (create(chain) for chain in CHAINS) if c is not None]


def latest(chain: str) -> dict[str, Any] | None:
    items, _ = page(chain, limit=1)
    return items[0] if items else None


def page(
    chain: str, *, before: int | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], int | None]:
    """Checkpoints newest first (largest size first), and the size to continue before."""
    condition, values = "pk = :p", {":p": _pk(chain)}
    if before is not None:
        condition += " AND sk < :s"
        values[":s"] = f"{before:012d}"
    result = store.audit_table().query(
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        ScanIndexForward=False,
        Limit=limit,
        ConsistentRead=True,
    )
    items = [view(store.from_dynamo(i)) for i in result.get("Items", [])]
    more = "LastEvaluatedKey" in result and items
    return items, (items[-1]["size"] if more else None)


def every(chain: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        items, before = page(chain, before=before, limit=200)
        found += items
        if before is None:
            return found


@events.subscribe("")
def after_a_burst(event: events.DomainEvent) -> None:
    """Checkpoint both chains once BURST public entries have followed the last checkpoint.
    Best effort: a failure is logged and must not hold back the labels' events (the hourly job
    signs anyway)."""
    try:
        head = audit.latest(audit.PUBLIC)
        last = latest(audit.PUBLIC)
        if head is not None and head["seq"] - (last["size"] if last else 0) >= BURST:
            create_all()
    except Exception:  # see the docstring
        logger.exception("checkpoint after a burst failed", extra={"seq": event.seq})


def listing(chain: str, before: int | None, limit: int) -> dict[str, Any]:
    """A page of ``chain``'s checkpoints, newest first, with the latest one and the next
    ``before`` (the API's /v1/log/checkpoints)."""
    items, more = page(chain, before=before, limit=limit)
    newest = latest(chain) if before is not None else (items[0] if items else None)
    return {
        "chain": chain,
        "latest": newest,
        "checkpoints": items,
        "next": str(more) if more is not None else None,
    }
