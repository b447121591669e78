"""Labels (ラベル): issued when the fairness rule holds, signed by KMS (through the label_signer
function), verified without KMS, and kept in step with consent: every label is re-evaluated when
an intent, contract, voice, member or AI system it depends on changes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key

from shared import audit, ids, keys, store
from shared.access import Principal
from shared.business import ai_systems
from shared.clock import LAST_DAY, iso, now, now_iso, parse_instant
from shared.errors import ApiError, Conflict, ValidationFailed
from shared.labels import fairness, signing
from shared.members import service as members
from shared.settings import get_settings

LIVE = ("valid", "suspended")
FINAL = ("revoked",)
MAX_VALIDITY = timedelta(days=365)
MAX_OPERATIONS = 100  # one DynamoDB transaction
# The label item keeps its recent history for `?at=` reads and the verify page; the whole of it
# is in the audit log. Bounded so that the item stays far below DynamoDB's 400 KB: a label of a
# large sheet flipping with its performers' intents once grew past it, and stopped following.
HISTORY_BYTES = 150_000


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


LABEL = store.Entity("label", keys.label, "label_not_found")
key, get, require = keys.label, LABEL.get, LABEL.require


def verify_url(label_no: str) -> str:
    return f"{get_settings().public_base_url}/verify/{label_no}"


def _expiry(verdict: fairness.Verdict, issued: datetime) -> datetime:
    """The earliest of the contracts' end dates, the intents' valid_until, and one year."""
    return min([issued + MAX_VALIDITY, *_ends(verdict)])


def _ends(verdict: fairness.Verdict | None) -> list[datetime]:
    """The instants the contracts and intents a verdict relies on stop holding: the day after
    their last day."""
    days = [min(date.fromisoformat(d), LAST_DAY) for d in (verdict.ends if verdict else [])]
    # a day past LAST_DAY stored before the bound (or by hand) still has a next day
    return [datetime.combine(d + timedelta(days=1), time.min, UTC) for d in days]


def _markers(label_no: str, ai: dict[str, Any], verdict: fairness.Verdict) -> list[dict[str, Any]]:
    """Where a label can be found from what it depends on (no scans on re-evaluation)."""
    pks = (
        [keys.voice_pk(v) for v in verdict.voices]
        + [keys.performer_pk(p) for p in verdict.performers]
        + [keys.ai_pk(ai["ai_no"]), keys.member_pk(ai["business_id"])]
    )
    return [
        {**keys.marker(pk, keys.LABEL, label_no), "label_no": label_no, "ai_no": ai["ai_no"]}
        for pk in dict.fromkeys(pks)  # one write per item in a transaction
    ]


def issue(ai_no: str, principal: Principal) -> dict[str, Any]:
    """Issue a label when the trade is fair. One live label per AI system: the AI system's
    ``label_no`` is the lock (a conditional write on the value read), so of concurrent
    applications exactly one wins and the others get 409 ``label_exists``. The label, its
    markers, the AI system's lock and the audit entries are one transaction."""
    ai = ai_systems.require(ai_no)
    ai_systems.require_owner(ai, principal)
    outdated = _refuse_if_live(ai)
    verdict = fairness.verdict_now(ai)
    if not verdict.fair:
        raise Unfair([p.as_dict() for p in verdict.blocking])
    business = members.require(ai["business_id"])
    label = _new_label(ai, business, verdict)
    tx = _issue_writes(label, ai, verdict)
    try:
        audit.commit(tx, _issued_event(label, principal))
    except store.TransactionFailed:
        _refuse_if_live(ai_systems.require(ai_no))  # another application won the race
        raise Conflict(
            "The AI system's label changed meanwhile; retry.", code="concurrent_write"
        ) from None
    if outdated is not None:
        _supersede(outdated, label["label_no"])
    return label


def _supersede(old: dict[str, Any], new_no: str) -> None:
    """The label of a sheet since changed, replaced by the new sheet's: revoked, naming its
    successor (its verify page then sends readers on). The AI system already points to the new
    label, so a failure here leaves the old one suspended, never live."""
    reason = {
        "voice_no": None,
        "use": "*",
        "reason": "superseded",
        "label_no": new_no,
        "message_ja": f"学習データの申告が変更され、新しいラベル {new_no} に置き換えられました。",
        "message_en": f"The training-data sheet changed; the new label {new_no} replaced this.",
    }
    for _ in range(3):
        try:
            transition(
                old, "revoked", [reason], "system:labels", "label.revoked", f"→ {new_no}", False
            )
            return
        except Conflict:  # re-evaluated meanwhile: read it again
            old = require(old["label_no"])
            if old["status"] not in LIVE:
                return


