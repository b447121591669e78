"""Streaming decode: any file libsndfile reads → 8 kHz mono → fingerprint, in bounded memory.

The file is read in blocks; each block is hashed (the PCM SHA-256), downmixed, resampled with a
streaming soxr resampler, measured for activity and fed to the streaming fingerprinter. Memory
does not grow with the file's length: only the peaks and one energy value per 20 ms are kept.

PCM SHA-256: the SHA-256 of the decoded samples rounded to 16-bit integers (x · 32768, clipped),
little-endian, channels interleaved — equal for the same audio in WAV and FLAC, for instance.
"""

from __future__ import annotations

import hashlib
import math
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from .engine import index_hashes
from .fingerprint import (
    ALGORITHM_VERSION,
    SAMPLE_RATE,
    Fingerprinter,
    Peaks,
)

ACCEPTED = "WAV, FLAC, OGG/Vorbis, Opus and MP3"
BLOCK_FRAMES = 1 << 16
MAX_CHANNELS = 8
MIN_RATE, MAX_RATE = 8000, 192000
MIN_ACTIVE_S = 2.0
ACTIVITY_FRAME_S = 0.02
# Activity is judged against the file's own level, so a quiet recording (speech at −50 dBFS) is
# as much speech as a loud one: a 20 ms frame is active within ACTIVE_RELATIVE_DB of the file's
# loud parts (95th percentile). Only below SILENCE_DB — under 16-bit dither — is it silence
# whatever the file. A file whose level barely moves (STEADY_DB between its 10th and 95th
# percentile: DC, hum, a tone, steady noise) holds no speech, however loud.
SILENCE_DB = -90.0
ACTIVE_RELATIVE_DB = 40.0
STEADY_DB = 3.0
# A pure tone: nearly every spectral peak on the same frequency (speech moves between formants).
TONE_SHARE = 0.8
# The formats of the contract (API.md): libsndfile also reads AIFF, AU, CAF, W64, … — refused.
CONTRACT_FORMATS = frozenset({"WAV", "WAVEX", "RF64", "FLAC", "OGG", "MP3"})
# Work bounds: decoding cost follows samples × channels, not duration (a 188 KB FLAC may declare
# 30 min × 192 kHz × 8 channels), and wall time bounds whatever the decoder does.
MAX_SAMPLES = 1_100_000_000  # ≈ 3 h of 48 kHz stereo, 3 h 10 min of 96 kHz mono
MAX_WALL_S = 600.0
# A downmix 20 dB under its channels' mean power has cancelled them (channels in opposite phase);
# uncorrelated channels lose 3 dB, a stereo mix of one voice less.
CANCELLED_DOWNMIX = 0.01
MAX_RIFF_CHUNKS = 1024  # chunks walked before the data chunk; real WAVs hold a handful
MP3_FIRST_FRAME = 4096  # bytes after the ID3 tag where a length header (Xing, …) would be
OGG_TAIL = 1 << 16  # an Ogg page is at most 65,307 bytes: the last one starts in this tail


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


def _cut_short(handle: BinaryIO, size: int) -> str | None:
    """Why the container shows the file was cut short, or None. libsndfile would read what is
    left as if nothing were missing, and register a shorter recording."""
    handle.seek(0)
    head = handle.read(12)
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return _riff_cut_short(handle, size, rf64=head[:4] == b"RF64")
    if head[:4] == b"OggS":
        return _ogg_cut_short(handle, size)
    return None


def _riff_cut_short(handle: BinaryIO, size: int, rf64: bool) -> str | None:
    """A WAV whose data chunk declares more bytes than the file holds. The chunk headers are
    walked through the file, as metadata (LIST, bext, iXML) before the data chunk may fill the
    first kilobytes; an RF64 file's 64-bit data size is in its ds64 chunk."""
    offset, data_size = 12, None
    for _ in range(MAX_RIFF_CHUNKS):
        handle.seek(offset)
        header = handle.read(8)
        if len(header) < 8:
            return None
        chunk, length = header[:4], struct.unpack("<I", header[4:])[0]
        if chunk == b"ds64" and rf64 and length >= 16:
            sizes = handle.read(16)
            if len(sizes) < 16:
                return "The RF64 file is truncated inside its header."
            data_size = struct.unpack("<Q", sizes[8:16])[0]
        if chunk == b"data":
            declared = data_size if rf64 and length == 0xFFFFFFFF else length
            if declared is None or declared == 0xFFFFFFFF or offset + 8 + declared <= size:
                return None
            return "The WAV file is truncated: its data chunk declares more audio than it holds."
        offset += 8 + length + (length & 1)
    return f"The WAV file holds more than {MAX_RIFF_CHUNKS:,} chunks before its audio."


