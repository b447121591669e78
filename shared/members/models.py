"""The member as the API shows it, and the bodies members and operators send."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.text import clean_free_text, clean_kana, clean_name

MemberKind = Literal["performer", "rights_holder", "business"]
MemberStatus = Literal["pending", "active", "rejected", "suspended"]
StoredKind = Literal["performer", "rights_holder", "business", "operator"]  # what a record holds


class Strict(BaseModel):
    """Request bodies: unknown fields are refused, strings are not coerced from numbers."""

    model_config = ConfigDict(extra="forbid", strict=True, str_max_length=2000)


class Application(Strict):
    kind: MemberKind
    name: str = Field(min_length=1, max_length=100, description="Legal or real name (private)")
    name_kana: str = Field(min_length=1, max_length=100, description="Reading, in kana")
    display_name: str = Field(
        min_length=1, max_length=100, description="Public name (stage name); NFKC-normalised"
    )
    email: EmailStr = Field(max_length=254)
    organization: str | None = Field(default=None, max_length=200)
    terms_version: str = Field(pattern=r"^[0-9A-Za-z._-]{1,32}$")

    @field_validator("name", "display_name", "organization")
    @classmethod
    def _names(cls, value: str | None, info: object) -> str | None:
        return None if value is None else clean_name(value, info.field_name)  # type: ignore[attr-defined]

    @field_validator("name_kana")
    @classmethod
    def _kana(cls, value: str) -> str:
        return clean_kana(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return value.lower()


class Reason(Strict):
    reason: str = Field(min_length=1, max_length=500)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        cleaned = clean_free_text(value, "reason")
        if not cleaned.strip("\u200b\u200c\u200d\u2060\ufeff"):  # spaces or nothing visible
            raise ValueError("reason is empty")
        return cleaned


class MemberPublic(BaseModel):
    member_id: str
    kind: StoredKind
    display_name: str
    organization: str | None = None
    status: MemberStatus
    approved_at: str | None = None


class Member(MemberPublic):
    """The full record: for the member itself and for operators."""

    name: str
    name_kana: str
    email: str
    terms_version: str
    created_at: str
    updated_at: str
    token_prefix: str | None = None
    decision_reason: str | None = None
    # an application made with an address an active member uses: approving it is refused
    email_in_use: bool = False


class Applied(BaseModel):
    member_id: str
    status: MemberStatus


class TokenIssued(BaseModel):
    member_id: str
    status: MemberStatus
    token: str = Field(description="Shown once; only its hash is stored")
    token_prefix: str


class MemberPage(BaseModel):
    members: list[Member]
    next: str | None = None
