"""The fairness rule as a table: facts in, reasons out (no AWS, no moto). Every reason code of
``fairness.MESSAGES`` appears in the table, so a new reason needs a row here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.formats.uses import USE_CODES
from shared.labels import fairness

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
Edit = Callable[[fairness.Facts], fairness.Facts]


def _intent(decision: str = "allow", commercial: str = "allow", **extra: Any) -> dict[str, Any]:
    return {
        "uses": dict.fromkeys(USE_CODES, decision),
        "commercial": commercial,
        "conditions": {},
        "valid_until": None,
        "effective_at": "2026-01-01T00:00:00.000000Z",
        **extra,
    }


def _contract(status: str = "active", **extra: Any) -> dict[str, Any]:
    return {
        "contract_id": "C1",
        "status": status,
        "voice_nos": ["V1"],
        "uses": ["tts"],
        "commercial": True,
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        **extra,
    }


def _facts() -> fairness.Facts:
    """A fair trade: one registered voice, one active performer who allows everything."""
    return fairness.Facts(
        ai={"ai_no": "A1", "business_id": "B1", "uses": ["tts"], "commercial": False},
        at=AT,
        voice_nos=["V1"],
        business={"member_id": "B1", "status": "active"},
        voices={
            "V1": {
                "voice_no": "V1",
                "status": "registered",
                "performer_ids": ["P1"],
                "performer_names": [],
                "rights": {},
            }
        },
        performers={"P1": {"member_id": "P1", "status": "active", "display_name": "Aoi"}},
        intents={"P1": _intent()},
        contracts=[],
    )


def _voice(**changes: Any) -> Edit:
    return lambda f: replace(f, voices={"V1": {**f.voices["V1"], **changes}})


def _with(**changes: Any) -> Edit:
    return lambda f: replace(f, **changes)


def _commercial(f: fairness.Facts) -> fairness.Facts:
    return replace(f, ai={**f.ai, "commercial": True})


def _both(first: Edit, second: Edit) -> Edit:
    return lambda f: second(first(f))


CONTRACT_NEEDED = _with(intents={"P1": _intent("contract")})

# (case, edit of the fair facts, expected (reason, blocking) pairs)
CASES: list[tuple[str, Edit, set[tuple[str, bool]]]] = [
    ("fair", lambda f: f, set()),
    (
        "business suspended",
        _with(business={"status": "suspended"}),
        {("business_not_active", True)},
    ),
    ("business gone", _with(business=None), {("business_not_active", True)}),
    ("no voices", _with(voice_nos=[]), {("no_registered_voices", True)}),
    ("voice missing", _with(voices={}), {("voice_not_registered", True)}),
    ("voice processing", _voice(status="processing"), {("voice_not_registered", True)}),
    ("voice in conflict", _voice(status="conflict"), {("voice_in_conflict", True)}),
    (
        "non-member performer",
        _voice(performer_names=["Ren"]),
        {("performer_not_registered", True)},
    ),
    (
        "non-member performer, consent attested",
        _voice(performer_names=["Ren"], rights={"performer_consent_attested": True}),
        {("performer_consent_attested", False)},
    ),
    (
        "performer suspended",
        _with(performers={"P1": {"status": "suspended", "display_name": "Aoi"}}),
        {("performer_suspended", True)},
    ),
    ("performer gone", _with(performers={}), {("performer_suspended", True)}),
    ("intent denies", _with(intents={"P1": _intent("deny")}), {("intent_denies", True)}),
    (
        "commercial denied",
        _both(_commercial, _with(intents={"P1": _intent(commercial="deny")})),
        {("commercial_denied", True)},
    ),
    ("contract needed, none", CONTRACT_NEEDED, {("contract_missing", True)}),
    ("no intent: all contract", _with(intents={"P1": None}), {("contract_missing", True)}),
    (
        "lapsed intent: all contract",
        _with(intents={"P1": _intent(valid_until="2026-05-31")}),
        {("contract_missing", True)},
    ),
    ("contract covers", _both(CONTRACT_NEEDED, _with(contracts=[_contract()])), set()),
    (
        "contract for another use",
        _both(CONTRACT_NEEDED, _with(contracts=[_contract(uses=["singing"])])),
        {("contract_missing", True)},
    ),
    (
        "contract awaiting confirmation",
        _both(CONTRACT_NEEDED, _with(contracts=[_contract("awaiting_confirmation")])),
        {("contract_not_confirmed", True)},
    ),
    (
        "contract outside its dates",
        _both(CONTRACT_NEEDED, _with(contracts=[_contract(starts_on="2026-07-01")])),
        {("contract_not_in_force", True)},
    ),
    (
        "contract revoked",
        _both(CONTRACT_NEEDED, _with(contracts=[_contract("revoked")])),
        {("contract_revoked", True)},
    ),
    (
        "contract ended",
        _both(CONTRACT_NEEDED, _with(contracts=[_contract("ended")])),
        {("contract_ended", True)},
    ),
    (
        "commercial contract missing",
        _both(
            _commercial,
            _with(intents={"P1": _intent(commercial="contract")}),
        ),
        {("contract_missing", True)},
    ),
]


@pytest.mark.parametrize(("edit", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reasons(edit: Edit, expected: set[tuple[str, bool]]) -> None:
    verdict = fairness.evaluate(edit(_facts()))
    assert {(p.reason, p.blocking) for p in verdict.problems} == expected
    assert verdict.fair == (not any(blocking for _, blocking in expected))


def test_a_covering_contract_is_named_and_bounds_the_label() -> None:
    verdict = fairness.evaluate(_both(CONTRACT_NEEDED, _with(contracts=[_contract()]))(_facts()))
    assert verdict.contracts == ["C1"]
    assert verdict.ends == ["2026-12-31"]
    assert verdict.voices == ["V1"]
    assert verdict.performers == ["P1"]


def test_credit_and_intent_end_are_collected() -> None:
    intent = _intent(conditions={"credit_required": True}, valid_until="2026-09-30")
    verdict = fairness.evaluate(_with(intents={"P1": intent})(_facts()))
    assert verdict.credits == ["Aoi"]
    assert verdict.ends == ["2026-09-30"]


LABEL = {"sheet_version": 1, "voices": ["V1"], "uses": ["tts"], "commercial": False}
AI = {"version": 1, "training_data": {"voices": ["V1"]}, "uses": ["tts"], "commercial": False}
DRIFT = [
    ("unchanged", AI, set()),
    ("AI system gone", None, {"ai_system_missing"}),
    ("new sheet version", {**AI, "version": 2}, {"training_data_changed"}),
    ("other voices", {**AI, "training_data": {"voices": ["V2"]}}, {"training_data_changed"}),
    ("other uses", {**AI, "uses": ["tts", "singing"]}, {"training_data_changed"}),
    ("now commercial", {**AI, "commercial": True}, {"training_data_changed"}),
]


@pytest.mark.parametrize(("ai", "expected"), [d[1:] for d in DRIFT], ids=[d[0] for d in DRIFT])
def test_drift(ai: dict[str, Any] | None, expected: set[str]) -> None:
    assert {p.reason for p in fairness.drift(ai, LABEL)} == expected


def test_every_reason_code_has_a_row() -> None:
    covered = {reason for _, _, expected in CASES for reason, _ in expected}
    covered |= {reason for _, _, expected in DRIFT for reason in expected}
    assert covered == set(fairness.MESSAGES)