def _ogg_cut_short(handle: BinaryIO, size: int) -> str | None:
    """An Ogg file that ends inside a page: a cut file, whose length libsndfile takes from the
    last whole page left. (A missing end-of-stream flag alone is not a cut: some encoders
    never set it — 2 of the corpus's 11,412 files.)"""
    handle.seek(max(0, size - OGG_TAIL))
    tail = handle.read(OGG_TAIL)
    last = tail.rfind(b"OggS")
    # "OggS" inside a packet is no page header: its version byte (when there) is not 0
    while last >= 0 and last + 4 < len(tail) and tail[last + 4] != 0:
        last = tail.rfind(b"OggS", 0, last)
    if last < 0:
        return None  # no page in the last 64 KiB (a long tag appended?): nothing to judge by
    if last + 27 > len(tail) or last + 27 + tail[last + 26] > len(tail):
        return "The Ogg file is truncated: its last page is cut off."
    segments = tail[last + 27 : last + 27 + tail[last + 26]]
    if last + 27 + len(segments) + sum(segments) > len(tail):
        return "The Ogg file is truncated: its last page is cut off."
    return None


def decode(
    source: str | Path | BinaryIO,
    *,
    max_duration_s: float = 3 * 3600,
    min_active_s: float = MIN_ACTIVE_S,
    max_samples: int = MAX_SAMPLES,
    max_wall_s: float = MAX_WALL_S,
) -> DecodedAudio:
    """Decode, check and fingerprint ``source`` (a path or a seekable binary file)."""
    handle: BinaryIO = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115
    bounds = _Bounds(max_duration_s, min_active_s, max_samples, time.monotonic() + max_wall_s)
    try:
        head = handle.read(4096)
        try:
            size = handle.seek(0, 2)
        except (OSError, ValueError):  # io.UnsupportedOperation: a pipe, a FIFO, a socket
            raise AudioRejected(
                "unsupported_format",
                "The audio must be a file that can be read again from its start, not a pipe.",
            ) from None
        _sniff(head)
        cut = _cut_short(handle, size)
        no_length_header = _looks_like_mp3(head) and _no_length_header(handle)
        handle.seek(0)
        try:
            audio = sf.SoundFile(handle)
        except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
            # libsndfile's message may name a temporary file: not repeated to the uploader.
            raise AudioRejected(
                "unsupported_format",
                f"The file is not audio the registry can read. Accepted: {ACCEPTED}.",
            ) from None
        with audio:
            estimated = audio.format == "MP3" and no_length_header
            return _decode_open(audio, _Container(cut, estimated), bounds)
    finally:
        if isinstance(source, str | Path):
            handle.close()


@dataclass(frozen=True)
class _Container:
    """What the file's container says beside libsndfile: why it was cut short (if it was),
    and whether its frame count is only an estimate (an MP3 without a Xing, Info or VBRI
    header: libsndfile reckons it from the first frame's bit rate, wrong for VBR)."""

    cut_short: str | None
    length_estimated: bool


def _looks_like_mp3(head: bytes) -> bool:
    """An ID3 tag or a frame sync at the start: where libsndfile itself finds an MP3 (no other
    file needs the extra reads of :func:`_no_length_header`)."""
    return head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _no_length_header(handle: BinaryIO) -> bool:
    """Whether the file, read as an MP3, has no Xing, Info or VBRI header in its first frame
    (after its ID3v2 tag, which cover art makes long): then libsndfile's frame count is an
    estimate. Read before libsndfile opens the file, which then owns the handle's position."""
    handle.seek(0)
    tag = handle.read(10)
    start = 0
    if tag[:3] == b"ID3" and len(tag) == 10:  # the tag's size: four 7-bit bytes, + a footer
        start = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(tag[6:10]))
        start += 10 if tag[5] & 0x10 else 0
    handle.seek(start)
    first = handle.read(MP3_FIRST_FRAME)
    return not any(name in first for name in (b"Xing", b"Info", b"VBRI"))


