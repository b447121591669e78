"""The vocabulary of AI uses a performer decides on (API.md, "Intent body")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import WithJsonSchema

Decision = Literal["allow", "contract", "deny"]
DECISIONS: tuple[str, ...] = ("allow", "contract", "deny")

# code -> (Japanese, English). The six fixed codes; more may be added.
USES: dict[str, tuple[str, str]] = {
    "training": ("学習", "Training a general model"),
    "fine_tuning": ("追加学習", "Additional training (fine-tuning) on this voice"),
    "tts": ("音声合成", "Speech synthesis (TTS) in this voice"),
    "voice_conversion": ("ボイスチェンジャー", "Voice conversion (voice changer)"),
    "singing": ("歌声合成", "Singing voice synthesis"),
    "research": ("研究", "Non-commercial research"),
}
USE_CODES: tuple[str, ...] = tuple(USES)
# A use code as documents show it: an enum of USES (inputs are checked against it by validators;
# a plain string at run time, so adding a code never breaks stored records).
UseCode = Annotated[str, WithJsonSchema({"type": "string", "enum": list(USE_CODES)})]

DECISION_NAMES: dict[str, tuple[str, str]] = {
    "allow": ("許可", "Allowed"),
    "contract": ("要契約", "Contract required"),
    "deny": ("不許可", "Not allowed"),
}

PROHIBITED_CONTENT: dict[str, tuple[str, str]] = {
    "political": ("政治的コンテンツ", "Political content"),
    "adult": ("成人向けコンテンツ", "Adult content"),
    "violence": ("暴力的コンテンツ", "Violent content"),
    "hate": ("差別・ヘイト", "Hate or discrimination"),
    "religious": ("宗教的コンテンツ", "Religious content"),
    "gambling": ("ギャンブル", "Gambling"),
    "impersonation": ("なりすまし・詐欺", "Impersonation or fraud"),
    "defamation": ("名誉毀損", "Defamation"),
}


def most_restrictive(decisions: list[str]) -> str:
    """deny beats contract beats allow."""
    return max(decisions, key=DECISIONS.index) if decisions else "contract"
