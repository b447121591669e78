"""Bulk audit requests and answers (POST /v1/audits, GET /v1/audits/{audit_id})."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shared.members.models import Strict
from shared.voices.models import Upload

MAX_DATASET_BYTES = 5 * 1024**3  # one presigned POST's limit (S3)


class AuditRequest(Strict):
    ai_no: str = Field(max_length=32, description="the AI system whose training data this is")
    algorithm: str = Field(max_length=64, description="the fingerprint algorithm of the rows")
    files: int = Field(
        ge=1, le=10_000_000, description="files with fingerprint rows, numbered 0 … files − 1"
    )
    size_bytes: int = Field(gt=0, description="size of the Parquet file to upload")


class AuditCreated(BaseModel):
    audit_id: str
    status: str
    upload: Upload


class ResultLink(BaseModel):
    url: str = Field(description="presigned GET of the result document (JSON)")
    expires_at: str


class Audit(BaseModel):
    audit_id: str
    ai_no: str
    status: str = Field(description="awaiting_upload, processing, done, failed")
    engine: str = Field(description="duckdb (local stack) or athena")
    algorithm: str
    files: int
    created_at: str
    updated_at: str
    summary: dict[str, Any] | None = None
    result: ResultLink | None = None
    error: dict[str, Any] | None = None