@dataclass(frozen=True)
class _Bounds:
    max_duration_s: float
    min_active_s: float
    max_samples: int
    deadline: float  # time.monotonic()


def _too_complex(what: str) -> AudioRejected:
    return AudioRejected(
        "too_complex",
        f"{what}. Send a shorter file, fewer channels or a lower sample rate "
        "(e.g. mono 16-48 kHz).",
    )


def _decode_open(audio: sf.SoundFile, container: _Container, bounds: _Bounds) -> DecodedAudio:
    declared = _check_header(audio, container, bounds)
    stream = _Stream(audio.samplerate, audio.channels)
    while True:
        block = _read_block(audio, bounds, stream.read)
        last = len(block) < BLOCK_FRAMES
        stream.feed(block, last, bounds)
        if last:
            break
    rate, read = audio.samplerate, stream.read
    if read == 0:
        raise AudioRejected("empty", "The file holds no audio (0 frames).")
    if declared is not None and read < declared * 0.98 - rate * 0.1:
        raise AudioRejected(
            "corrupt_audio",
            f"The file is truncated: it declares {declared / rate:.1f} s but holds "
            f"{read / rate:.1f} s.",
        )
    found = stream.printer.finish_peaks()
    active_s = _activity(*stream.levels(), found, stream.spectrum, bounds.min_active_s)
    hashes, times = index_hashes(found)
    if len(hashes) == 0:
        raise AudioRejected(
            "no_fingerprint",
            "The registry found nothing in this audio to fingerprint (no spectral peaks "
            "in the speech band).",
        )
    return DecodedAudio(
        duration_s=read / rate,
        sample_rate=rate,
        channels=audio.channels,
        format=f"{audio.format}/{audio.subtype}",
        pcm_sha256=stream.digest.hexdigest(),
        active_s=active_s,
        peaks=found,
        hashes=hashes,
        times=times,
    )


def _check_header(audio: sf.SoundFile, container: _Container, bounds: _Bounds) -> int | None:
    """Refuse what the header alone shows to be out of contract; the declared frame count
    (None when it is unknown or only estimated: the limits are then kept while reading)."""
    rate, channels = audio.samplerate, audio.channels
    if audio.format not in CONTRACT_FORMATS:
        raise AudioRejected(
            "unsupported_format",
            f"This is a {audio.format} file, which the registry does not take. "
            f"Accepted: {ACCEPTED}.",
        )
    if channels < 1 or channels > MAX_CHANNELS:
        raise AudioRejected(
            "unsupported_format", f"{channels} channels: the registry takes 1 to {MAX_CHANNELS}."
        )
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioRejected(
            "unsupported_format", f"{rate} Hz: the registry takes 8 kHz to 192 kHz."
        )
    exact = audio.frames and audio.frames < 2**62 and not container.length_estimated
    declared = audio.frames if exact else None
    if declared is not None and declared / rate > bounds.max_duration_s:
        raise AudioRejected(
            "too_long",
            f"The file lasts {clock_time(declared / rate)}; the limit is "
            f"{clock_time(bounds.max_duration_s)}.",
        )
    if declared is not None and declared * channels > bounds.max_samples:
        raise _too_complex(
            f"The file declares {declared * channels:,} samples ({channels} channels at "
            f"{rate} Hz); the limit is {bounds.max_samples:,}"
        )
    if container.cut_short:
        raise AudioRejected("corrupt_audio", container.cut_short)
    return declared


def clock_time(seconds: float) -> str:
    """3:00:10 rather than "3.00 h", which said a file over the limit lasted the limit."""
    whole = math.ceil(seconds)  # up: 10.6 s against a 10 s limit is not "0:00:10"
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


MAX_FLOAT_LEVEL = 64.0  # +36 dBFS: float samples beyond it are refused (see _read_block)


