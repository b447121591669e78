"""Screen requests and answers, and a performer's voiceprint status."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.formats.uses import Decision
from shared.members.models import Strict
from shared.traces.models import JobStatus
from shared.voices.models import FileFacts, Upload


class ScreenRequest(Strict):
    file: FileFacts


class ScreenCreated(BaseModel):
    screen_id: str
    status: JobStatus
    upload: Upload


class ScreenIntent(BaseModel):
    tts: Decision
    voice_conversion: Decision
    singing: Decision


class ScreenMatch(BaseModel):
    performer_id: str
    display_name: str
    similarity: float = Field(
        description="cosine between the clip's and the voiceprint's embeddings"
    )
    score: float = Field(description="calibrated probability that it is the same speaker")
    intent: ScreenIntent = Field(description="the performer's intent in force for these uses")
    voiceprint_speech_s: float


class Screen(BaseModel):
    screen_id: str
    status: JobStatus
    matches: list[ScreenMatch]
    created_at: str
    updated_at: str
    duration_s: float | None = None
    speech_s: float | None = Field(None, description="speech screened, after trimming silence")
    voiceprints_compared: int | None = None
    threshold: float | None = Field(None, description="the cosine a match reaches")
    model: str | None = None
    error: dict[str, Any] | None = None


class VoiceprintVoice(BaseModel):
    voice_no: str
    speech_s: float


class Voiceprint(BaseModel):
    performer_id: str
    status: Literal["active", "none"] = Field(
        description="active (screening can recognise this voice) or none"
    )
    speech_s: float = Field(description="seconds of speech the voiceprint rests on")
    voices: list[VoiceprintVoice]
    model: str | None = None
    updated_at: str | None = None