def _new_label(
    ai: dict[str, Any], business: dict[str, Any], verdict: fairness.Verdict
) -> dict[str, Any]:
    """The label record, signed (KMS through the label_signer function)."""
    # whole seconds: the token's iat and exp (JWT NumericDate) then say what the record says
    issued = now().replace(microsecond=0)
    expires = _expiry(verdict, issued).replace(microsecond=0)
    label_no = ids.new_id("label")
    shown = {"ai_no": ai["ai_no"], "ai_name": ai["name"], "uses": ai["uses"]}
    signed = signing.sign(
        {
            "iss": get_settings().public_base_url,
            "sub": label_no,
            "label_no": label_no,
            **shown,
            "business": {k: business[k] for k in ("member_id", "display_name")},
            "commercial": ai["commercial"],
            "voices": verdict.voices,
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
        }
    )
    status = "pending_review" if get_settings().label_review == "operator" else "valid"
    notices = [p.as_dict() for p in verdict.problems]  # none blocking, by now
    at, kept = iso(issued), fairness.without_messages(notices)
    return {
        **key(label_no),
        "label_no": label_no,
        **shown,
        "ai_kind": ai["kind"],
        "business_id": business["member_id"],
        "business_name": business["display_name"],
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
        "transitions": [{"at": at, "status": status, "reasons": kept}],
        # live labels by expiry, for the expiry job
        "gsi1pk": keys.LIVE_LABELS,
        "gsi1sk": f"{iso(expires)}#{label_no}",
    }


def _issue_writes(
    label: dict[str, Any], ai: dict[str, Any], verdict: fairness.Verdict
) -> store.Transaction:
    """The label, its markers, and the AI system's lock on the ``label_no`` read before."""
    table = get_settings().registry_table
    tx = store.Transaction()
    tx.put(table, label, "attribute_not_exists(pk)")
    expression, names, values = store.set_fields(
        {"label_no": label["label_no"], "label_status": label["status"]}
    )
    current = ai.get("label_no")
    tx.update(
        table,
        ai_systems.key(ai["ai_no"]),
        expression,
        "attribute_exists(pk) AND (attribute_not_exists(label_no) OR label_no = :current)"
        if current
        else "attribute_exists(pk) AND attribute_not_exists(label_no)",
        {**values, **({":current": current} if current else {})},
        names,
    )
    markers = _markers(label["label_no"], ai, verdict)
    if len(markers) + 4 > MAX_OPERATIONS:  # + the label, the lock and two log entries
        raise ValidationFailed(
            "The AI system depends on too many voices and performers for one label.",
            code="too_many_dependencies",
            details={"markers": len(markers), "max": MAX_OPERATIONS - 4},
        )
    for marker in markers:
        tx.put(table, marker)
    return tx


def _issued_event(label: dict[str, Any], principal: Principal) -> audit.Event:
    label_no, ai_no, status = label["label_no"], label["ai_no"], label["status"]
    return audit.Event(
        actor=principal.member_id,
        action="label.issued",
        entity=f"label:{label_no}",
        state=_state(label),
        data={"label_no": label_no, "ai_no": ai_no, "status": status},
        public={
            "label_no": label_no,
            "ai_no": ai_no,
            "ai_name": label["ai_name"],
            "business": label["business_name"],
            "status": status,
            "expires_at": label["expires_at"],
        },
    )


def check(ai_no: str, principal: Principal) -> dict[str, Any]:
    """What :func:`issue` would decide now, without issuing: the same rule, the same reads."""
    ai = ai_systems.require(ai_no)
    ai_systems.require_owner(ai, principal)
    verdict = fairness.verdict_now(ai)
    live = _live_label(ai)
    if live is not None and fairness.drift(ai, live):
        live = None  # a label of a sheet since changed: a new application replaces it
    return {
        "ai_no": ai_no,
        "fair": verdict.fair,
        "would_issue": verdict.fair and live is None,
        "live_label_no": live["label_no"] if live else None,
        "problems": [p.as_dict() for p in verdict.blocking],
        "notices": [p.as_dict() for p in verdict.problems if not p.blocking],
    }


