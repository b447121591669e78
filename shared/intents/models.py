"""An intent version as performers write it and as everyone reads it."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema, field_validator

from shared.clock import today, within_days
from shared.formats.uses import PROHIBITED_CONTENT, USE_CODES, USES, Decision
from shared.members.models import Strict
from shared.text import clean_free_text

# A use code as documents show it: an enum of USES (inputs are checked against it by validators;
# a plain string at run time, so adding a code never breaks stored records).
UseCode = Annotated[str, WithJsonSchema({"type": "string", "enum": list(USE_CODES)})]

# ISO 3166-1 alpha-2 (upper case); "JP", "US"… Checked for shape here; the list is long.
_COUNTRY = re.compile(r"^[A-Z]{2}$")
NOTE_MAX = 1000


class Conditions(Strict):
    credit_required: bool = False
    prohibited_content: list[str] = Field(default_factory=list, max_length=len(PROHIBITED_CONTENT))
    territories: list[str] | None = Field(
        default=None,
        max_length=250,
        description="ISO 3166-1 alpha-2 codes where the uses apply; absent means worldwide",
    )

    @field_validator("prohibited_content")
    @classmethod
    def _known_content(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - PROHIBITED_CONTENT.keys())
        if unknown:
            raise ValueError(
                f"unknown prohibited_content {unknown}; known: {sorted(PROHIBITED_CONTENT)}"
            )
        return sorted(set(value))

    @field_validator("territories")
    @classmethod
    def _countries(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [c for c in value if not _COUNTRY.match(c)]
        if bad:
            raise ValueError(f"territories must be ISO 3166-1 alpha-2 codes, not {bad}")
        return sorted(set(value))


class IntentBody(Strict):
    uses: dict[str, Decision] = Field(
        default_factory=dict,
        description=f"Use code ({', '.join(USE_CODES)}) → decision",
    )
    commercial: Decision = "contract"
    conditions: Conditions = Field(default_factory=Conditions)
    valid_until: date | None = None
    note: str | None = Field(default=None, max_length=NOTE_MAX)

    @field_validator("uses")
    @classmethod
    def _known_uses(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - USES.keys())
        if unknown:
            raise ValueError(f"unknown use codes {unknown}; known: {list(USE_CODES)}")
        return value

    @field_validator("valid_until")
    @classmethod
    def _future(cls, value: date | None) -> date | None:
        if value is not None and value < today():
            raise ValueError("valid_until is in the past")
        return None if value is None else within_days(value, "valid_until")

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        return None if value is None else clean_free_text(value, "note")

    def decisions(self) -> dict[str, str]:
        """Every use, with a left-out use counting as ``contract``."""
        return {code: self.uses.get(code, "contract") for code in USE_CODES}


class UseView(BaseModel):
    code: UseCode
    decision: Decision
    name_ja: str
    name_en: str
    decision_ja: str
    decision_en: str


class IntentView(BaseModel):
    performer_id: str
    performer_name: str | None = None
    version: int
    effective_at: str
    author: str
    author_role: str = Field(description="performer, agent (an authorised agency) or operator")
    uses: dict[str, Decision] = Field(description="The decisions in force (lapsed → all contract)")
    commercial: Decision
    conditions: dict
    valid_until: str | None = None
    lapsed: bool = False
    note: str | None = None
    use_names: list[UseView]


class IntentWritten(BaseModel):
    performer_id: str
    version: int
    effective_at: str


class IntentHistory(BaseModel):
    performer_id: str
    versions: list[IntentView]


class IntentPage(BaseModel):
    intents: list[IntentView]
    next: str | None = None


class AgentBody(Strict):
    agent_id: str = Field(description="member id of a rights_holder (agency)")


class Agents(BaseModel):
    performer_id: str
    agents: list[dict]
