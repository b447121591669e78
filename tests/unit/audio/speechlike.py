"""Speech-like audio for tests (no recordings needed): syllables of voiced sound — a wandering
fundamental with harmonics shaped by moving formants — separated by noise bursts and pauses.
Each seed is a different 'speaker' and 'text'."""

from __future__ import annotations

import numpy as np


def _formant_gain(freqs: np.ndarray, formants: list[tuple[float, float]]) -> np.ndarray:
    gain = np.zeros_like(freqs)
    for centre, width in formants:
        gain += 1.0 / (1.0 + ((freqs - centre) / width) ** 2)
    return gain


def speechlike(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * sr), dtype=np.float64)
    base_f0 = rng.uniform(95, 260)
    position = int(rng.uniform(0.05, 0.2) * sr)
    while position < len(out):
        kind = rng.random()
        length = int(rng.uniform(0.08, 0.32) * sr)
        end = min(len(out), position + length)
        n = end - position
        t = np.arange(n) / sr
        if kind < 0.68:  # a voiced syllable
            f0 = (
                base_f0
                * (1 + 0.12 * np.sin(2 * np.pi * rng.uniform(1, 4) * t + rng.uniform(0, 6)))
                * rng.uniform(0.85, 1.2)
            )
            phase = 2 * np.pi * np.cumsum(f0) / sr
            f_start = [rng.uniform(300, 850), rng.uniform(900, 2300), rng.uniform(2400, 3300)]
            f_end = [f * rng.uniform(0.8, 1.25) for f in f_start]
            signal = np.zeros(n)
            for k in range(1, int(3800 / f0.max()) + 1):
                track = k * f0
                drift = np.linspace(0, 1, n)
                formants = [
                    (a + (b - a) * drift, 90 + 40 * i)
                    for i, (a, b) in enumerate(zip(f_start, f_end, strict=True))
                ]
                gain = sum(1.0 / (1.0 + ((track - c) / w) ** 2) for c, w in formants)
                signal += np.sin(k * phase) * gain / np.sqrt(k)
            envelope = np.sin(np.pi * np.linspace(0, 1, n)) ** 0.6
            out[position:end] += signal * envelope * rng.uniform(0.5, 1.0)
        elif kind < 0.85:  # a fricative: shaped noise
            noise = rng.standard_normal(n)
            spectrum = np.fft.rfft(noise)
            freqs = np.fft.rfftfreq(n, 1 / sr)
            spectrum *= _formant_gain(freqs, [(rng.uniform(2500, 6000), 900)])
            burst = np.fft.irfft(spectrum, n)
            out[position:end] += (
                burst / (np.abs(burst).max() + 1e-9) * rng.uniform(0.1, 0.3) * np.hanning(n)
            )
        # else: a pause
        position = end + int(rng.uniform(0.0, 0.12) * sr)
    peak = np.abs(out).max()
    return (out / peak * 0.5).astype(np.float32) if peak > 0 else out.astype(np.float32)