def _read_block(audio: sf.SoundFile, bounds: _Bounds, read: int) -> np.ndarray:
    try:
        block = audio.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError):
        raise AudioRejected(
            "corrupt_audio",
            f"The audio stops being readable after {read / audio.samplerate:.1f} s.",
        ) from None
    if time.monotonic() > bounds.deadline:
        raise _too_complex("Decoding this file takes longer than the registry allows")
    finite = np.isfinite(block).all(axis=1)
    if finite.all() and float(np.abs(block).max(initial=0.0)) > MAX_FLOAT_LEVEL:
        # A float file may go a little past full scale; this far past it is not a recording
        # (a scaled array), and its energies overflow the speaker embedding's float32 (a NaN
        # voiceprint once replaced a performer's own).
        at = (read + int(np.argmax(np.abs(block).max(axis=1) > MAX_FLOAT_LEVEL))) / audio.samplerate
        raise AudioRejected(
            "corrupt_audio",
            f"The file holds samples {20 * np.log10(MAX_FLOAT_LEVEL):.0f} dB and more above full "
            f"scale, from {at:.2f} s: it is not audio as recorded.",
        )
    if not finite.all():
        # Float WAVs can hold NaN or infinity; no sound is made of them, and they would poison
        # the hash, the resampler and the speaker embedding downstream.
        at = (read + int(np.argmin(finite))) / audio.samplerate
        raise AudioRejected(
            "corrupt_audio",
            f"The file holds samples that are not numbers (NaN or infinity), from {at:.2f} s.",
        )
    return block


def downmix(block: np.ndarray) -> np.ndarray:
    """Channels → mono by their mean, unless the mean cancels what the channels hold (a channel
    wired in opposite phase): then the loudest channel, so such a recording is not silence."""
    if block.shape[1] == 1:
        return block[:, 0]
    mono = block.mean(axis=1, dtype=np.float32)
    power = np.mean(np.square(block, dtype=np.float64), axis=0)
    if float(np.mean(np.square(mono, dtype=np.float64))) < power.mean() * CANCELLED_DOWNMIX:
        return np.ascontiguousarray(block[:, int(power.argmax())])
    return mono