def _live_label(ai: dict[str, Any]) -> dict[str, Any] | None:
    """The AI system's label while it is live (or awaiting review) and not expired."""
    current = get(ai["label_no"]) if ai.get("label_no") else None
    if current and current["status"] in (*LIVE, "pending_review") and not _expired(current):
        return current
    return None


def _refuse_if_live(ai: dict[str, Any]) -> dict[str, Any] | None:
    """Refuse a second live label; but a label whose sheet has changed since (suspended with
    ``training_data_changed``) is what a new application replaces: returned, to be superseded."""
    if current := _live_label(ai):
        if fairness.drift(ai, current):
            return current
        raise Conflict(
            f"{ai['ai_no']} already has label {current['label_no']} ({current['status']}).",
            code="label_exists",
            details={"label_no": current["label_no"], "status": current["status"]},
        )
    return None


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
        kept_from = label.get("history_kept_from")
        if len(before) > 1 or not kept_from or parse_instant(kept_from) <= moment:
            status, reasons = before[-1]["status"], fairness.with_messages(before[-1]["reasons"])
        else:  # between the issue and the oldest change the item still holds
            raise ValidationFailed(
                f"The label's history before {kept_from} is kept in the audit log only: "
                f"GET /v1/audit?entity=label:{label['label_no']} (operators).",
                code="history_in_audit_log",
            )
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
    shown_on_ai: bool = True,
    recheck: str | None = None,
) -> dict[str, Any]:
    """A new status, with its reasons; ``shown_on_ai``: the AI system shows this label (not so
    for a label its successor replaced)."""
    at = now_iso()
    entry = {"at": at, "status": status, "reasons": fairness.without_messages(reasons)}
    if note:
        entry["note"] = note
    tx = store.Transaction()
    if shown_on_ai:
        ai_systems.set_label(label["ai_no"], label["label_no"], status, tx)
    history, kept_from = bounded_history([*label["transitions"], entry])
    changes: dict[str, Any] = {
        "status": status,
        "reasons": reasons,
        "version": label["version"] + 1,
        "updated_at": at,
        "transitions": history,  # written whole: the version guard makes this safe
    }
    if kept_from or label.get("history_kept_from"):
        changes["history_kept_from"] = kept_from or label["history_kept_from"]
    if status in (*FINAL, "expired"):  # no longer live: off the expiry job's index
        changes |= {"gsi1pk": None, "gsi1sk": None}
    elif recheck:
        changes["gsi1sk"] = recheck
    new = {**label, **changes}
    store.transition(
        key(label["label_no"]),
        changes,
        guard=store.Guard("version", (label["version"],)),
        tx=tx,
        event=_transition_event(new, actor, action, note),
        conflict=Conflict("The label changed meanwhile; retry.", code="concurrent_write"),
    )
    return new


