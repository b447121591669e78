"""Labels (ラベル): issued when the fairness rule holds, signed by KMS (through the label_signer
function), verified without KMS, and kept in step with consent: every label is re-evaluated when
an intent, contract, voice, member or AI system it depends on changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key

from shared import audit, ids, store
from shared.access import Principal
from shared.business import ai_systems
from shared.clock import iso, now, now_iso, parse_instant
from shared.errors import ApiError, Conflict, NotFound
from shared.labels import fairness, signing
from shared.members import service as members
from shared.settings import get_settings

LIVE = ("valid", "suspended")
FINAL = ("revoked",)
MAX_VALIDITY = timedelta(days=365)


class Unfair(ApiError):
    status, code = 422, "unfair"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        voices = sorted({p["voice_no"] for p in problems if p["voice_no"]})
        super().__init__(
            f"The trade is not fair yet: {len(problems)} problem(s) with {len(voices)} voice(s).",
            details={"problems": problems},
        )
        self.problems = problems

    def body(self) -> dict[str, Any]:
        return {**super().body(), "problems": self.problems}


def key(label_no: str) -> dict[str, str]:
    return {"pk": f"LABEL#{label_no}", "sk": "LABEL"}


def get(label_no: str) -> dict[str, Any] | None:
    item = store.registry().get_item(Key=key(label_no)).get("Item")
    return store.from_dynamo(item) if item else None


def require(label_no: str) -> dict[str, Any]:
    label = get(label_no)
    if label is None:
        raise NotFound(f"No label {label_no}.", code="label_not_found")
    return label


def verify_url(label_no: str) -> str:
    return f"{get_settings().public_base_url}/verify/{label_no}"


def _expiry(verdict: fairness.Verdict, issued: datetime) -> datetime:
    """The earliest of the contracts' end dates, the intents' valid_until, and one year."""
    ends = [datetime.fromisoformat(d).replace(tzinfo=UTC) + timedelta(days=1) for d in verdict.ends]
    return min([issued + MAX_VALIDITY, *ends])


def _markers(label_no: str, ai: dict[str, Any], verdict: fairness.Verdict) -> list[str]:
    """Where a label can be found from what it depends on (no scans on re-evaluation)."""
    return (
        [f"VOICE#{v}" for v in verdict.voices]
        + [f"PERFORMER#{p}" for p in verdict.performers]
        + [f"AI#{ai['ai_no']}", f"MEMBER#{ai['business_id']}"]
    )


def issue(ai_no: str, principal: Principal) -> dict[str, Any]:
    ai = ai_systems.require(ai_no)
    ai_systems.require_owner(ai, principal)
    current = ai.get("label_no") and get(ai["label_no"])
    if current and current["status"] in (*LIVE, "pending_review") and not _expired(current):
        raise Conflict(
            f"{ai_no} already has label {current['label_no']} ({current['status']}).",
            code="label_exists",
            details={"label_no": current["label_no"]},
        )
    verdict = fairness.evaluate(ai)
    if not verdict.fair:
        raise Unfair([p.as_dict() for p in verdict.problems])
    business = members.require(ai["business_id"])
    issued = now()
    expires = _expiry(verdict, issued)
    label_no = ids.new_id("label")
    claims = {
        "iss": get_settings().public_base_url,
        "sub": label_no,
        "label_no": label_no,
        "ai_no": ai_no,
        "ai_name": ai["name"],
        "business": {"member_id": business["member_id"], "display_name": business["display_name"]},
        "uses": ai["uses"],
        "commercial": ai["commercial"],
        "voices": verdict.voices,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    signed = signing.sign(claims)
    status = "pending_review" if get_settings().label_review == "operator" else "valid"
    at = iso(issued)
    label = {
        **key(label_no),
        "label_no": label_no,
        "ai_no": ai_no,
        "ai_name": ai["name"],
        "ai_kind": ai["kind"],
        "business_id": business["member_id"],
        "business_name": business["display_name"],
        "uses": ai["uses"],
        "commercial": ai["commercial"],
        "voices": verdict.voices,
        "performers": verdict.performers,
        "contracts": verdict.contracts,
        "credits": verdict.credits,
        "status": status,
        "reasons": [],
        "token": signed["token"],
        "kid": signed["kid"],
        "issued_at": at,
        "expires_at": iso(expires),
        "version": 1,
        "sheet_version": ai["version"],
        "transitions": [{"at": at, "status": status, "reasons": []}],
        # live labels by expiry, for the expiry job
        "gsi1pk": "LABELS#live",
        "gsi1sk": f"{iso(expires)}#{label_no}",
    }
    table = get_settings().registry_table
    with store.registry().batch_writer() as batch:
        for pk in _markers(label_no, ai, verdict):
            batch.put_item(
                Item={"pk": pk, "sk": f"LABEL#{label_no}", "label_no": label_no, "ai_no": ai_no}
            )
    tx = store.Transaction()
    tx.put(table, label, "attribute_not_exists(pk)")
    ai_systems.set_label(ai_no, label_no, status, tx)
    audit.commit(
        tx,
        audit.Event(
            actor=principal.member_id,
            action="label.issued",
            entity=f"label:{label_no}",
            state=_state(label),
            data={"label_no": label_no, "ai_no": ai_no, "status": status},
            public={
                "label_no": label_no,
                "ai_no": ai_no,
                "ai_name": ai["name"],
                "business": business["display_name"],
                "status": status,
                "expires_at": label["expires_at"],
            },
        ),
    )
    return label


def _state(label: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in label.items() if k not in ("pk", "sk", "transitions", "token")}


def _expired(label: dict[str, Any], at: datetime | None = None) -> bool:
    return (at or now()) >= parse_instant(label["expires_at"])


def status_at(label: dict[str, Any], at: datetime | None = None) -> tuple[str, list[dict]]:
    """The status (and reasons) at ``at``; ``expired`` follows expires_at without a write."""
    moment = at or now()
    if at is not None:
        before = [t for t in label["transitions"] if parse_instant(t["at"]) <= moment]
        if not before:
            return "not_issued", []
        status, reasons = before[-1]["status"], before[-1]["reasons"]
    else:
        status, reasons = label["status"], label["reasons"]
    if status in (*LIVE, "pending_review") and _expired(label, moment):
        return "expired", []
    return status, reasons


def transition(
    label: dict[str, Any],
    status: str,
    reasons: list[dict[str, Any]],
    actor: str,
    action: str,
    note: str | None = None,
) -> dict[str, Any]:
    at = now_iso()
    entry = {"at": at, "status": status, "reasons": reasons}
    if note:
        entry["note"] = note
    table = get_settings().registry_table
    tx = store.Transaction()
    final = status in (*FINAL, "expired")
    tx.update(
        table,
        key(label["label_no"]),
        "SET #status = :status, reasons = :reasons, #version = :next, updated_at = :at, "
        "transitions = list_append(transitions, :entry)"
        + (" REMOVE gsi1pk, gsi1sk" if final else ""),
        "#version = :was",
        {
            ":status": status,
            ":reasons": reasons,
            ":next": label["version"] + 1,
            ":at": at,
            ":entry": [entry],
            ":was": label["version"],
        },
        {"#status": "status", "#version": "version"},
    )
    ai_systems.set_label(label["ai_no"], label["label_no"], status, tx)
    new = {
        **label,
        "status": status,
        "reasons": reasons,
        "version": label["version"] + 1,
        "transitions": [*label["transitions"], entry],
    }
    audit.commit(
        tx,
        audit.Event(
            actor=actor,
            action=action,
            entity=f"label:{label['label_no']}",
            state=_state(new),
            data={
                "label_no": label["label_no"],
                "ai_no": label["ai_no"],
                "status": status,
                "reasons": [r["reason"] for r in reasons],
                "note": note,
            },
            public={
                "label_no": label["label_no"],
                "ai_no": label["ai_no"],
                "status": status,
                "reasons": sorted({r["reason"] for r in reasons}),
                "note": note,
            },
        ),
        conflict=Conflict("The label changed meanwhile; retry.", code="concurrent_write"),
    )
    return new


def reevaluate(label_no: str, cause: str) -> dict[str, Any] | None:
    """Bring a live label in step with consent; returns the label when its status changed."""
    label = get(label_no)
    if label is None or label["status"] not in LIVE:
        return None
    if _expired(label):
        return transition(label, "expired", [], "system:labels", "label.expired", cause)
    ai = ai_systems.get(label["ai_no"])
    problems = (
        [p.as_dict() for p in fairness.evaluate(ai).problems]
        if ai
        else [{"voice_no": None, "use": "*", "reason": "ai_system_missing"}]
    )
    if ai and (
        ai["version"] != label["sheet_version"]
        or set(ai["training_data"]["voices"]) != set(label["voices"])
        or set(ai["uses"]) != set(label["uses"])
        or ai["commercial"] != label["commercial"]
    ):
        problems.append(
            {
                "voice_no": None,
                "use": "*",
                "reason": "training_data_changed",
                "performer_id": None,
                "message_ja": "学習データの申告が変更されました。新しいラベルの申請が必要です。",
                "message_en": "The training-data sheet changed; apply for a new label.",
            }
        )
    status = "suspended" if problems else "valid"
    if status == label["status"] and problems == label["reasons"]:
        return None
    action = "label.suspended" if problems else "label.restored"
    return transition(label, status, problems, "system:labels", action, cause)


def revoke(label_no: str, operator: Principal, reason: str) -> dict[str, Any]:
    label = require(label_no)
    if label["status"] in FINAL:
        raise Conflict(
            "The label is already revoked; revocation is final.", code="invalid_transition"
        )
    return transition(
        label,
        "revoked",
        [
            {
                "voice_no": None,
                "use": "*",
                "reason": "revoked",
                "message_ja": reason,
                "message_en": reason,
            }
        ],
        operator.member_id,
        "label.revoked",
        reason,
    )


def reinstate(label_no: str, operator: Principal, reason: str) -> dict[str, Any]:
    """Approve a label awaiting review, or re-check a suspended one now. Revoked is final."""
    label = require(label_no)
    if label["status"] in FINAL:
        raise Conflict("A revoked label cannot be reinstated.", code="invalid_transition")
    if label["status"] == "valid":
        return label
    ai = ai_systems.require(label["ai_no"])
    problems = [p.as_dict() for p in fairness.evaluate(ai).problems]
    if problems:
        raise Unfair(problems)
    return transition(label, "valid", [], operator.member_id, "label.reinstated", reason)


def labels_depending_on(pks: list[str]) -> list[str]:
    found: set[str] = set()
    for pk in pks:
        page = store.registry().query(
            KeyConditionExpression=Key("pk").eq(pk) & Key("sk").begins_with("LABEL#")
        )
        found |= {i["label_no"] for i in page.get("Items", [])}
    return sorted(found)


def expire_due() -> list[str]:
    """Persist ``expired`` for live labels past their expiry (reads already report it)."""
    page = store.registry().query(
        IndexName="gsi1",
        KeyConditionExpression=Key("gsi1pk").eq("LABELS#live") & Key("gsi1sk").lt(now_iso()),
    )
    done = []
    for item in page.get("Items", []):
        label = get(item["label_no"])
        if label and label["status"] in (*LIVE, "pending_review") and _expired(label):
            transition(label, "expired", [], "system:schedule", "label.expired")
            done.append(label["label_no"])
    return done


def public_view(label: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
    status, reasons = status_at(label, at)
    return {
        "label_no": label["label_no"],
        "status": status,
        "reasons": reasons,
        "ai_system": {"ai_no": label["ai_no"], "name": label["ai_name"], "kind": label["ai_kind"]},
        "business": {"member_id": label["business_id"], "display_name": label["business_name"]},
        "uses": label["uses"],
        "commercial": label["commercial"],
        "voices": label["voices"],
        "credits": label["credits"],
        "issued_at": label["issued_at"],
        "expires_at": label["expires_at"],
        "token": label["token"],
        "verify_url": verify_url(label["label_no"]),
        "checked_at": now_iso(),
        "at": iso(at) if at else None,
    }