class _Stream:
    """What one pass over the decoded blocks accumulates: the PCM digest, the fingerprint's
    peaks, the long-term spectrum and the per-frame levels of the speech check."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate, self.channels, self.read = rate, channels, 0
        self.digest = hashlib.sha256()
        self.resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        self.printer = Fingerprinter()
        self.spectrum = _LongTermSpectrum()
        self.energies: list[np.ndarray] = []
        self.offsets: list[np.ndarray] = []
        self.carry = np.zeros(0, dtype=np.float32)
        self.frame = int(ACTIVITY_FRAME_S * SAMPLE_RATE)

    def feed(self, block: np.ndarray, last: bool, bounds: _Bounds) -> None:
        mono = np.zeros(0, dtype=np.float32)
        if len(block):
            self.read += len(block)
            if self.read / self.rate > bounds.max_duration_s:
                raise AudioRejected(
                    "too_long", f"The file lasts more than {clock_time(bounds.max_duration_s)}."
                )
            if self.read * self.channels > bounds.max_samples:
                raise _too_complex(f"The file holds more than {bounds.max_samples:,} samples")
            pcm = np.clip(np.round(block * 32768.0), -32768, 32767).astype("<i2")
            self.digest.update(pcm.tobytes())
            mono = downmix(block)
        resampled = self.resampler.resample_chunk(mono, last=last)
        self.printer.feed(resampled)
        self.spectrum.feed(resampled)
        joined = np.concatenate([self.carry, resampled])
        whole = len(joined) // self.frame * self.frame
        if whole:
            # Level around each frame's mean: a DC offset is not sound.
            rows = joined[:whole].reshape(-1, self.frame)
            means = rows.mean(axis=1, keepdims=True)
            self.energies.append(np.sqrt(np.mean((rows - means) ** 2, axis=1)))
            self.offsets.append(np.abs(means[:, 0]))
        self.carry = joined[whole:]

    def levels(self) -> tuple[np.ndarray, float]:
        """Per-frame RMS around the mean, and the largest DC offset."""
        energies = np.concatenate(self.energies) if self.energies else np.zeros(0)
        return energies, float(np.concatenate(self.offsets).max()) if self.offsets else 0.0


class _LongTermSpectrum:
    """The file's average power spectrum, from one 64 ms frame in every ``STRIDE`` samples (a
    few per cent of the fingerprint's FFTs): a tone, even a fading one, holds most of it."""

    SIZE, STRIDE = 512, 4096
    _window = np.hanning(SIZE).astype(np.float32)

    def __init__(self) -> None:
        self.power = np.zeros(self.SIZE // 2 + 1)
        self.pending = np.zeros(0, dtype=np.float32)

    def feed(self, samples: np.ndarray) -> None:
        joined = np.concatenate([self.pending, samples])
        count = max(0, (len(joined) - self.SIZE) // self.STRIDE + 1)
        if count:
            starts = np.arange(count) * self.STRIDE
            frames = joined[starts[:, None] + np.arange(self.SIZE)] * self._window
            self.power += (np.abs(np.fft.rfft(frames, axis=1)) ** 2).sum(axis=0)
        self.pending = joined[count * self.STRIDE :]

    def tone_share(self) -> float:
        """The largest share of the 100-3,800 Hz power within ±2 bins (±31 Hz)."""
        band = self.power[7:244]
        total = float(band.sum())
        if total <= 0:
            return 0.0
        return float(np.convolve(band, np.ones(5), mode="same").max() / total)


def _too_little_sound(levels: np.ndarray, offset: float, min_active_s: float) -> AudioRejected:
    """Why a file with under ``min_active_s`` of sound above silence is refused: DC when its
    offset is louder than anything moving around it (a resampler's ringing at a DC file's edges
    is not sound), else too little sound; a short clip of speech is not DC."""
    offset_db = 20 * np.log10(offset + 1e-12)
    if offset_db > SILENCE_DB and offset_db > levels.max(initial=-np.inf):
        return AudioRejected("constant_signal", "The file holds a constant value (DC), not sound.")
    sounding = len(levels) * ACTIVITY_FRAME_S
    if sounding < 0.05:
        said = "The file is silent"
    else:
        said = f"The file holds only {sounding:.1f} s of sound"
    return AudioRejected(
        "no_speech", f"{said}; at least {min_active_s:.0f} s of speech are needed."
    )


def _activity(
    energies: np.ndarray,
    offset: float,
    found: Peaks,
    spectrum: _LongTermSpectrum,
    min_active_s: float,
) -> float:
    """Seconds of speech-like activity, judged against the file's own level; rejects silence,
    DC, tones and steady noise with their codes."""
    levels = 20 * np.log10(energies + 1e-12)
    # Percentiles over the frames that are not silence: a long file with a little speech
    # between digital silence is judged on its speech.
    levels = levels[levels > SILENCE_DB]
    if len(levels) * ACTIVITY_FRAME_S < min_active_s:
        raise _too_little_sound(levels, offset, min_active_s)
    loud = float(np.percentile(levels, 95))
    quiet = float(np.percentile(levels, 10))
    if loud - quiet < STEADY_DB:
        if (len(found) and _tone_share(found) >= TONE_SHARE) or spectrum.tone_share() >= TONE_SHARE:
            raise AudioRejected(
                "pure_tone",
                "The file holds a steady tone, not speech.",
            )
        raise AudioRejected(
            "no_speech",
            f"The level of this file barely changes ({loud - quiet:.1f} dB between its quiet "
            "and loud parts): steady noise or hum, not speech.",
        )
    active = levels > loud - ACTIVE_RELATIVE_DB
    active_s = float(active.sum() * ACTIVITY_FRAME_S)
    if active_s < min_active_s:
        raise AudioRejected(
            "no_speech",
            f"The file has {active_s:.1f} s of sound above silence; "
            f"at least {min_active_s:.0f} s are needed.",
        )
    if _tone_share(found) >= TONE_SHARE or spectrum.tone_share() >= TONE_SHARE:
        raise AudioRejected("pure_tone", "The file holds tones, not speech.")
    return active_s


def _tone_share(found: Peaks) -> float:
    """The share of spectral peaks on the most common frequency (within ±1 %)."""
    if len(found) == 0:
        return 0.0
    bins = np.round(np.log(np.maximum(found.hz, 1.0)) / np.log(1.01)).astype(np.int64)
    counts = np.bincount(bins - bins.min())
    return float(np.convolve(counts, np.ones(3), mode="same").max() / len(found))


def decode_array(samples: np.ndarray, sample_rate: int) -> DecodedAudio:
    """Fingerprint audio already in memory (mono or (frames, channels) floats in [-1, 1])."""
    import io

    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="FLOAT")
    buffer.seek(0)
    return decode(buffer)
