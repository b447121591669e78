"""Streaming decode: any file libsndfile reads → 8 kHz mono → fingerprint, in bounded memory.

The file is read in blocks; each block is hashed (the PCM SHA-256), downmixed, resampled with a
streaming soxr resampler, measured for activity and fed to the streaming fingerprinter. Memory
does not grow with the file's length: only the peaks and one energy value per 20 ms are kept.

PCM SHA-256: the SHA-256 of the decoded samples rounded to 16-bit integers (x · 32768, clipped),
little-endian, channels interleaved — equal for the same audio in WAV and FLAC, for instance.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from shared.audio.fingerprint import (
    ALGORITHM_VERSION,
    SAMPLE_RATE,
    Fingerprinter,
    Peaks,
    hashes_of,
)

ACCEPTED = "WAV, FLAC, OGG/Vorbis, Opus and MP3"
BLOCK_FRAMES = 1 << 16
MAX_CHANNELS = 8
MIN_RATE, MAX_RATE = 8000, 192000
MIN_ACTIVE_S = 2.0
ACTIVITY_FRAME_S = 0.02
ACTIVE_ABSOLUTE_DB = -55.0  # dBFS: quieter than this is silence, whatever the file
ACTIVE_RELATIVE_DB = 40.0  # and more than this below the file's loud parts


class AudioRejected(Exception):
    """A file the registry will not take: a machine-readable code and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class DecodedAudio:
    duration_s: float
    sample_rate: int
    channels: int
    format: str
    pcm_sha256: str
    active_s: float
    peaks: Peaks = field(repr=False)
    hashes: np.ndarray = field(repr=False)
    times: np.ndarray = field(repr=False)
    algorithm: str = ALGORITHM_VERSION


def _sniff(head: bytes) -> None:
    """Refuse what libsndfile would misread or cannot read, with a useful message."""
    if len(head) == 0:
        raise AudioRejected("empty", "The file is empty (0 bytes).")
    if head[4:8] == b"ftyp":
        raise AudioRejected(
            "unsupported_format",
            f"This is an MP4/M4A (AAC) file, which the registry cannot decode. "
            f"Convert it to one of: {ACCEPTED}.",
        )
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        raise AudioRejected(
            "unsupported_format",
            f"This is a raw AAC (ADTS) stream. Convert it to one of: {ACCEPTED}.",
        )


def _riff_truncated(head: bytes, size: int) -> bool:
    """A WAV whose data chunk declares more bytes than the file holds (libsndfile would
    silently read the rest as if nothing were missing)."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    offset = 12
    while offset + 8 <= len(head):
        chunk, length = (
            head[offset : offset + 4],
            struct.unpack("<I", head[offset + 4 : offset + 8])[0],
        )
        if chunk == b"data":
            return length != 0xFFFFFFFF and offset + 8 + length > size
        offset += 8 + length + (length & 1)
    return False


def decode(
    source: str | Path | BinaryIO,
    *,
    max_duration_s: float = 3 * 3600,
    min_active_s: float = MIN_ACTIVE_S,
) -> DecodedAudio:
    """Decode, check and fingerprint ``source`` (a path or a seekable binary file)."""
    handle: BinaryIO = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115
    try:
        head = handle.read(4096)
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(0)
        _sniff(head)
        try:
            audio = sf.SoundFile(handle)
        except (sf.LibsndfileError, RuntimeError, ValueError) as error:
            raise AudioRejected(
                "unsupported_format",
                f"The file is not audio the registry can read ({error}). Accepted: {ACCEPTED}.",
            ) from None
        with audio:
            return _decode_open(audio, head, size, max_duration_s, min_active_s)
    finally:
        if isinstance(source, str | Path):
            handle.close()


def _decode_open(
    audio: sf.SoundFile, head: bytes, size: int, max_duration_s: float, min_active_s: float
) -> DecodedAudio:
    rate, channels = audio.samplerate, audio.channels
    if channels < 1 or channels > MAX_CHANNELS:
        raise AudioRejected(
            "unsupported_format", f"{channels} channels: the registry takes 1 to {MAX_CHANNELS}."
        )
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioRejected(
            "unsupported_format", f"{rate} Hz: the registry takes 8 kHz to 192 kHz."
        )
    declared = audio.frames if audio.frames and audio.frames < 2**62 else None
    if declared is not None and declared / rate > max_duration_s:
        raise AudioRejected(
            "too_long",
            f"The file lasts {declared / rate / 3600:.2f} h; the "
            f"limit is {max_duration_s / 3600:.2f} h.",
        )
    if _riff_truncated(head, size):
        raise AudioRejected(
            "corrupt_audio",
            "The WAV file is truncated: its data chunk declares more audio than the file holds.",
        )
    digest = hashlib.sha256()
    resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
    printer = Fingerprinter()
    energies: list[np.ndarray] = []
    carry = np.zeros(0, dtype=np.float32)
    frame = int(ACTIVITY_FRAME_S * SAMPLE_RATE)
    read = 0
    while True:
        try:
            block = audio.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as error:
            raise AudioRejected(
                "corrupt_audio",
                f"The audio stops being readable after {read / rate:.1f} s ({error}).",
            ) from None
        last = len(block) < BLOCK_FRAMES
        if len(block):
            read += len(block)
            if read / rate > max_duration_s:
                raise AudioRejected(
                    "too_long", f"The file lasts more than {max_duration_s / 3600:.2f} h."
                )
            pcm = np.clip(np.round(block * 32768.0), -32768, 32767).astype("<i2")
            digest.update(pcm.tobytes())
            mono = block.mean(axis=1, dtype=np.float32)
        else:
            mono = np.zeros(0, dtype=np.float32)
        resampled = resampler.resample_chunk(mono, last=last)
        printer.feed(resampled)
        joined = np.concatenate([carry, resampled])
        whole = len(joined) // frame * frame
        if whole:
            energies.append(np.sqrt(np.mean(joined[:whole].reshape(-1, frame) ** 2, axis=1)))
        carry = joined[whole:]
        if last:
            break
    if read == 0:
        raise AudioRejected("empty", "The file holds no audio (0 frames).")
    if declared is not None and read < declared * 0.98 - rate * 0.1:
        raise AudioRejected(
            "corrupt_audio",
            f"The file is truncated: it declares "
            f"{declared / rate:.1f} s but holds "
            f"{read / rate:.1f} s.",
        )
    levels = 20 * np.log10(np.concatenate(energies) + 1e-9) if energies else np.zeros(0)
    loud = float(np.percentile(levels, 95)) if len(levels) else -200.0
    active = levels > max(ACTIVE_ABSOLUTE_DB, loud - ACTIVE_RELATIVE_DB)
    active_s = float(active.sum() * ACTIVITY_FRAME_S)
    if active_s < min_active_s:
        raise AudioRejected(
            "no_speech",
            f"The file has {active_s:.1f} s of sound above silence; "
            f"at least {min_active_s:.0f} s are needed.",
        )
    found = printer.finish_peaks()
    hashes, times = hashes_of(found)
    return DecodedAudio(
        duration_s=read / rate,
        sample_rate=rate,
        channels=channels,
        format=f"{audio.format}/{audio.subtype}",
        pcm_sha256=digest.hexdigest(),
        active_s=active_s,
        peaks=found,
        hashes=hashes,
        times=times,
    )


def decode_array(samples: np.ndarray, sample_rate: int) -> DecodedAudio:
    """Fingerprint audio already in memory (mono or (frames, channels) floats in [-1, 1])."""
    import io

    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="FLOAT")
    buffer.seek(0)
    return decode(buffer)
