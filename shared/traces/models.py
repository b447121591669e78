"""Trace requests and answers."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator, model_validator

from shared.members.models import Strict
from shared.voices.models import FileFacts, Upload, VoiceStatus

JobStatus = Literal["awaiting_upload", "processing", "done", "failed"]  # traces and screens
MAX_QUERY_PEAKS = 20_000  # about eleven minutes of audio at 30 peaks per second
# base64 of MAX_QUERY_PEAKS 4-byte values: the default 2,000-character limit of Strict models
# would cut a client fingerprint at about 12 s.
MAX_PEAKS_B64 = 4 * -(-MAX_QUERY_PEAKS * 4 // 3)


class TraceRequest(Strict):
    file: FileFacts


class TraceCreated(BaseModel):
    trace_id: str
    status: JobStatus
    upload: Upload


class Match(BaseModel):
    voice_no: str
    title: str
    voice_status: VoiceStatus
    score: float = Field(description="1 − the chance that a random voice scores these votes")
    query_start_s: float
    voice_start_s: float
    duration_s: float
    votes: int = Field(
        description="the keyed votes, or (found_by peaks) the moments of query time whose peaks "
        "land on the voice's registered peaks"
    )
    found_by: Literal["keys", "peaks"] = Field(
        "keys",
        description="keys: the index's time-coherent keys; peaks: a near miss of the keys "
        "verified on the voice's registered peaks (traces only; the bulk audit uses the keys)",
    )


class Trace(BaseModel):
    trace_id: str
    status: JobStatus
    matches: list[Match]
    created_at: str
    updated_at: str
    duration_s: float | None = None
    error: dict[str, Any] | None = None
    cost: dict[str, int] | None = None


class FingerprintQuery(Strict):
    """A fingerprint computed on the client (``ailas trace``): the spectral peaks of the clip,
    from which no audio can be rebuilt. The registry hashes them under each speed hypothesis."""

    algorithm: str = Field(max_length=64)
    frames: str = Field(
        max_length=MAX_PEAKS_B64,
        description="base64 of uint32 little-endian peak frames (16 ms hops)",
    )
    hz: str = Field(
        max_length=MAX_PEAKS_B64,
        description="base64 of float32 little-endian peak frequencies, same length",
    )

    @field_validator("frames", "hz")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64") from None
        if len(raw) % 4:
            raise ValueError("must hold whole 4-byte values")
        if len(raw) // 4 > MAX_QUERY_PEAKS:
            raise ValueError(f"at most {MAX_QUERY_PEAKS} peaks per query")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FingerprintQuery:
        frames, hz = self.arrays()
        if len(frames) != len(hz):
            raise ValueError("frames and hz must have the same length")
        if len(hz) and (not np.all(np.isfinite(hz)) or hz.min() <= 0 or hz.max() > 4000):
            raise ValueError("hz must be frequencies between 0 and 4000")
        return self

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.frombuffer(base64.b64decode(self.frames), dtype="<u4"),
            np.frombuffer(base64.b64decode(self.hz), dtype="<f4"),
        )


class FingerprintMatches(BaseModel):
    algorithm: str
    peaks: int
    matches: list[Match]
    cost: dict[str, int]
