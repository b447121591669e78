"""Decoding: every accepted format, and every kind of file that must be refused, by code."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shared.audio import AudioRejected, decode
from tests.unit.audio.speechlike import speechlike


def _file(
    tmp_path: Path, name: str, samples: np.ndarray, sr: int, fmt: str, subtype: str | None = None
) -> Path:
    path = tmp_path / name
    sf.write(str(path), samples, sr, format=fmt, subtype=subtype)
    return path


@pytest.mark.parametrize(
    ("fmt", "subtype", "sr", "channels"),
    [
        ("WAV", "PCM_16", 8000, 1),
        ("WAV", "PCM_24", 44100, 2),
        ("WAV", "FLOAT", 192000, 8),
        ("FLAC", "PCM_16", 48000, 2),
        ("OGG", "VORBIS", 22050, 1),
        ("OGG", "OPUS", 48000, 1),
        ("MP3", "MPEG_LAYER_III", 44100, 2),
    ],
)
def test_accepted_formats(tmp_path: Path, fmt: str, subtype: str, sr: int, channels: int) -> None:
    mono = speechlike(5, sr, seed=sr + channels)
    samples = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
    decoded = decode(_file(tmp_path, f"a.{fmt.lower()}", samples, sr, fmt, subtype))
    assert decoded.sample_rate == sr and decoded.channels == channels
    assert abs(decoded.duration_s - 5) < 0.1
    assert decoded.format.startswith(fmt)
    assert len(decoded.hashes) > 200 and decoded.active_s > 2


def test_pcm_hash_is_the_same_for_wav_and_flac(tmp_path: Path) -> None:
    x = (speechlike(4, 16000, seed=9) * 32767).astype(np.int16)  # the same integers in both
    wav = decode(_file(tmp_path, "a.wav", x, 16000, "WAV", "PCM_16"))
    flac = decode(_file(tmp_path, "a.flac", x, 16000, "FLAC", "PCM_16"))
    assert wav.pcm_sha256 == flac.pcm_sha256


def _code(source) -> str:
    with pytest.raises(AudioRejected) as rejected:
        decode(source)
    assert rejected.value.message
    return rejected.value.code


def test_rejections_by_code(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    assert _code(io.BytesIO(b"")) == "empty"
    assert _code(io.BytesIO(rng.bytes(40_000))) in ("unsupported_format", "corrupt_audio")
    silent = _file(tmp_path, "silence.wav", np.zeros(16000 * 30, np.float32), 16000, "WAV")
    assert _code(silent) == "no_speech"
    faint = _file(
        tmp_path,
        "faint.wav",
        (rng.standard_normal(16000 * 30) * 1e-4).astype(np.float32),
        16000,
        "WAV",
    )
    assert _code(faint) == "no_speech"
    ftyp = struct.pack(">I", 24) + b"ftypM4A \x00\x00\x02\x00M4A mp42" + bytes(2000)
    with pytest.raises(AudioRejected) as m4a:
        decode(io.BytesIO(ftyp))
    assert m4a.value.code == "unsupported_format" and "FLAC" in m4a.value.message
    speech = io.BytesIO()
    sf.write(speech, speechlike(6, 16000, seed=1), 16000, format="WAV", subtype="PCM_16")
    assert _code(io.BytesIO(speech.getvalue()[: len(speech.getvalue()) // 2])) == "corrupt_audio"
    nine = _file(tmp_path, "nine.wav", np.zeros((1600, 9), np.float32), 16000, "WAV")
    assert _code(nine) == "unsupported_format"


def test_too_long_is_refused_from_the_header_and_while_streaming(tmp_path: Path) -> None:
    x = speechlike(12, 16000, seed=2)
    path = _file(tmp_path, "long.wav", x, 16000, "WAV", "PCM_16")
    with pytest.raises(AudioRejected) as rejected:
        decode(path, max_duration_s=10)
    assert rejected.value.code == "too_long"
    # an Ogg stream's length is unknown until read: the limit holds while streaming too
    ogg = _file(tmp_path, "long.ogg", x, 16000, "OGG", "VORBIS")
    with pytest.raises(AudioRejected) as streamed:
        decode(ogg, max_duration_s=10)
    assert streamed.value.code == "too_long"
