"""Performer intent routes (意思登録)."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint, Response
from pydantic import Field

from functions.api.http import (
    AtQuery,
    Call,
    MemberId,
    MemberPath,
    PageQuery,
    PathModel,
    json_response,
    route,
)
from shared import access, ids
from shared.errors import ValidationFailed
from shared.formats.uses import DECISIONS, USE_CODES
from shared.intents import exports, service
from shared.intents.models import (
    AgentBody,
    Agents,
    IntentBody,
    IntentHistory,
    IntentPage,
    IntentView,
    IntentWritten,
)

bp = Blueprint(__name__)
TAG = "intents"
EXAMPLE_INTENT = {
    "uses": {
        "training": "deny",
        "fine_tuning": "contract",
        "tts": "contract",
        "voice_conversion": "deny",
        "singing": "deny",
        "research": "allow",
    },
    "commercial": "contract",
    "conditions": {"credit_required": True, "prohibited_content": ["political", "adult"]},
    "valid_until": "2027-12-31",
    "note": "事務所経由でご相談ください",
}
PATH = "/v1/performers/{member_id}"


class IntentQuery(AtQuery):
    format: Literal["json", "cawg", "tdmrep"] = Field(
        default="json", description="json, CAWG training-and-data-mining, or TDMRep"
    )


class AgentPath(PathModel):
    member_id: MemberId
    agent_id: str = Field(max_length=40, description="the agency's member id")


class RegistryQuery(PageQuery):
    use: Literal[*USE_CODES] | None = None  # type: ignore[valid-type]
    value: Literal[*DECISIONS] | None = Field(default=None, description="with `use`")  # type: ignore[valid-type]


@route(
    bp,
    f"{PATH}/intent",
    "PUT",
    name="intents.put",
    tag=TAG,
    body=IntentBody,
    response=IntentWritten,
    summary="Register a new intent version (the performer or its agent)",
    path=MemberPath,
    examples={"API.md": EXAMPLE_INTENT},
)
def put_intent(call: Call) -> IntentWritten:
    record = service.write(call.path.member_id, call.body, call.require_principal())
    return IntentWritten.model_validate(record)


@route(
    bp,
    f"{PATH}/intent",
    "GET",
    name="intents.get",
    tag=TAG,
    response=IntentView,
    summary="The intent in force, now or at a time (public)",
    query=IntentQuery,
    path=MemberPath,
)
def get_intent(call: Call) -> IntentView | Response:
    document, headers = exports.published(call.path.member_id, call.args.at, call.args.format)
    if headers is None:
        return IntentView.model_validate(document)
    return json_response(document, headers=headers)


@route(
    bp,
    f"{PATH}/intent/history",
    "GET",
    name="intents.history",
    tag=TAG,
    response=IntentHistory,
    summary="Every version of a performer's intent (public)",
    path=MemberPath,
)
def get_history(call: Call) -> IntentHistory:
    performer_id = call.path.member_id
    performer = service.require_performer(performer_id)
    versions = [
        service.view(v, performer["display_name"], None) for v in service.history(performer_id)
    ]
    return IntentHistory(
        performer_id=performer_id, versions=[IntentView.model_validate(v) for v in versions]
    )


@route(
    bp,
    "/v1/intents",
    "GET",
    name="intents.list",
    tag=TAG,
    response=IntentPage,
    summary="The public registry of intents in force (machine-readable)",
    query=RegistryQuery,
)
def list_intents(call: Call) -> IntentPage:
    args: RegistryQuery = call.args
    use, value = args.use, args.value
    if use is not None and use not in USE_CODES:
        raise ValidationFailed(f"use must be one of {', '.join(USE_CODES)}.", code="unknown_use")
    if value is not None and (value not in DECISIONS or use is None):
        raise ValidationFailed(
            "value must be allow, contract or deny, with a use.", code="invalid_value"
        )
    views, cursor = service.registry_page(use, value, args.limit, args.cursor)
    return IntentPage(intents=[IntentView.model_validate(v) for v in views], next=cursor)


def _only_the_performer(call: Call, performer_id: str) -> None:
    access.require_owner(call.principal, [performer_id], "performer")


@route(
    bp,
    f"{PATH}/agents",
    "GET",
    name="intents.agents.list",
    tag=TAG,
    response=Agents,
    summary="The agencies a performer has authorised to write its intent (the performer)",
    path=MemberPath,
)
def list_agents(call: Call) -> Agents:
    performer_id = call.path.member_id
    _only_the_performer(call, performer_id)
    return Agents(performer_id=performer_id, agents=service.agents(performer_id))


@route(
    bp,
    f"{PATH}/agents",
    "POST",
    name="intents.agents.add",
    tag=TAG,
    body=AgentBody,
    response=Agents,
    status=201,
    summary="Authorise an agency (the performer)",
    path=MemberPath,
)
def add_agent(call: Call) -> Agents:
    performer_id = call.path.member_id
    _only_the_performer(call, performer_id)
    agent_id = ids.normalize(call.body.agent_id, "member") or call.body.agent_id
    service.add_agent(performer_id, agent_id, call.require_principal())
    return Agents(performer_id=performer_id, agents=service.agents(performer_id))


@route(
    bp,
    f"{PATH}/agents/{{agent_id}}",
    "DELETE",
    name="intents.agents.remove",
    tag=TAG,
    response=Agents,
    summary="Withdraw an agency's authorisation (the performer)",
    path=AgentPath,
)
def remove_agent(call: Call) -> Agents:
    performer_id = call.path.member_id
    _only_the_performer(call, performer_id)
    agent_id = ids.normalize(call.params["agent_id"], "member") or call.params["agent_id"]
    service.remove_agent(performer_id, agent_id, call.require_principal())
    return Agents(performer_id=performer_id, agents=service.agents(performer_id))
