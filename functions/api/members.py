"""Membership routes (入会)."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint

from functions.api.http import Call, MemberPath, PageQuery, route
from shared import access
from shared.errors import Conflict
from shared.members import service
from shared.members.models import (
    Application,
    Applied,
    Member,
    MemberPage,
    MemberPublic,
    Reason,
    TokenIssued,
)

bp = Blueprint(__name__)
TAG = "members"
STATUSES = ("pending", "active", "rejected", "suspended")


@route(
    bp,
    "/v1/members",
    "POST",
    name="members.apply",
    tag=TAG,
    body=Application,
    response=Applied,
    status=201,
    summary="Apply for membership (public)",
    errors=(Conflict,),  # a public write
    examples={
        "performer": {
            "kind": "performer",
            "name": "山田 花子",
            "name_kana": "ヤマダ ハナコ",
            "display_name": "Hanako Yamada",
            "email": "hanako@example.org",
            "terms_version": "2026-01",
        }
    },
)
def apply(call: Call) -> Applied:
    member = service.apply(call.body)
    return Applied(member_id=member["member_id"], status=member["status"])


class MemberQuery(PageQuery):
    status: Literal[*STATUSES] | None = None  # type: ignore[valid-type]


@route(
    bp,
    "/v1/members",
    "GET",
    name="members.list",
    tag=TAG,
    response=MemberPage,
    summary="List applications and members (operator)",
    query=MemberQuery,
)
def list_members(call: Call) -> MemberPage:
    args: MemberQuery = call.args
    members, cursor = service.list_members(args.status, args.limit, args.cursor)
    return MemberPage(members=[Member.model_validate(m) for m in members], next=cursor)


@route(
    bp,
    "/v1/members/{member_id}",
    "GET",
    name="members.get",
    tag=TAG,
    response=(Member, MemberPublic),
    summary="A member: the public profile, or the full record for the member and operators",
    path=MemberPath,
)
def get_member(call: Call) -> Member | MemberPublic:
    member, full = service.visible(call.path.member_id, call.principal)
    return Member.model_validate(member) if full else MemberPublic.model_validate(member)


@route(
    bp,
    "/v1/members/{member_id}/approve",
    "POST",
    name="members.approve",
    tag=TAG,
    response=TokenIssued,
    summary="Approve an application; the token is shown once (operator)",
    path=MemberPath,
)
def approve(call: Call) -> TokenIssued:
    member, token = service.approve(call.path.member_id, call.require_principal())
    return TokenIssued(
        member_id=member["member_id"],
        status=member["status"],
        token=token,
        token_prefix=member["token_prefix"],
    )


def _decision(action: str, summary: str) -> None:
    @route(
        bp,
        f"/v1/members/{{member_id}}/{action}",
        "POST",
        name=f"members.{action}",
        tag=TAG,
        body=Reason,
        response=Member,
        summary=summary,
        path=MemberPath,
    )
    def decide(call: Call) -> Member:
        change = getattr(service, action)
        return Member.model_validate(
            change(call.path.member_id, call.require_principal(), call.body.reason)
        )


_decision("reject", "Reject an application, with a reason (operator)")
_decision("suspend", "Suspend a member: its tokens stop working at once (operator)")
_decision("reinstate", "Reinstate a suspended member (operator)")


@route(
    bp,
    "/v1/members/{member_id}/tokens",
    "POST",
    name="members.tokens.rotate",
    tag=TAG,
    response=TokenIssued,
    status=201,
    summary="Issue a new token; the old one stops working (the member, operator)",
    path=MemberPath,
)
def rotate(call: Call) -> TokenIssued:
    member_id = call.path.member_id
    access.require_owner(call.principal, [member_id], "member")
    member, token = service.rotate_token(member_id, call.require_principal())
    return TokenIssued(
        member_id=member_id,
        status=member["status"],
        token=token,
        token_prefix=member["token_prefix"],
    )
