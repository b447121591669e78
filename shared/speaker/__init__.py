"""Speaker embeddings (voice likeness): Resemblyzer's GE2E encoder evaluated in numpy.

``embed_file`` reads any file libsndfile reads, in blocks, to 16 kHz mono (at most
``MAX_SECONDS``), trims long silences and returns the 256-dimensional unit embedding with the
seconds of speech it rests on. Two recordings of one speaker have a high cosine similarity;
``calibration`` turns a cosine into the probability of the same speaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from shared.audio.decode import downmix
from shared.speaker.encoder import MODEL_VERSION, WeightsMissing, embed_utterance, preprocess
from shared.speaker.mel import SAMPLE_RATE

MAX_SECONDS = 240.0  # of a file: enough for a voiceprint, bounded time for a 3-hour voice
MIN_SPEECH_S = 1.0
BLOCK_FRAMES = 1 << 16

__all__ = [
    "MAX_SECONDS",
    "MODEL_VERSION",
    "NoSpeech",
    "SpeakerEmbedding",
    "WeightsMissing",
    "embed_file",
    "embed_samples",
    "load_16k",
]


class NoSpeech(ValueError):
    """Too little speech left after trimming silence to say whose voice it is."""


@dataclass(frozen=True)
class SpeakerEmbedding:
    vector: np.ndarray  # (256,) float32, unit length
    speech_s: float
    model: str = MODEL_VERSION


def load_16k(source: str | Path | BinaryIO, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """The first ``max_seconds`` of a file (a path, or a seekable binary reader such as the
    ingest's S3 stream) as 16 kHz mono float32, read block by block."""
    parts: list[np.ndarray] = []
    with sf.SoundFile(source if hasattr(source, "read") else str(source)) as audio:
        rate = audio.samplerate
        resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        budget = int(max_seconds * rate)
        while budget > 0:
            block = audio.read(min(BLOCK_FRAMES, budget), dtype="float32", always_2d=True)
            budget -= len(block)
            last = len(block) == 0 or budget <= 0
            mono = downmix(block) if len(block) else np.zeros(0, np.float32)
            parts.append(resampler.resample_chunk(mono, last=last))
            if last:
                break
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def embed_samples(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> SpeakerEmbedding:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:
        samples = downmix(samples)
    if sample_rate != SAMPLE_RATE:
        samples = soxr.resample(samples, sample_rate, SAMPLE_RATE, quality="HQ")
    speech = preprocess(samples)
    speech_s = len(speech) / SAMPLE_RATE
    if speech_s < MIN_SPEECH_S:
        raise NoSpeech(f"{speech_s:.1f} s of speech; at least {MIN_SPEECH_S:.0f} s are needed.")
    vector = embed_utterance(speech)
    if not np.isfinite(vector).all():  # never stored: it would wipe a performer's voiceprint
        raise NoSpeech("The speech could not be measured (the audio's values are out of range).")
    return SpeakerEmbedding(vector, round(speech_s, 2))


def embed_file(source: str | Path | BinaryIO, max_seconds: float = MAX_SECONDS) -> SpeakerEmbedding:
    return embed_samples(load_16k(source, max_seconds))
