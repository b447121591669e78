"""Audio files for tests, made on the fly (nothing is committed): speech-like clips in each
accepted format, and the bad inputs an upload must survive."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.unit.audio.speechlike import speechlike


def speech(seconds: float, seed: int, sr: int = 16000) -> np.ndarray:
    return speechlike(seconds, sr=sr, seed=seed)


def write(
    path: Path, samples: np.ndarray, sr: int, fmt: str = "WAV", subtype: str | None = None
) -> Path:
    sf.write(str(path), samples, sr, format=fmt, subtype=subtype)
    return path


def wav_bytes(samples: np.ndarray, sr: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sr, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def silence(seconds: float, sr: int = 16000) -> np.ndarray:
    return np.zeros(int(seconds * sr), dtype=np.float32)


def m4a_header() -> bytes:
    """The start of an MP4/M4A file (an ftyp box), which libsndfile cannot read."""
    ftyp = b"ftypM4A \x00\x00\x02\x00M4A mp42isom\x00\x00\x00\x00"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + b"\x00\x00\x00\x08free" + bytes(4096)


def long_flac(path: Path, hours: float, sr: int = 8000) -> Path:
    """Hours of very quiet noise as FLAC: tiny on disk, long in time (written in blocks)."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", sr, 1, format="FLAC", subtype="PCM_16") as out:
        block = sr * 60
        for _ in range(int(hours * 60)):
            out.write((rng.standard_normal(block) * 1e-4).astype(np.float32))
    return path


if __name__ == "__main__":  # `python -m tests.audiofiles OUT.wav [seconds] [seed]`: a demo clip
    import sys

    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 12.0
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    print(write(Path(sys.argv[1]), speech(seconds, seed=seed), 16000, "WAV", "PCM_16"))
