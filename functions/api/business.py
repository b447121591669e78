"""AI systems (事業登録), contract attestations (契約) and where each voice is used."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel

from functions.api.http import AiPath, Call, ContractPath, PageQuery, VoicePath, id_example, route
from shared import access
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
from shared.labels import service as label_service
from shared.openapi import Problem
from shared.voices import service as voices
from shared.voices import usage
from shared.voices.models import Usage

bp = Blueprint(__name__)


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
    examples={
        "a TTS service": {
            "name": "Hanako TTS",
            "kind": "tts",
            "role": "developer",
            "commercial": True,
            "uses": ["tts"],
            "description": "Speech synthesis for audiobooks",
            "services": [{"name": "Hanako TTS", "url": "https://tts.example.com"}],
            "training_data": {"voices": [id_example("voice")], "other_sources": []},
        }
    },
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
    response=(AiSystem, AiSystemPublic),
    summary="An AI system: public part; training data for its business and operators",
    path=AiPath,
)
def get_ai_system(call: Call) -> AiSystem | AiSystemPublic:
    ai = ai_systems.with_business(ai_systems.require(call.path.ai_no))
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
    path=AiPath,
)
def update_ai_system(call: Call) -> AiSystemCreated:
    record = ai_systems.update(call.path.ai_no, call.body, call.require_principal())
    return AiSystemCreated(ai_no=record["ai_no"], version=record["version"])


class FairnessCheck(BaseModel):
    ai_no: str
    fair: bool
    would_issue: bool
    live_label_no: str | None = None
    problems: list[Problem]
    notices: list[Problem]


@route(
    bp,
    "/v1/ai-systems/{ai_no}/check",
    "POST",
    name="ai_systems.check",
    tag="ai-systems",
    response=FairnessCheck,
    summary="Dry run of the fairness rule: exactly what POST /v1/labels would decide (owner)",
    path=AiPath,
)
def check_ai_system(call: Call) -> FairnessCheck:
    return FairnessCheck.model_validate(
        label_service.check(call.path.ai_no, call.require_principal())
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
    examples={
        "TTS, commercial": {
            "ai_no": id_example("ai"),
            "voice_nos": [id_example("voice")],
            "uses": ["tts"],
            "commercial": True,
            "starts_on": "2026-01-01",
            "ends_on": "2027-12-31",
            "compensation": "a fee per month",
            "document_sha256": "0" * 64,
        }
    },
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
    path=ContractPath,
)
def get_contract(call: Call) -> Contract:
    contract = contracts.require_visible(call.path.contract_id, call.require_principal())
    return Contract.model_validate(contracts.view(contract))


@route(
    bp,
    "/v1/contracts/{contract_id}/confirm",
    "POST",
    name="contracts.confirm",
    tag="contracts",
    response=Contract,
    summary="Confirm as a rights holder of the voices; active once all holders confirmed",
    path=ContractPath,
)
def confirm_contract(call: Call) -> Contract:
    contract = contracts.confirm(call.path.contract_id, call.require_principal())
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
    path=ContractPath,
)
def revoke_contract(call: Call) -> Contract:
    contract = contracts.revoke(call.path.contract_id, call.require_principal(), call.body.reason)
    return Contract.model_validate(contracts.view(contract))


@route(
    bp,
    "/v1/voices/{voice_no}/usage",
    "GET",
    name="voices.usage",
    tag="voices",
    response=Usage,
    summary="AI systems, contracts and labels that rely on this voice (holder, performers)",
    path=VoicePath,
)
def voice_usage(call: Call) -> Usage:
    voice_no = call.path.voice_no
    voice = voices.require(voice_no)
    access.require_owner(call.principal, voices.owners(voice), "voice's holder or performers")
    return Usage.model_validate(usage.of_voice(voice_no))
