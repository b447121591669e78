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
    code = "unfair"

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
    """Issue a label when the trade is fair. One live label per AI system: the AI system's
    ``label_no`` is the lock (a conditional write on the value read), so of concurrent
    applications exactly one wins and the others get 409 ``label_exists``."""
    ai = ai_systems.require(ai_no)
    ai_systems.require_owner(ai, principal)
    _refuse_if_live(ai)
    verdict = fairness.evaluate(ai)
    if not verdict.fair:
        raise Unfair([p.as_dict() for p in verdict.blocking])
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
    notices = [p.as_dict() for p in verdict.problems]  # none blocking, by now
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
        "reasons": notices,
        "token": signed["token"],
        "kid": signed["kid"],
        "issued_at": at,
        "expires_at": iso(expires),
        "version": 1,
        "sheet_version": ai["version"],
        "transitions": [{"at": at, "status": status, "reasons": notices}],
        # live labels by expiry, for the expiry job
        "gsi1pk": "LABELS#live",
        "gsi1sk": f"{iso(expires)}#{label_no}",
    }
    markers = _markers(label_no, ai, verdict)
    _write_markers(label_no, ai_no, markers)
    table = get_settings().registry_table
    tx = store.Transaction()
    tx.put(table, label, "attribute_not_exists(pk)")
    expression, names, values = store.set_fields({"label_no": label_no, "label_status": status})
    tx.update(
        table,
        ai_systems.key(ai_no),
        expression,
        "attribute_exists(pk) AND (attribute_not_exists(label_no) OR label_no = :current)"
        if ai.get("label_no")
        else "attribute_exists(pk) AND attribute_not_exists(label_no)",
        {**values, **({":current": ai["label_no"]} if ai.get("label_no") else {})},
        names,
    )
    try:
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
    except store.TransactionFailed:
        _delete_markers(label_no, markers)  # another application won the race
        _refuse_if_live(ai_systems.require(ai_no))
        raise Conflict(
            "The AI system's label changed meanwhile; retry.", code="concurrent_write"
        ) from None
    return label


def check(ai_no: str, principal: Principal) -> dict[str, Any]:
    """What :func:`issue` would decide now, without issuing: the same rule, the same reads."""
    ai = ai_systems.require(ai_no)
    ai_systems.require_owner(ai, principal)
    verdict = fairness.evaluate(ai)
    current = ai.get("label_no") and get(ai["label_no"])
    live = bool(
        current and current["status"] in (*LIVE, "pending_review") and not _expired(current)
    )
    return {
        "ai_no": ai_no,
        "fair": verdict.fair,
        "would_issue": verdict.fair and not live,
        "live_label_no": current["label_no"] if live else None,
        "problems": [p.as_dict() for p in verdict.blocking],
        "notices": [p.as_dict() for p in verdict.problems if not p.blocking],
    }


def _refuse_if_live(ai: dict[str, Any]) -> None:
    current = ai.get("label_no") and get(ai["label_no"])
    if current and current["status"] in (*LIVE, "pending_review") and not _expired(current):
        raise Conflict(
            f"{ai['ai_no']} already has label {current['label_no']} ({current['status']}).",
            code="label_exists",
            details={"label_no": current["label_no"], "status": current["status"]},
        )


def _write_markers(label_no: str, ai_no: str, pks: list[str]) -> None:
    """Written before the label, so that no committed label is ever missing a marker (a
    label without its markers would not follow consent)."""
    with store.registry().batch_writer() as batch:
        for pk in pks:
            batch.put_item(
                Item={"pk": pk, "sk": f"LABEL#{label_no}", "label_no": label_no, "ai_no": ai_no}
            )


def _delete_markers(label_no: str, pks: list[str]) -> None:
    with store.registry().batch_writer() as batch:
        for pk in pks:
            batch.delete_item(Key={"pk": pk, "sk": f"LABEL#{label_no}"})


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


def _as_stored(value: Any) -> Any:
    """A value as a read gives it back: computed states compare equal to stored ones."""
    return store.from_dynamo(store.to_dynamo(value))


def problems_now(label: dict[str, Any]) -> list[dict[str, Any]]:
    """Every reason (blocking or not) that the current state gives against the label."""
    ai = ai_systems.get(label["ai_no"])
    if ai is None:
        return [fairness.Problem(None, "*", "ai_system_missing").as_dict()]
    problems = [p.as_dict() for p in fairness.evaluate(ai).problems]
    if (
        ai["version"] != label["sheet_version"]
        or set(ai["training_data"]["voices"]) != set(label["voices"])
        or set(ai["uses"]) != set(label["uses"])
        or ai["commercial"] != label["commercial"]
    ):
        problems.append(fairness.Problem(None, "*", "training_data_changed").as_dict())
    return problems


def reevaluate(label_no: str, cause: str) -> dict[str, Any] | None:
    """Bring a live label in step with consent; returns the label when its status changed.

    Idempotent: it depends only on the current state, so a second delivery of the same event
    finds nothing to change and writes nothing."""
    label = get(label_no)
    if label is None or label["status"] not in LIVE:
        return None
    if _expired(label):
        return transition(label, "expired", [], "system:labels", "label.expired", cause)
    reasons = _as_stored(problems_now(label))
    blocked = any(r.get("blocking", True) for r in reasons)
    status = "suspended" if blocked else "valid"
    if status == label["status"] and reasons == _as_stored(label["reasons"]):
        return None
    action = "label.suspended" if blocked else "label.restored"
    return transition(label, status, reasons, "system:labels", action, cause)


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
    reasons = _as_stored(problems_now(label))
    blocking = [r for r in reasons if r.get("blocking", True)]
    if blocking:
        raise Unfair(blocking)
    return transition(label, "valid", reasons, operator.member_id, "label.reinstated", reason)


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
