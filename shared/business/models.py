"""AI systems with their training-data sheet, and contract attestations."""

from __future__ import annotations

import re
from datetime import date
from typing import ClassVar, Literal

from pydantic import (
    BaseModel,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared import ids
from shared.clock import today, within_days
from shared.formats.uses import USE_CODES
from shared.intents.models import UseCode
from shared.labels import LabelStatus
from shared.members.models import Strict
from shared.text import clean_free_text, clean_name

AiKind = Literal["tts", "voice_conversion", "singing", "other"]
AiRole = Literal["developer", "user"]
ContractStatus = Literal["awaiting_confirmation", "active", "revoked", "ended"]
MAX_VOICES = 80  # one DynamoDB transaction writes the sheet and its per-voice usage markers


def _voice_nos(values: list[str]) -> list[str]:
    normalised = []
    for raw in values:
        voice_no = ids.normalize(raw, "voice")
        if voice_no is None:
            raise ValueError(f"{raw!r} is not a voice number (check its last character)")
        normalised.append(voice_no)
    return list(dict.fromkeys(normalised))


def _uses(values: list[str]) -> list[str]:
    unknown = sorted(set(values) - set(USE_CODES))
    if unknown:
        raise ValueError(f"unknown use codes {unknown}; known: {list(USE_CODES)}")
    return [u for u in USE_CODES if u in values]


class Service(Strict):
    name: str = Field(min_length=1, max_length=200)
    url: HttpUrl | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value, "services.name")


class OtherSource(Strict):
    description: str = Field(min_length=1, max_length=1000)
    license: str = Field(min_length=1, max_length=200)

    @field_validator("description", "license")
    @classmethod
    def _text(cls, value: str) -> str:
        return clean_free_text(value, "other_sources")


class TrainingData(Strict):
    voices: list[str] = Field(default_factory=list, max_length=MAX_VOICES)
    other_sources: list[OtherSource] = Field(default_factory=list, max_length=100)

    @field_validator("voices")
    @classmethod
    def _voices(cls, value: list[str]) -> list[str]:
        return _voice_nos(value)


class AiSystemSheet(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: AiKind
    role: AiRole
    commercial: bool
    uses: list[UseCode] = Field(min_length=1, max_length=len(USE_CODES))
    description: str = Field(default="", max_length=4000)
    services: list[Service] = Field(default_factory=list, max_length=50)
    training_data: TrainingData = Field(default_factory=TrainingData)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value, "name")

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return clean_free_text(value, "description")

    @field_validator("uses")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _uses(value)


class ServiceView(BaseModel):
    name: str
    url: str | None = None


class BusinessRef(BaseModel):
    member_id: str
    display_name: str


class AiSystemPublic(BaseModel):
    ai_no: str
    name: str
    kind: AiKind
    role: AiRole
    commercial: bool
    uses: list[UseCode]
    description: str
    services: list[ServiceView]
    business: BusinessRef
    version: int
    registered_at: str
    updated_at: str
    label_status: LabelStatus | None = None
    label_no: str | None = None


class AiSystem(AiSystemPublic):
    training_data: dict


class AiSystemCreated(BaseModel):
    ai_no: str
    version: int


class AiSystemPage(BaseModel):
    ai_systems: list[AiSystemPublic]
    next: str | None = None


class ContractFiling(Strict):
    ai_no: str
    voice_nos: list[str] = Field(min_length=1, max_length=MAX_VOICES)
    uses: list[UseCode] = Field(min_length=1, max_length=len(USE_CODES))
    commercial: bool
    starts_on: date
    ends_on: date
    compensation: str = Field(
        default="",
        max_length=500,
        description="How the performer is compensated (free text; the "
        "association handles no money)",
    )
    document_sha256: str = Field(description="SHA-256 (hex) of the signed contract document")

    @field_validator("ai_no")
    @classmethod
    def _ai_no(cls, value: str) -> str:
        ai_no = ids.normalize(value, "ai")
        if ai_no is None:
            raise ValueError("not an AI system number (check its last character)")
        return ai_no

    @field_validator("voice_nos")
    @classmethod
    def _voices(cls, value: list[str]) -> list[str]:
        return _voice_nos(value)

    @field_validator("uses")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _uses(value)

    @field_validator("document_sha256")
    @classmethod
    def _sha(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise ValueError("document_sha256 must be 64 hexadecimal characters")
        return value.lower()

    @field_validator("compensation")
    @classmethod
    def _compensation(cls, value: str) -> str:
        return clean_free_text(value, "compensation")

    @field_validator("starts_on", "ends_on")
    @classmethod
    def _workable_day(cls, value: date, info: ValidationInfo) -> date:
        return within_days(value, str(info.field_name))

    @model_validator(mode="after")
    def _dates(self) -> ContractFiling:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if self.ends_on < today():
            raise ValueError("ends_on is in the past")
        return self


class Confirmation(BaseModel):
    holder_id: str
    confirmed_at: str | None = None


class Contract(BaseModel):
    contract_id: str
    status: ContractStatus
    ai_no: str
    business_id: str
    voice_nos: list[str]
    uses: list[UseCode]
    commercial: bool
    starts_on: str
    ends_on: str
    compensation: str
    document_sha256: str
    confirmations: list[Confirmation]
    created_at: str
    updated_at: str
    in_force: bool = Field(description="active and today within starts_on..ends_on")
    revoked_by: str | None = None
    revoke_reason: str | None = None


class ContractPage(BaseModel):
    contracts: list[Contract]


class Revocation(Strict):
    OMITTABLE: ClassVar[bool] = True  # POST …/revoke with no body: revoked without a reason

    reason: str = Field(default="", max_length=500)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return clean_free_text(value, "reason")
