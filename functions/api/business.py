"""AI systems (事業登録), contract attestations (契約) and where each voice is used."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel

from functions.api.http import Call, PageQuery, route
from functions.api.voices import voice_no_of
from shared import access, ids
from shared.business import ai_systems, contracts
from shared.business.models import (
    AiSystem,
    AiSystemCreated,
    AiSystemPage,
    AiSystemPublic,
    AiSystemSheet,
    Contract,
    ContractFiling,
    ContractPage,
    Revocation,
)
from shared.errors import NotFound
from shared.labels import service as label_service
from shared.voices import service as voices
from shared.voices import usage
from shared.voices.models import Usage

bp = Blueprint(__name__)


def ai_no_of(call: Call) -> str:
    ai_no = ids.normalize(call.params["ai_no"], "ai")
    if ai_no is None:
        raise NotFound(
            "No such AI system (check the number and its last character).",
            code="ai_system_not_found",
        )
    return ai_no


def contract_id_of(call: Call) -> str:
    contract_id = ids.normalize(call.params["contract_id"], "contract")
    if contract_id is None:
        raise NotFound("No such contract.", code="contract_not_found")
    return contract_id


@route(
    bp,
    "/v1/ai-systems",
    "POST",
    name="ai_systems.register",
    tag="ai-systems",
    body=AiSystemSheet,
    response=AiSystemCreated,
    status=201,
    summary="Register an AI system with its training-data sheet (business)",
)
def register(call: Call) -> AiSystemCreated:
    record = ai_systems.register(call.body, call.require_principal())
    return AiSystemCreated(ai_no=record["ai_no"], version=record["version"])


@route(
    bp,
    "/v1/ai-systems",
    "GET",
    name="ai_systems.list",
    tag="ai-systems",
    response=AiSystemPage,
    summary="The public list of registered AI systems",
    query=PageQuery,
)
def list_ai_systems(call: Call) -> AiSystemPage:
    items, cursor = ai_systems.public_page(call.args.limit, call.args.cursor)
    return AiSystemPage(ai_systems=[AiSystemPublic.model_validate(i) for i in items], next=cursor)


@route(
    bp,
    "/v1/ai-systems/{ai_no}",
    "GET",
    name="ai_systems.get",
    tag="ai-systems",
    response=AiSystem,
    summary="An AI system: public part; training data for its business and operators",
)
def get_ai_system(call: Call) -> AiSystem | AiSystemPublic:
    ai = ai_systems.with_business(ai_systems.require(ai_no_of(call)))
    if access.can_read_private(call.principal, [ai["business_id"]]):
        return AiSystem.model_validate(ai)
    return AiSystemPublic.model_validate(ai)


@route(
    bp,
    "/v1/ai-systems/{ai_no}",
    "PUT",
    name="ai_systems.update",
    tag="ai-systems",
    body=AiSystemSheet,
    response=AiSystemCreated,
    summary="A new version of the training-data sheet (its business)",
)
def update_ai_system(call: Call) -> AiSystemCreated:
    record = ai_systems.update(ai_no_of(call), call.body, call.require_principal())
    return AiSystemCreated(ai_no=record["ai_no"], version=record["version"])


class FairnessCheck(BaseModel):
    ai_no: str
    fair: bool
    would_issue: bool
    live_label_no: str | None = None
    problems: list[dict[str, Any]]
    notices: list[dict[str, Any]]


@route(
    bp,
    "/v1/ai-systems/{ai_no}/check",
    "POST",
    name="ai_systems.check",
    tag="ai-systems",
    response=FairnessCheck,
    summary="Dry run of the fairness rule: exactly what POST /v1/labels would decide (owner)",
)
def check_ai_system(call: Call) -> FairnessCheck:
    return FairnessCheck.model_validate(
        label_service.check(ai_no_of(call), call.require_principal())
    )


@route(
    bp,
    "/v1/contracts",
    "POST",
    name="contracts.file",
    tag="contracts",
    body=ContractFiling,
    response=Contract,
    status=201,
    summary="File a contract attestation for confirmation by the rights holders (business)",
)
def file_contract(call: Call) -> Contract:
    return Contract.model_validate(
        contracts.view(contracts.file(call.body, call.require_principal()))
    )


@route(
    bp,
    "/v1/contracts",
    "GET",
    name="contracts.list",
    tag="contracts",
    response=ContractPage,
    summary="The contracts the caller is a party to",
)
def list_contracts(call: Call) -> ContractPage:
    mine = contracts.for_member(call.require_principal().member_id)
    return ContractPage(contracts=[Contract.model_validate(contracts.view(c)) for c in mine])


@route(
    bp,
    "/v1/contracts/{contract_id}",
    "GET",
    name="contracts.get",
    tag="contracts",
    response=Contract,
    summary="A contract attestation (its parties, operators)",
)
def get_contract(call: Call) -> Contract:
    contract = contracts.require_visible(contract_id_of(call), call.require_principal())
    return Contract.model_validate(contracts.view(contract))


@route(
    bp,
    "/v1/contracts/{contract_id}/confirm",
    "POST",
    name="contracts.confirm",
    tag="contracts",
    response=Contract,
    summary="Confirm as a rights holder of the voices; active once all holders confirmed",
)
def confirm_contract(call: Call) -> Contract:
    contract = contracts.confirm(contract_id_of(call), call.require_principal())
    return Contract.model_validate(contracts.view(contract))


@route(
    bp,
    "/v1/contracts/{contract_id}/revoke",
    "POST",
    name="contracts.revoke",
    tag="contracts",
    body=Revocation,
    response=Contract,
    summary="Revoke (either party)",
)
def revoke_contract(call: Call) -> Contract:
    contract = contracts.revoke(contract_id_of(call), call.require_principal(), call.body.reason)
    return Contract.model_validate(contracts.view(contract))


@route(
    bp,
    "/v1/voices/{voice_no}/usage",
    "GET",
    name="voices.usage",
    tag="voices",
    response=Usage,
    summary="AI systems, contracts and labels that rely on this voice (holder, performers)",
)
def voice_usage(call: Call) -> Usage:
    voice_no = voice_no_of(call)
    voice = voices.require(voice_no)
    access.require_owner(call.principal, voices.owners(voice), "voice's holder or performers")
    return Usage.model_validate(usage.of_voice(voice_no))
