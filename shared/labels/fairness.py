"""The fairness rule (API.md, "Fairness"): when a label may be issued, and while it stays valid.

For the AI system's uses and commercial flag, for every voice of its training data and every
member performer of that voice, the performer's intent in force decides each use: ``allow``
passes; ``contract`` passes only with an active contract for this AI system that lists the voice
and the use (and ``commercial`` when the AI is commercial) and whose dates cover the day;
``deny`` fails. A performer with no intent counts as all ``contract``. A voice must be
``registered``. Every failure is one problem (``voice_no``, ``use``, ``reason``).

Nothing is certified by default: an AI system whose training data names no registered voice
gets no label (``no_registered_voices``). A performer who is not a member has no intent the
registry could check: such a voice blocks the label (``performer_not_registered``) unless its
rights holder attested the performers' consent in the rights sheet
(``performer_consent_attested``); the label then names it as a non-blocking reason, so the
verify page can say "performer not registered: consent attested by the rights holder".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared import keys, store
from shared.business import contracts as contract_store
from shared.clock import now
from shared.intents import service as intents
from shared.members import service as members
from shared.voices import service as voices

MESSAGES: dict[str, tuple[str, str]] = {
    "intent_denies": (
        "実演家の意思により、この利用は許可されていません。",
        "The performer's intent does not allow this use.",
    ),
    "contract_missing": (
        "この利用には契約が必要ですが、該当する契約がありません。",
        "This use needs a contract, and there is none.",
    ),
    "contract_not_confirmed": (
        "契約はすべての権利者に確認されていません。",
        "The contract is not confirmed by every rights holder.",
    ),
    "contract_not_in_force": ("契約の期間外です。", "The contract's dates do not cover today."),
    "contract_revoked": ("契約は取り消されました。", "The contract was revoked."),
    "contract_ended": ("契約は終了しました。", "The contract has ended."),
    "commercial_denied": (
        "実演家の意思により、商用利用は許可されていません。",
        "The performer's intent does not allow commercial use.",
    ),
    "voice_not_registered": ("音声が登録済みではありません。", "The voice is not registered."),
    "voice_in_conflict": (
        "音声の権利が係争中です。",
        "The voice is in conflict between rights holders.",
    ),
    "performer_suspended": (
        "実演家の会員資格が停止されています。",
        "The performer's membership is suspended.",
    ),
    "business_not_active": (
        "事業者の会員資格が有効ではありません。",
        "The business's membership is not active.",
    ),
    "no_registered_voices": (
        "学習データに登録音声がありません。ラベルは登録音声の公正な利用を認証するものです。",
        "The training data names no registered voice; a label certifies the fair use of "
        "registered voices.",
    ),
    "performer_not_registered": (
        "実演家が会員ではないため、本人の意思を確認できません（権利者による同意の表明もありません）。",
        "The performer is not a member, so their consent was not checked (and the rights "
        "holder did not attest it).",
    ),
    "training_data_changed": (
        "学習データの申告が変更されました。新しいラベルの申請が必要です。",
        "The training-data sheet changed; apply for a new label.",
    ),
    "ai_system_missing": ("AIシステムが見つかりません。", "The AI system no longer exists."),
    "performer_consent_attested": (
        "実演家は会員ではありません。同意は登録機関ではなく権利者が表明しています。",
        "The performer is not a member: their consent was attested by the rights holder, not "
        "checked by the registry.",
    ),
}


@dataclass
class Problem:
    voice_no: str | None
    use: str
    reason: str
    performer_id: str | None = None
    performer_name: str | None = None
    blocking: bool = True

    def as_dict(self) -> dict[str, Any]:
        ja, en = MESSAGES.get(self.reason, (self.reason, self.reason))
        return {
            "voice_no": self.voice_no,
            "use": self.use,
            "reason": self.reason,
            "performer_id": self.performer_id,
            "performer_name": self.performer_name,
            "blocking": self.blocking,
            "message_ja": ja,
            "message_en": en,
        }


MESSAGE_FIELDS = ("message_ja", "message_en")


def without_messages(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems as a label's history keeps them: the texts follow from ``reason`` (an
    operator's own words, for a revocation, are kept)."""
    return [
        {k: v for k, v in p.items() if k not in MESSAGE_FIELDS or p.get("reason") not in MESSAGES}
        for p in problems
    ]


