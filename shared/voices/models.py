"""A registered voice as rights holders declare it and as the API shows it."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.members.models import Strict
from shared.text import clean_filename, clean_free_text, clean_name

HolderRole = Literal["performer", "agency", "producer", "other"]
Retention = Literal["delete_after_fingerprint", "retain"]
VoiceStatus = Literal["awaiting_upload", "processing", "registered", "rejected", "conflict"]
# BCP 47, shape only: "ja", "ja-JP", "en-US", "zh-Hant-TW".
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")


class FileFacts(Strict):
    filename: str = Field(min_length=1, max_length=255)
    size_bytes: int = Field(gt=0, description="Declared size; the ingest checks the real one")
    content_type: str = Field(max_length=100, description="audio/* (e.g. audio/wav, audio/flac)")

    @field_validator("filename")
    @classmethod
    def _filename(cls, value: str) -> str:
        name = clean_filename(value.replace("\\", "/").rsplit("/", 1)[-1])
        if name in (".", ".."):
            raise ValueError("filename is not a file name")
        return name

    @field_validator("content_type")
    @classmethod
    def _audio(cls, value: str) -> str:
        value = value.split(";", 1)[0].strip().lower()  # "audio/x-wav; codecs=1": the type
        if not re.fullmatch(r"audio/[a-z0-9.+-]+", value):
            raise ValueError("content_type must be audio/* (for example audio/wav)")
        return value


class RightsSheet(BaseModel):
    """The rights-information sheet: ``holder_role`` plus free fields (kept as given)."""

    model_config = ConfigDict(extra="allow")
    holder_role: HolderRole
    performer_consent_attested: bool = Field(
        default=False,
        description="The rights holder attests that performers named in performer_names (who "
        "are not members, so the registry cannot check their intent) consented to the uses of "
        "the AI systems that train on this voice. Without it, such a voice blocks a label.",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 2000:
            raise ValueError("free fields are limited to 2000 characters")
        return value


class VoiceRegistration(Strict):
    title: str = Field(min_length=1, max_length=200)
    performer_ids: list[str] = Field(default_factory=list, max_length=20)
    performer_names: list[str] = Field(default_factory=list, max_length=20)
    language: str = Field(default="ja", max_length=35)
    rights: RightsSheet
    retention: Retention = "delete_after_fingerprint"
    file: FileFacts

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return clean_free_text(value, "title")

    @field_validator("performer_names")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return [clean_name(v, "performer_names") for v in value]

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not _BCP47.match(value):
            raise ValueError("language must be a BCP 47 tag such as ja or en-US")
        return value


class Upload(BaseModel):
    url: str
    fields: dict[str, str]
    expires_at: str
    max_bytes: int


class VoiceCreated(BaseModel):
    voice_no: str
    status: VoiceStatus
    upload: Upload


class AudioFacts(BaseModel):
    duration_s: float
    sample_rate: int
    channels: int
    format: str
    sha256: str
    pcm_sha256: str | None = None
    fingerprint_algorithm: str | None = None
    hashes: int | None = None


class VoiceError(BaseModel):
    code: str
    message: str


class PerformerRef(BaseModel):
    member_id: str | None = None
    display_name: str


class VoicePublic(BaseModel):
    voice_no: str
    title: str
    status: VoiceStatus
    language: str
    performers: list[PerformerRef]
    registered_at: str | None = None
    audio: AudioFacts | None = None
    error: VoiceError | None = None  # why it was rejected: the uploader's to read, no secret


class Voice(VoicePublic):
    """The full record: for the holder, the voice's member performers and operators."""

    holder_id: str
    performer_ids: list[str]
    performer_names: list[str]
    rights: dict[str, Any]
    retention: Retention
    file: dict[str, Any]
    created_at: str
    updated_at: str
    duplicate_of: str | None = None
    conflict_with: list[str] | None = None


class VoicePage(BaseModel):
    voices: list[Voice]
    next: str | None = None


class UsedBy(BaseModel):
    """An AI system that declares the voice in its training data."""

    ai_no: str
    name: str
    kind: str
    business_id: str
    business_name: str | None = None
    since: str
    label_no: str | None = None
    label_status: str | None = None


class CoveringContract(BaseModel):
    contract_id: str
    ai_no: str
    status: str
    in_force: bool
    uses: list[str]
    starts_on: str
    ends_on: str


class RelyingLabel(BaseModel):
    label_no: str
    ai_no: str
    status: str
    expires_at: str


class Usage(BaseModel):
    """Where a voice is used (GET /v1/voices/{voice_no}/usage)."""

    voice_no: str
    ai_systems: list[UsedBy]
    contracts: list[CoveringContract]
    labels: list[RelyingLabel]
