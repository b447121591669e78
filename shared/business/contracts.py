"""Contract attestations (契約). The association is not a party and stores no contract text:
the business files what was agreed (voices, uses, dates, the document's SHA-256), every rights
holder of the voices confirms, either side may revoke, and the dates bound it."""

from __future__ import annotations

from datetime import date
from typing import Any

from boto3.dynamodb.conditions import Key

from shared import audit, ids, keys, store
from shared.access import Principal
from shared.business import ai_systems
from shared.business.models import ContractFiling
from shared.clock import now_iso, today
from shared.errors import Conflict, Forbidden
from shared.settings import get_settings

OPEN = ("awaiting_confirmation", "active")


CONTRACT = store.Entity("contract", keys.contract, "contract_not_found")
key, get = keys.contract, CONTRACT.get
_state = keys.without_keys


def parties(contract: dict[str, Any]) -> list[str]:
    return [contract["business_id"], *contract["holders"]]


def require_visible(contract_id: str, principal: Principal) -> dict[str, Any]:
    """A contract is seen only by its parties and operators; to anyone else it does not exist."""
    contract = get(contract_id)
    if contract is None or not (principal.is_operator or principal.member_id in parties(contract)):
        raise CONTRACT.missing(contract_id)
    return contract


def in_force(contract: dict[str, Any], day: date | None = None) -> bool:
    day_iso = (day or today()).isoformat()
    return (
        contract["status"] == "active" and contract["starts_on"] <= day_iso <= contract["ends_on"]
    )


def view(contract: dict[str, Any]) -> dict[str, Any]:
    confirmations = [
        {"holder_id": h, "confirmed_at": contract["confirmed"].get(h)} for h in contract["holders"]
    ]
    return {**contract, "confirmations": confirmations, "in_force": in_force(contract)}


def file(filing: ContractFiling, business: Principal) -> dict[str, Any]:
    ai = ai_systems.require(filing.ai_no)
    ai_systems.require_owner(ai, business)
    voices = ai_systems.require_registered_voices(filing.voice_nos)
    holders = sorted({v["holder_id"] for v in voices})
    at = now_iso()
    contract_id = ids.new_id("contract")
    contract = {
        **key(contract_id),
        "contract_id": contract_id,
        "status": "awaiting_confirmation",
        "ai_no": filing.ai_no,
        "business_id": business.member_id,
        "voice_nos": filing.voice_nos,
        "uses": filing.uses,
        "commercial": filing.commercial,
        "starts_on": filing.starts_on.isoformat(),
        "ends_on": filing.ends_on.isoformat(),
        "compensation": filing.compensation,
        "document_sha256": filing.document_sha256,
        "holders": holders,
        "confirmed": {},
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }
    table = get_settings().registry_table
    tx = store.Transaction()
    tx.put(table, contract, "attribute_not_exists(pk)")
    marker = {"contract_id": contract_id, "ai_no": filing.ai_no}
    for pk in (
        [keys.voice_pk(v) for v in filing.voice_nos]
        + [keys.ai_pk(filing.ai_no)]
        + [keys.member_pk(m) for m in [business.member_id, *holders]]
    ):
        tx.put(table, {**keys.marker(pk, keys.CONTRACT, contract_id), **marker})
    audit.commit(
        tx,
        audit.Event(
            actor=business.member_id,
            action="contract.filed",
            entity=f"contract:{contract_id}",
            state=_state(contract),
            data={"contract_id": contract_id, "ai_no": filing.ai_no, "voice_nos": filing.voice_nos},
        ),
    )
    return contract


def _change(
    contract: dict[str, Any], actor: str, action: str, fields: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    """Optimistic update on ``version``: concurrent confirmations cannot both count."""
    fields = {**fields, "updated_at": now_iso(), "version": contract["version"] + 1}
    if fields.get("status", contract["status"]) == "active":
        fields |= {
            "gsi1pk": keys.ACTIVE_CONTRACTS,
            "gsi1sk": f"{contract['ends_on']}#{contract['contract_id']}",
        }
    elif "status" in fields:
        fields |= {"gsi1pk": None, "gsi1sk": None}
    new = {**contract, **{k: v for k, v in fields.items() if v is not None}}
    store.transition(
        key(contract["contract_id"]),
        fields,
        guard=store.Guard("version", (contract["version"],)),
        event=audit.Event(
            actor=actor,
            action=action,
            entity=f"contract:{contract['contract_id']}",
            state=_state(new),
            data={
                "contract_id": contract["contract_id"],
                "ai_no": contract["ai_no"],
                "voice_nos": contract["voice_nos"],
                **data,
            },
        ),
        conflict=Conflict(
            "The contract changed meanwhile; read it and retry.", code="concurrent_write"
        ),
    )
    return new


def confirm(contract_id: str, holder: Principal) -> dict[str, Any]:
    contract = require_visible(contract_id, holder)
    if holder.member_id not in contract["holders"]:
        raise Forbidden(
            "Only a rights holder of the contract's voices confirms it.", code="not_a_party"
        )
    if holder.member_id in contract["confirmed"]:  # before the status: the last confirmation
        raise Conflict("You have already confirmed this contract.", code="already_confirmed")
    if contract["status"] != "awaiting_confirmation":
        raise Conflict(f"The contract is {contract['status']}.", code="invalid_transition")
    confirmed = {**contract["confirmed"], holder.member_id: now_iso()}
    complete = set(confirmed) == set(contract["holders"])
    fields: dict[str, Any] = {"confirmed": confirmed}
    if complete:
        fields["status"] = "active"
    return _change(
        contract,
        holder.member_id,
        "contract.activated" if complete else "contract.confirmed",
        fields,
        {"holder_id": holder.member_id, "active": complete},
    )


def revoke(contract_id: str, principal: Principal, reason: str) -> dict[str, Any]:
    contract = require_visible(contract_id, principal)
    if principal.member_id not in parties(contract) and not principal.is_operator:
        raise Forbidden("Only a party may revoke.", code="not_a_party")
    if contract["status"] not in OPEN:
        raise Conflict(f"The contract is already {contract['status']}.", code="invalid_transition")
    return _change(
        contract,
        principal.member_id,
        "contract.revoked",
        {"status": "revoked", "revoked_by": principal.member_id, "revoke_reason": reason or None},
        {"by": principal.member_id},
    )


def end_expired(day: date | None = None) -> list[str]:
    """The scheduled job: active contracts whose end date has passed become ``ended``."""
    cutoff = (day or today()).isoformat()
    due = store.query_all(
        Key("gsi1pk").eq(keys.ACTIVE_CONTRACTS) & Key("gsi1sk").lt(cutoff), index="gsi1"
    )
    ended = []
    for item in due:
        contract = get(item["contract_id"])
        if contract and contract["status"] == "active" and contract["ends_on"] < cutoff:
            with store.passed_over_if_changed("contract", contract["contract_id"]):
                _change(contract, "system:schedule", "contract.ended", {"status": "ended"}, {})
                ended.append(contract["contract_id"])
    return ended


def under(pk: str) -> list[dict[str, Any]]:
    """The contracts marked under the partition ``pk`` (an AI system, voice or member)."""
    found = CONTRACT.get_many(m["contract_id"] for m in store.markers(pk, keys.CONTRACT))
    return list(found.values())


def for_ai(ai_no: str) -> list[dict[str, Any]]:
    return under(keys.ai_pk(ai_no))


def for_voice(voice_no: str) -> list[dict[str, Any]]:
    return under(keys.voice_pk(voice_no))


def for_member(member_id: str) -> list[dict[str, Any]]:
    return under(keys.member_pk(member_id))
