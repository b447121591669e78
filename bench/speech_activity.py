"""Speech activity at any level: how many 5 s excerpts of real recorded speech the decoder's
activity check accepts, clean, 20 and 40 dB quieter and in white noise (0 and 10 dB SNR).

Needs Debian's codec2-examples (`apt-get install codec2-examples`): its raw 8 kHz recordings of
real speakers (the modem and sine test signals are left out). Prints a Markdown table.

    .venv/bin/python bench/speech_activity.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.audio import AudioRejected, decode

RAW = Path("/usr/share/codec2/raw")
NOT_SPEECH = ("sine", "test", "700d", "datac")
SR = 8000


def accepted(samples: np.ndarray) -> bool:
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1, 1).astype(np.float32), SR, format="WAV", subtype="PCM_16")
    buffer.seek(0)
    try:
        decode(buffer)
    except AudioRejected:
        return False
    return True


def main() -> None:
    files = [f for f in sorted(RAW.glob("*.raw")) if not any(k in f.name for k in NOT_SPEECH)]
    if not files:
        sys.exit("install codec2-examples (Debian) first")
    rng = np.random.default_rng(1)
    conditions = {
        "clean": lambda x, n: x,
        "gain −20 dB": lambda x, n: x * 0.1,
        "gain −40 dB": lambda x, n: x * 0.01,
        "white noise 10 dB SNR": lambda x, n: 0.7 * (x + 0.316 * n),
        "white noise 0 dB SNR": lambda x, n: 0.5 * (x + n),
    }
    counts = dict.fromkeys(conditions, 0)
    excerpts = 0
    for path in files:
        speech = np.fromfile(path, dtype="<i2").astype(np.float32) / 32768
        for start in range(0, len(speech) - 5 * SR + 1, 5 * SR):
            excerpt = speech[start : start + 5 * SR]
            noise = rng.standard_normal(len(excerpt))
            noise *= np.sqrt(np.mean(excerpt**2) / np.mean(noise**2))
            excerpts += 1
            for name, make in conditions.items():
                counts[name] += accepted(make(excerpt, noise))
    others = [f for f in sorted(RAW.glob("*.raw")) if any(k in f.name for k in NOT_SPEECH)]
    rejected = total = 0
    for path in others:
        signal = np.fromfile(path, dtype="<i2").astype(np.float32) / 32768
        for start in range(0, len(signal) - 5 * SR + 1, 5 * SR):
            total += 1
            rejected += not accepted(signal[start : start + 5 * SR])
    print(f"{excerpts} excerpts of 5 s from {len(files)} recordings of speech\n")
    print("| condition | accepted as speech |\n|---|---|")
    for name, count in counts.items():
        print(f"| {name} | {count} / {excerpts} |")
    print(f"| the package's sine and modem test signals | {total - rejected} / {total} |")


if __name__ == "__main__":
    main()