def bounded_history(transitions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The issue, the latest change, and as many changes before it as fit in HISTORY_BYTES;
    when some are left out, the time of the oldest change kept (earlier ones are the audit
    log's)."""
    first, rest = transitions[0], transitions[1:]
    if not rest:
        return [first], None
    kept = [rest[-1]]
    size = len(json.dumps(first, default=str)) + len(json.dumps(rest[-1], default=str))
    for transition in reversed(rest[:-1]):
        size += len(json.dumps(transition, default=str))
        if size > HISTORY_BYTES:
            break
        kept.append(transition)
    kept.reverse()
    return [first, *kept], (kept[0]["at"] if len(kept) < len(rest) else None)


def _transition_event(
    label: dict[str, Any], actor: str, action: str, note: str | None
) -> audit.Event:
    label_no, ai_no, status = label["label_no"], label["ai_no"], label["status"]
    reasons = [r["reason"] for r in label["reasons"]]
    return audit.Event(
        actor=actor,
        action=action,
        entity=f"label:{label_no}",
        state=_state(label),
        data={
            "label_no": label_no,
            "ai_no": ai_no,
            "status": status,
            "reasons": reasons,
            "note": note,
        },
        public={
            "label_no": label_no,
            "ai_no": ai_no,
            "status": status,
            "reasons": sorted(set(reasons)),
            "note": note,
        },
    )


def _as_stored(value: Any) -> Any:
    """A value as a read gives it back: computed states compare equal to stored ones."""
    return store.from_dynamo(store.to_dynamo(value))


def problems_now(label: dict[str, Any]) -> list[dict[str, Any]]:
    """Every reason (blocking or not) that the current state gives against the label."""
    return _now(label)[2]


def _now(
    label: dict[str, Any],
) -> tuple[dict[str, Any] | None, fairness.Verdict | None, list[dict[str, Any]]]:
    ai = ai_systems.get(label["ai_no"])
    verdict = fairness.verdict_now(ai) if ai else None
    problems = verdict.problems if verdict else []
    return ai, verdict, [p.as_dict() for p in [*problems, *fairness.drift(ai, label)]]


def recheck_key(label: dict[str, Any], verdict: fairness.Verdict | None) -> str:
    """When the hourly job must look at a live label although no event will come: at its
    expiry, or sooner, the day after an intent it relies on lapses or a contract ends
    (``valid_until`` set after the label was issued changes nothing until that day)."""
    ends = [iso(end) for end in _ends(verdict)]
    return f"{min([label['expires_at'], *ends])}#{label['label_no']}"


REEVALUATE_ATTEMPTS = 4  # events about one label at once: each lost write reads it again


def reevaluate(label_no: str, cause: str) -> dict[str, Any] | None:
    """Bring a live label in step with consent; returns the label when its status changed.

    Idempotent: it depends only on the current state, so a second delivery of the same event
    finds nothing to change and writes nothing. Two events re-evaluating one label at once
    (an intent and a contract changing together) race on its version: the one that loses
    reads the label again here, rather than failing its event to the stream's retries."""
    for attempt in range(REEVALUATE_ATTEMPTS):
        try:
            return _reevaluate_once(label_no, cause)
        except Conflict as lost:
            if lost.code != "concurrent_write" or attempt == REEVALUATE_ATTEMPTS - 1:
                raise
    return None  # not reached: the last attempt returns or raises


def _reevaluate_once(label_no: str, cause: str) -> dict[str, Any] | None:
    label = get(label_no)
    if label is None or label["status"] not in LIVE:
        return None
    if _expired(label):
        return transition(label, "expired", [], "system:labels", "label.expired", cause)
    ai, verdict, problems = _now(label)
    reasons = _as_stored(problems)
    recheck = recheck_key(label, verdict)
    blocked = any(r.get("blocking", True) for r in reasons)
    status = "suspended" if blocked else "valid"
    if status == label["status"] and reasons == _as_stored(label["reasons"]):
        if recheck != label.get("gsi1sk"):
            _set_recheck(label, recheck)
        return None
    action = "label.suspended" if blocked else "label.restored"
    # a label its successor replaced (the AI system points elsewhere) must not take it back
    shown = ai is None or ai.get("label_no") == label_no
    return transition(
        label, status, reasons, "system:labels", action, cause, shown_on_ai=shown, recheck=recheck
    )


def _set_recheck(label: dict[str, Any], recheck: str) -> None:
    """Not a change of the label (no audit entry): when to look at it again. Conditional on
    the version read; a label changed meanwhile was given its own."""
    store.conditionally(
        lambda: store.registry().update_item(
            Key=key(label["label_no"]),
            UpdateExpression="SET gsi1sk = :k",
            ConditionExpression="#v = :v",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":k": recheck, ":v": label["version"]},
        )
    )


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
    return sorted({m["label_no"] for pk in pks for m in store.markers(pk, keys.LABEL)})


def expire_due() -> list[str]:
    """Persist ``expired`` for live labels past their expiry (reads already report it)."""
    due = store.query_all(
        Key("gsi1pk").eq(keys.LIVE_LABELS) & Key("gsi1sk").lt(now_iso()), index="gsi1"
    )
    done = []
    for label in LABEL.get_many(i["label_no"] for i in due).values():
        with store.passed_over_if_changed("label", label["label_no"]):
            if label["status"] in (*LIVE, "pending_review") and _expired(label):
                transition(label, "expired", [], "system:schedule", "label.expired")
                done.append(label["label_no"])
            elif label["status"] in LIVE:  # an intent lapsed or a contract ended: no event
                reevaluate(label["label_no"], "schedule")
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
