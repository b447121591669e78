"""A landmark fingerprint for speech: spectral-peak pairs on a log-frequency axis.

Pipeline (numpy only: this runs in Lambda, where librosa's JIT and size are not affordable):
8 kHz mono → STFT (512-point Hann window, hop 128 = 16 ms) → log magnitude → peaks that are the
maximum of their time-frequency neighbourhood and stand above the frame's median → at most
``PEAKS_PER_SECOND`` strongest peaks per second → each peak paired with the next ``FAN_OUT``
peaks in a target zone → a 32-bit hash of (anchor frequency, frequency ratio, time gap) and the
anchor's frame.

Frequencies enter the hash on a logarithmic scale (semitone-sized bins of ``LOG_STEP``), with
sub-bin peak positions, so that a change of playback speed — which multiplies every frequency by
the same factor — moves a whole fingerprint by a fraction of a bin; the matcher tries a few speed
and tempo hypotheses by rescaling the *query's* peaks before hashing (see match.py). The registry
side is hashed once, at factor 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

LM_VERSION = "lm-speech-1"  # this module's pair hashes (hashes_of)
# The deployed algorithm, in every index key: keyed.py's triplets over this module's peaks (see
# engine.py; the pair hashes stay for benchmarks and the old index beside the new one).
ALGORITHM_VERSION = "tri-speech-3"
SAMPLE_RATE = 8000
N_FFT = 512
HOP = 128
HOP_S = HOP / SAMPLE_RATE
MIN_HZ, MAX_HZ = 150.0, 3800.0
LOG_STEP = 2 ** (1 / 12)  # one semitone ≈ 5.9 %
PEAKS_PER_SECOND = 30
FAN_OUT = 5
MIN_DT, MAX_DT = 2, 40  # frames (32 ms … 640 ms)
MAX_DF_STEPS = 18  # |f2/f1| within 1.5 octaves
NEIGHBOURHOOD_F, NEIGHBOURHOOD_T = 4, 6  # ± bins, ± frames
BLOCK_FRAMES = 62  # ≈ 1 s: the unit of peak thinning
RELATIVE_FLOOR_DB = 6.0  # above the frame's median
ABSOLUTE_FLOOR_DB = -85.0  # relative to full scale

_WINDOW = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
_FREQS = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)
_BAND = np.nonzero((_FREQS >= MIN_HZ) & (_FREQS <= MAX_HZ))[0]
_LOG_MIN = np.log(MIN_HZ)
_LOG_STEP = np.log(LOG_STEP)


@dataclass
class Peaks:
    """Spectral peaks: frame index and frequency in Hz (sub-bin, parabolic interpolation)."""

    frames: np.ndarray  # int64
    hz: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.frames)


def frames_of(samples: np.ndarray) -> np.ndarray:
    """Hann-windowed frames, ``center=False`` (no padding), as (n_frames, N_FFT)."""
    if len(samples) < N_FFT:
        return np.zeros((0, N_FFT), dtype=np.float32)
    count = 1 + (len(samples) - N_FFT) // HOP
    view = np.lib.stride_tricks.as_strided(
        samples,
        shape=(count, N_FFT),
        strides=(samples.strides[0] * HOP, samples.strides[0]),
        writeable=False,
    )
    return view * _WINDOW


def log_spectrogram(samples: np.ndarray) -> np.ndarray:
    """dB magnitude (relative to a full-scale sine), (n_frames, n_bins)."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    spectrum = np.fft.rfft(frames_of(samples), axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    # 10·log10 of power is 20·log10 of magnitude, without the square root
    return (10 * np.log10(power * (16 / N_FFT**2) + 1e-12)).astype(np.float32)


