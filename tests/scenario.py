"""Building blocks of scenarios over the public API: members of each kind, approved."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from tests.http import Api

_counter = itertools.count(1)


@dataclass
class Actor:
    member_id: str
    token: str
    kind: str


class Registry:
    """The association seen through its HTTP API, with an operator's token."""

    def __init__(self, api: Api, operator_token: str) -> None:
        self.api = api
        self.operator = operator_token

    def application(self, kind: str, **overrides: Any) -> dict[str, Any]:
        n = next(_counter)
        return {
            "kind": kind,
            "name": f"試験 太郎{n}",
            "name_kana": "シケン タロウ",
            "display_name": f"Test {kind} {n}",
            "email": f"{kind}{n}@example.jp",
            "organization": "Example Agency" if kind != "performer" else None,
            "terms_version": "2026-01",
            **overrides,
        }

    def apply(self, kind: str, **overrides: Any) -> str:
        reply = self.api.post("/v1/members", self.application(kind, **overrides))
        assert reply.status == 201, reply
        return reply.json["member_id"]

    def member(self, kind: str, **overrides: Any) -> Actor:
        member_id = self.apply(kind, **overrides)
        reply = self.api.post(f"/v1/members/{member_id}/approve", token=self.operator)
        assert reply.status == 200, reply
        return Actor(member_id, reply.json["token"], kind)
