"""Building blocks of scenarios over the public API: members of each kind, approved."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

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


def voice_sheet(performer_ids: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "title": "朗読サンプル",
        "performer_ids": performer_ids or [],
        "performer_names": [] if performer_ids else ["非会員 花子"],
        "language": "ja",
        "rights": {
            "holder_role": "agency",
            "contract_ref": "RIGHTS-SHEET-PRIVATE-123",
            # the agency answers for the non-member performer (fairness: performer_not_registered)
            "performer_consent_attested": not performer_ids,
        },
        "retention": "delete_after_fingerprint",
        "file": {"filename": "sample.wav", "size_bytes": 1_000_000, "content_type": "audio/wav"},
        **overrides,
    }


def ai_sheet(voice_nos: list[str], **overrides: Any) -> dict[str, Any]:
    return {
        "name": "こえAI",
        "kind": "tts",
        "role": "developer",
        "commercial": True,
        "uses": ["tts", "fine_tuning"],
        "description": "日本語音声合成",
        "services": [{"name": "Koe App", "url": "https://koe.example.jp/"}],
        "training_data": {
            "voices": voice_nos,
            "other_sources": [{"description": "PRIVATE-DATASET corpus", "license": "CC-BY-4.0"}],
        },
        **overrides,
    }


def contract_filing(ai_no: str, voice_nos: list[str], **overrides: Any) -> dict[str, Any]:
    from datetime import date, timedelta

    return {
        "ai_no": ai_no,
        "voice_nos": voice_nos,
        "uses": ["tts", "fine_tuning"],
        "commercial": True,
        "starts_on": date.today().isoformat(),
        "ends_on": (date.today() + timedelta(days=180)).isoformat(),
        "compensation": "PRIVATE-COMPENSATION 売上の5%",
        "document_sha256": "ab" * 32,
        **overrides,
    }


# An intent that needs a contract for TTS and fine-tuning (the label scenarios' performer).
CONTRACT_INTENT = {
    "uses": {"tts": "contract", "fine_tuning": "contract", "training": "deny"},
    "commercial": "contract",
    "conditions": {"credit_required": True},
}


class Trade(NamedTuple):
    """A performer with CONTRACT_INTENT, one registered voice of theirs, and an AI system on it."""

    performer: Actor
    holder: Actor
    business: Actor
    voice_no: str
    ai_no: str


def open_trade(
    registry: Registry, register: Callable[..., str], display_name: str | None = None
) -> Trade:
    """``register(holder, performer_ids)`` makes the voice registered (the tests' fixture)."""
    api = registry.api
    extra = {"display_name": display_name} if display_name else {}
    performer = registry.member("performer", **extra)
    holder, business = registry.member("rights_holder"), registry.member("business")
    api.put(f"/v1/performers/{performer.member_id}/intent", CONTRACT_INTENT, token=performer.token)
    voice_no = register(holder, [performer.member_id])
    ai_no = api.post("/v1/ai-systems", ai_sheet([voice_no]), token=business.token).json["ai_no"]
    return Trade(performer, holder, business, voice_no, ai_no)


def confirm_contract(api: Api, trade: Trade) -> str:
    """The business files a contract for the trade's voice; its rights holder confirms it."""
    filing = contract_filing(trade.ai_no, [trade.voice_no])
    contract_id = api.post("/v1/contracts", filing, token=trade.business.token).json["contract_id"]
    api.post(f"/v1/contracts/{contract_id}/confirm", token=trade.holder.token)
    return contract_id


def fair_trade(
    registry: Registry, register: Callable[..., str], display_name: str | None = None
) -> tuple[Trade, str]:
    """An open trade with its contract confirmed and a label issued: (trade, label_no)."""
    trade = open_trade(registry, register, display_name)
    confirm_contract(registry.api, trade)
    issued = registry.api.post("/v1/labels", {"ai_no": trade.ai_no}, token=trade.business.token)
    assert issued.status == 201, issued
    return trade, issued.json["label_no"]
