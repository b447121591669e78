"""The telephone channel, simulated, and narrowband audio detected.

A voiceprint enrolled from clean studio speech misses much of the same speaker heard through a
telephone band. ``bench/speaker_eer.py --channel-prints`` measures the next step: each voice
also enrolled through this channel, narrowband clips routed to that variant (not yet used by
the service: see the README). 8 kHz, 300-3400 Hz (FFT band-pass), G.711 µ-law, back to 16 kHz.
numpy and soxr only.
"""

from __future__ import annotations

import numpy as np
import soxr

from shared.speaker.mel import SAMPLE_RATE

NARROW_RATE = 8000
LOW_HZ, HIGH_HZ = 300.0, 3400.0
MU = 255.0


def telephone(wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    narrow = soxr.resample(np.asarray(wav, np.float32), sample_rate, NARROW_RATE, quality="HQ")
    spectrum = np.fft.rfft(narrow)
    hz = np.fft.rfftfreq(len(narrow), 1 / NARROW_RATE)
    spectrum[(hz < LOW_HZ) | (hz > HIGH_HZ)] = 0
    narrow = np.clip(np.fft.irfft(spectrum, len(narrow)), -1, 1)
    coded = np.round(np.sign(narrow) * np.log1p(MU * np.abs(narrow)) / np.log1p(MU) * 127) / 127
    narrow = np.sign(coded) * ((1 + MU) ** np.abs(coded) - 1) / MU
    return soxr.resample(narrow.astype(np.float32), NARROW_RATE, sample_rate, quality="HQ")


NARROWBAND_ABOVE_HZ = 3700.0
NARROWBAND_SHARE = 1e-4  # clean speech: 1e-2 and more above 3.7 kHz; a phone line: ~5e-6


def is_narrowband(wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bool:
    """Audio with (almost) nothing above 3.7 kHz: a telephone line, an 8 kHz recording."""
    power = np.abs(np.fft.rfft(np.asarray(wav, np.float64))) ** 2
    total = float(power.sum())
    if total == 0.0:
        return False
    hz = np.fft.rfftfreq(len(wav), 1 / sample_rate)
    return float(power[hz > NARROWBAND_ABOVE_HZ].sum()) / total < NARROWBAND_SHARE
