"""Step 1 of the fingerprint export (see export.py): the distinct (key, anchor frame) pairs a
voice was just indexed with (engine.audit_postings: the keyed index's postings), kept as one small
gzip CSV per voice under its algorithm — numpy only, so the ingest Lambda carries nothing new."""

from __future__ import annotations

import gzip
import io

import numpy as np

from shared import aws
from shared.settings import get_settings

STAGING = "fingerprint-export/staging"


def staging_key(algorithm: str, voice_no: str) -> str:
    return f"{STAGING}/algorithm={algorithm}/voice_no={voice_no}/postings.csv.gz"


def stage(voice_no: str, algorithm: str, hashes: np.ndarray, times: np.ndarray) -> int:
    """Keep a voice's (hash, time) pairs for the export (idempotent: same key, same bytes).
    Returns the staged object's size."""
    text = io.StringIO()
    np.savetxt(text, np.column_stack([hashes, times]).astype(np.int64), fmt="%d", delimiter=",")
    body = gzip.compress(text.getvalue().encode(), mtime=0)
    aws.s3.put(get_settings().bucket, staging_key(algorithm, voice_no), body)
    return len(body)
