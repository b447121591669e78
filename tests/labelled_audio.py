"""AI-generated audio for the C2PA label tests, made on the fly, and the tampering a verifier must
catch: one byte of the audio itself changed after signing."""

from __future__ import annotations

import io
import os

import soundfile as sf

from tests import audiofiles


def audio(fmt: str, seconds: float = 3.0, seed: int = 1919) -> bytes:
    buffer = io.BytesIO()
    samples = audiofiles.speech(seconds, seed=seed)
    if fmt == "WAV":
        sf.write(buffer, samples, 16000, format="WAV", subtype="PCM_16")
    else:
        sf.write(buffer, samples, 16000, format="MP3")
    return buffer.getvalue()


def tamper(data: bytes) -> bytes:
    """Flip bits of one byte well inside the audio (not the manifest): the WAV `data` chunk,
    or the first MP3 frames after the ID3 tag that carries the manifest."""
    changed = bytearray(data)
    if data[:4] == b"RIFF":
        at = data.index(b"data") + 8 + 1000
    else:
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        at = 10 + size + 500
    changed[at] ^= 0x55
    return bytes(changed)


def multipart(filename: str, data: bytes) -> tuple[str, bytes]:
    boundary = "ailas" + os.urandom(8).hex()
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
            f"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body