def _running_max(values: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """max(values[i - radius : i + radius + 1]) along ``axis``, by doubling windows."""
    x = np.moveaxis(values, axis, 0)
    n, width = len(x), 2 * radius + 1
    forward = x.copy()  # forward[j] = max(x[j : j + span]), truncated at the end
    span = 1
    while span < width:
        step = min(span, width - span)
        forward[:-step] = np.maximum(forward[:-step], forward[step:])
        span += step
    out = np.empty_like(x)
    out[radius:] = forward[: max(0, n - radius)]
    head = np.maximum.accumulate(x[: min(n, width)], axis=0)
    count = min(radius, n)
    out[:count] = head[np.minimum(np.arange(count) + radius, len(head) - 1)]
    return np.moveaxis(out, 0, axis)


def _max_filter(spec: np.ndarray) -> np.ndarray:
    """Max over ± NEIGHBOURHOOD_F bins and ± NEIGHBOURHOOD_T frames (numpy only)."""
    return _running_max(_running_max(spec, NEIGHBOURHOOD_F, 1), NEIGHBOURHOOD_T, 0)


def peaks(spec: np.ndarray, frame_offset: int = 0, per_second: int | None = None) -> Peaks:
    """Local maxima of the speech band, thinned to the strongest ``per_second`` (by default
    PEAKS_PER_SECOND, the registry's) per second."""
    if spec.shape[0] == 0:
        return Peaks(np.zeros(0, np.int64), np.zeros(0))
    band = spec[:, _BAND]
    floor = band.mean(axis=1, keepdims=True) + RELATIVE_FLOOR_DB
    is_peak = (band == _max_filter(band)) & (band > floor) & (band > ABSOLUTE_FLOOR_DB)
    frames, bins = np.nonzero(is_peak)
    if len(frames) == 0:
        return Peaks(np.zeros(0, np.int64), np.zeros(0))
    strength = band[frames, bins]
    # keep the strongest PEAKS_PER_SECOND per block of BLOCK_FRAMES (aligned to absolute frames,
    # so that streaming and one-shot agree)
    per_block = max(1, int(PEAKS_PER_SECOND if per_second is None else per_second))
    block = (frames + frame_offset) // BLOCK_FRAMES
    order = np.lexsort((-strength, block))
    frames, bins, strength, block = frames[order], bins[order], strength[order], block[order]
    starts = np.searchsorted(block, block, side="left")
    keep = (np.arange(len(block)) - starts) < per_block
    frames, bins = frames[keep], bins[keep]
    # parabolic interpolation of the peak's position between bins
    full_bins = _BAND[bins]
    left = spec[frames, np.maximum(full_bins - 1, 0)]
    centre = spec[frames, full_bins]
    right = spec[frames, np.minimum(full_bins + 1, spec.shape[1] - 1)]
    denominator = left - 2 * centre + right
    delta = np.where(np.abs(denominator) > 1e-9, 0.5 * (left - right) / denominator, 0.0)
    hz = (full_bins + np.clip(delta, -0.5, 0.5)) * (SAMPLE_RATE / N_FFT)
    order = np.lexsort((hz, frames))
    return Peaks(frames[order].astype(np.int64) + frame_offset, hz[order])


CHUNK_PEAKS = 20_000  # anchors hashed at a time: memory stays flat for hours of audio


def hashes_of(
    found: Peaks, freq_scale: float = 1.0, time_scale: float = 1.0, fan_out: int = FAN_OUT
) -> tuple[np.ndarray, np.ndarray]:
    """Pair every peak with its next FAN_OUT peaks in the target zone → (hashes, anchor frames).

    ``freq_scale``/``time_scale`` rescale the peaks first (the matcher's speed and tempo
    hypotheses); the registry is hashed at 1.0.
    """
    if len(found) <= CHUNK_PEAKS:
        return _hashes_of(found, freq_scale, time_scale, fan_out)
    parts = []
    reach = fan_out * 3  # partners lie at most this many peaks ahead
    for start in range(0, len(found), CHUNK_PEAKS):
        stop = min(len(found), start + CHUNK_PEAKS + reach)
        chunk = Peaks(found.frames[start:stop], found.hz[start:stop])
        hashes, times, anchors = _hashes_of(chunk, freq_scale, time_scale, fan_out, True)
        keep = anchors < CHUNK_PEAKS  # anchors of the overlap belong to the next chunk
        parts.append((hashes[keep], times[keep]))
    return (
        np.concatenate([h for h, _ in parts]).astype(np.uint32),
        np.concatenate([t for _, t in parts]).astype(np.uint32),
    )


def _hashes_of(
    found: Peaks, freq_scale: float, time_scale: float, fan_out: int, with_anchors: bool = False
) -> Any:
    n = len(found)
    if n < 2:
        empty = np.zeros(0, np.uint32)
        return (empty, empty, empty) if with_anchors else (empty, empty)
    log_f = (np.log(found.hz * freq_scale) - _LOG_MIN) / _LOG_STEP
    t = found.frames * time_scale
    anchors, partners = [], []
    for k in range(1, fan_out * 3 + 1):
        a = np.arange(n - k)
        anchors.append(a)
        partners.append(a + k)
    a = np.concatenate(anchors)
    b = np.concatenate(partners)
    dt = t[b] - t[a]
    df = log_f[b] - log_f[a]
    ok = (dt >= MIN_DT) & (dt <= MAX_DT) & (np.abs(df) <= MAX_DF_STEPS)
    a, b, dt, df = a[ok], b[ok], dt[ok], df[ok]
    # at most FAN_OUT partners per anchor, the nearest in time first
    order = np.lexsort((dt, a))
    a, b, dt, df = a[order], b[order], dt[order], df[order]
    rank = np.arange(len(a)) - np.searchsorted(a, a, side="left")
    keep = rank < fan_out
    a, dt, df = a[keep], dt[keep], df[keep]
    # 20 bits: anchor frequency and frequency step in half-semitones, time gap in frames
    f1 = np.clip(np.round(log_f[a] * 2), 0, 127).astype(np.uint32)  # 7 bits
    q_df = np.clip(np.round(df * 2) + 2 * MAX_DF_STEPS, 0, 127).astype(np.uint32)  # 7 bits
    q_dt = np.clip(np.round(dt), 0, 63).astype(np.uint32)  # 6 bits
    hashes = (f1 << 13) | (q_df << 6) | q_dt
    times = np.round(t[a]).astype(np.int64)
    result = hashes.astype(np.uint32), np.maximum(times, 0).astype(np.uint32)
    return (*result, a) if with_anchors else result


def peaks_of(
    samples: np.ndarray, sample_rate: int = SAMPLE_RATE, per_second: int | None = None
) -> Peaks:
    """One-shot peaks of mono samples (resampled to SAMPLE_RATE when needed)."""
    if sample_rate != SAMPLE_RATE:
        import soxr

        samples = soxr.resample(samples, sample_rate, SAMPLE_RATE, quality="HQ")
    return peaks(log_spectrogram(np.asarray(samples, dtype=np.float32)), per_second=per_second)


def fingerprint(
    samples: np.ndarray, sample_rate: int = SAMPLE_RATE
) -> tuple[np.ndarray, np.ndarray]:
    """One-shot: mono samples → (hashes, anchor frames)."""
    return hashes_of(peaks_of(samples, sample_rate))


class Fingerprinter:
    """Streaming peaks with bounded memory: feed blocks of 8 kHz mono, then finish.

    Spectrogram frames are computed as samples arrive; peaks are picked a window at a time
    (whole thinning blocks, with the neighbourhood as margin on each side), so the result equals
    the one-shot :func:`fingerprint`; only the peaks (a few hundred bytes a second) are kept.
    """

    WINDOW_FRAMES = BLOCK_FRAMES * 30  # ≈ 30 s of frames per pick

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)
        self._spec = np.zeros((0, N_FFT // 2 + 1), dtype=np.float32)
        self._first = 0  # absolute frame index of self._spec[0]
        self._done = 0  # peaks are decided for frames < self._done
        self._frames: list[np.ndarray] = []
        self._hz: list[np.ndarray] = []
        self.samples_seen = 0

    def feed(self, samples: np.ndarray) -> None:
        self.samples_seen += len(samples)
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        count = 0 if len(data) < N_FFT else 1 + (len(data) - N_FFT) // HOP
        if count:
            new = log_spectrogram(data[: (count - 1) * HOP + N_FFT])
            self._spec = np.concatenate([self._spec, new])
            data = data[count * HOP :]
        self._pending = data
        while self._first + len(self._spec) - self._done >= self.WINDOW_FRAMES + NEIGHBOURHOOD_T:
            self._pick(self._done + self.WINDOW_FRAMES)

    def _pick(self, stop: int) -> None:
        lo = max(self._first, self._done - NEIGHBOURHOOD_T)
        hi = min(self._first + len(self._spec), stop + NEIGHBOURHOOD_T)
        found = peaks(self._spec[lo - self._first : hi - self._first], frame_offset=lo)
        keep = (found.frames >= self._done) & (found.frames < stop)
        self._frames.append(found.frames[keep])
        self._hz.append(found.hz[keep])
        self._done = stop
        drop = max(0, stop - NEIGHBOURHOOD_T - self._first)
        self._spec = self._spec[drop:]
        self._first += drop

    def finish_peaks(self) -> Peaks:
        end = self._first + len(self._spec)
        if end > self._done:
            self._pick(end)
        return Peaks(
            np.concatenate(self._frames) if self._frames else np.zeros(0, np.int64),
            np.concatenate(self._hz) if self._hz else np.zeros(0),
        )

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        return hashes_of(self.finish_peaks())