def with_messages(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for problem in problems:
        ja, en = MESSAGES.get(problem.get("reason", ""), (problem.get("reason"),) * 2)
        out.append({"message_ja": ja, "message_en": en, **problem})
    return out


@dataclass
class Verdict:
    ai_no: str
    problems: list[Problem] = field(default_factory=list)
    voices: list[str] = field(default_factory=list)
    performers: list[str] = field(default_factory=list)
    contracts: list[str] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)
    ends: list[str] = field(default_factory=list)

    @property
    def fair(self) -> bool:
        return not any(p.blocking for p in self.problems)

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]


@dataclass(frozen=True)
class Facts:
    """Everything the rule looks at, read once (``load_facts``): the rule itself is pure."""

    ai: dict[str, Any]
    at: datetime
    voice_nos: list[str]
    business: dict[str, Any] | None
    voices: dict[str, dict[str, Any]]
    performers: dict[str, dict[str, Any]]
    intents: dict[str, dict[str, Any] | None]
    contracts: list[dict[str, Any]]


def load_facts(ai: dict[str, Any], at: datetime, voice_nos: Iterable[str] | None = None) -> Facts:
    """The facts for ``ai`` at ``at`` in batched reads (a handful of round trips, not one per
    voice or performer). ``voice_nos`` defaults to the AI system's declared training data."""
    wanted = list(ai["training_data"]["voices"] if voice_nos is None else voice_nos)
    found = voices.VOICE.get_many(wanted)
    performer_ids = sorted({p for v in found.values() for p in v.get("performer_ids", [])})
    return Facts(
        ai=ai,
        at=at,
        voice_nos=wanted,
        business=members.get(ai["business_id"]),
        voices=found,
        performers=members.MEMBER.get_many(performer_ids),
        intents=_intents_at(performer_ids, at),
        contracts=contract_store.for_ai(ai["ai_no"]),
    )


def _intents_at(performer_ids: list[str], at: datetime) -> dict[str, dict[str, Any] | None]:
    """Each performer's intent in force at ``at``: the CURRENT items in one batch; the history
    is read only for a performer whose current version came after ``at``."""
    current = {
        i["performer_id"]: i for i in store.get_many(keys.intent_current(p) for p in performer_ids)
    }
    stamp = intents.stamp(at)
    found: dict[str, dict[str, Any] | None] = {}
    for performer_id in performer_ids:
        record = current.get(performer_id)
        if record is not None and record["effective_at"] > stamp:
            record = intents.at_time(performer_id, at)  # changed since: the version then
        found[performer_id] = record
    return found


def _contract_reason(candidates: list[dict[str, Any]], day: date) -> str | None:
    """None when one contract covers; else the most telling reason why none does."""
    if any(contract_store.in_force(c, day) for c in candidates):
        return None
    statuses = {c["status"] for c in candidates}
    if "active" in statuses:
        return "contract_not_in_force"
    for status, reason in (
        ("awaiting_confirmation", "contract_not_confirmed"),
        ("revoked", "contract_revoked"),
        ("ended", "contract_ended"),
    ):
        if status in statuses:
            return reason
    return "contract_missing"


