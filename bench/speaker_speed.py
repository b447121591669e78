"""Speaker embedding speed: seconds of audio embedded per second of one CPU core.

    .venv/bin/python bench/speaker_speed.py

Generated speech-like audio (nothing to install). BLAS runs on one thread (the encoder pins it);
the process is timed with CPU time as well as wall time, so a busy machine shows in the gap.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from shared import speaker
from shared.speaker import encoder
from tests.unit.audio.speechlike import speechlike


def measure(seconds: float, repeats: int) -> tuple[float, float]:
    wav = speechlike(seconds, 16000, seed=1).astype(np.float32)
    speaker.embed_samples(wav)  # warm: weights loaded, caches filled
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        speaker.embed_samples(wav)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return seconds * repeats / cpu, seconds * repeats / wall


def main() -> None:
    start = time.perf_counter()
    encoder.load_model.cache_clear()
    encoder.load_model()
    load_s = time.perf_counter() - start
    print("| audio | real time per CPU core (CPU time) | real time (wall clock) |")
    print("|---|---|---|")
    for seconds, repeats in ((3, 10), (10, 5), (60, 2), (240, 1)):
        per_cpu, per_wall = measure(seconds, repeats)
        print(f"| {seconds} s | {per_cpu:.0f}x | {per_wall:.0f}x |")
    size_mb = encoder.WEIGHTS.stat().st_size / 1e6
    print(f"\nweights loaded in {load_s * 1000:.0f} ms ({size_mb:.1f} MB)")


if __name__ == "__main__":
    main()