def evaluate(facts: Facts) -> Verdict:
    """The rule on ``facts``; no reads. Every failure is a :class:`Problem` of the verdict."""
    day = facts.at.date()
    verdict = Verdict(ai_no=facts.ai["ai_no"])
    if facts.business is None or facts.business["status"] != "active":
        verdict.problems.append(Problem(None, "*", "business_not_active"))
    if not facts.voice_nos:
        verdict.problems.append(Problem(None, "*", "no_registered_voices"))
    for voice_no in facts.voice_nos:
        verdict.voices.append(voice_no)
        voice = facts.voices.get(voice_no)
        if voice is None or voice["status"] != "registered":
            conflict = voice is not None and voice["status"] == "conflict"
            reason = "voice_in_conflict" if conflict else "voice_not_registered"
            verdict.problems.append(Problem(voice_no, "*", reason))
            continue
        covering = [c for c in facts.contracts if voice_no in c["voice_nos"]]
        _check_named_performers(verdict, voice)
        for performer_id in voice.get("performer_ids", []):
            _check_performer(verdict, facts, voice_no, performer_id, covering)
        for contract in covering:
            if contract_store.in_force(contract, day):
                verdict.contracts.append(contract["contract_id"])
                verdict.ends.append(contract["ends_on"])
    verdict.performers = sorted(set(verdict.performers))
    verdict.contracts = sorted(set(verdict.contracts))
    verdict.credits = sorted(set(verdict.credits))
    return verdict


def _check_named_performers(verdict: Verdict, voice: dict[str, Any]) -> None:
    """Performers who are not members: blocking unless the rights holder attested consent."""
    attested = bool(voice.get("rights", {}).get("performer_consent_attested"))
    reason = "performer_consent_attested" if attested else "performer_not_registered"
    for name in voice.get("performer_names", []):
        verdict.problems.append(
            Problem(voice["voice_no"], "*", reason, performer_name=name, blocking=not attested)
        )


def _check_performer(
    verdict: Verdict,
    facts: Facts,
    voice_no: str,
    performer_id: str,
    covering: list[dict[str, Any]],
) -> None:
    """One member performer of a voice: their intent decides each use and the commercial flag."""
    verdict.performers.append(performer_id)
    performer = facts.performers.get(performer_id)
    if performer is None or performer["status"] != "active":
        verdict.problems.append(Problem(voice_no, "*", "performer_suspended", performer_id))
        return
    record = facts.intents.get(performer_id)
    decisions = intents.in_force_decisions(record, facts.at) if record else None
    if record and record.get("conditions", {}).get("credit_required"):
        verdict.credits.append(performer["display_name"])
    if record and record.get("valid_until") and not intents.lapsed(record, facts.at):
        verdict.ends.append(record["valid_until"])
    day = facts.at.date()
    checks = [
        (use, decisions["uses"][use] if decisions else "contract", "intent_denies")
        for use in facts.ai["uses"]
    ]
    if facts.ai["commercial"]:
        decision = decisions["commercial"] if decisions else "contract"
        checks.append(("commercial", decision, "commercial_denied"))
    for use, decision, denied in checks:
        if decision == "deny":
            verdict.problems.append(Problem(voice_no, use, denied, performer_id))
        elif decision == "contract":
            usable = [c for c in covering if _covers(c, use)]
            if reason := _contract_reason(usable, day):
                verdict.problems.append(Problem(voice_no, use, reason, performer_id))


def _covers(contract: dict[str, Any], use: str) -> bool:
    return bool(contract["commercial"]) if use == "commercial" else use in contract["uses"]


def verdict_now(ai: dict[str, Any], at: datetime | None = None) -> Verdict:
    """Read the facts for ``ai`` and apply the rule (issue, check and re-evaluation)."""
    return evaluate(load_facts(ai, at or now()))


def drift(ai: dict[str, Any] | None, label: dict[str, Any]) -> list[Problem]:
    """What no longer matches the label itself: its AI system is gone, or the sheet it was issued
    for changed (a new label is needed even when the new sheet would be fair)."""
    if ai is None:
        return [Problem(None, "*", "ai_system_missing")]
    if (
        ai["version"] != label["sheet_version"]
        or set(ai["training_data"]["voices"]) != set(label["voices"])
        or set(ai["uses"]) != set(label["uses"])
        or ai["commercial"] != label["commercial"]
    ):
        return [Problem(None, "*", "training_data_changed")]
    return []
