"""Extraction speed, cold start, peak memory and index size of the fingerprint engine.

    .venv/bin/python bench/fingerprint_speed.py

Speech is generated (tests/unit/audio/speechlike.py) so the run needs nothing installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.audio import decode  # noqa: E402
from shared.fingerprint_index import postings  # noqa: E402
from tests.unit.audio.speechlike import speechlike  # noqa: E402

COLD = """
import sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
from shared.audio import decode
decoded = decode({path!r})
print(time.perf_counter() - start)
"""

PEAK = """
import resource, sys
sys.path.insert(0, {root!r})
from shared.audio import decode
decoded = decode({path!r}, max_duration_s=4 * 3600)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(decoded.hashes))
"""


def wav(path: Path, seconds: float, seed: int, sr: int = 16000) -> Path:
    sf.write(str(path), speechlike(seconds, sr, seed=seed), sr, subtype="PCM_16")
    return path


def long_wav(path: Path, hours: float, sr: int = 16000) -> Path:
    """Hours of speech written block by block (never whole in memory)."""
    minute = speechlike(60, sr, seed=1)
    with sf.SoundFile(str(path), "w", sr, 1, subtype="PCM_16") as out:
        for i in range(int(hours * 60)):
            out.write(np.roll(minute, i * 997))
    return path


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        clip = wav(tmp / "ten_minutes.wav", 600, seed=3)
        started = time.process_time()
        decoded = decode(clip)
        cpu = time.process_time() - started
        rows.append(
            (
                "extraction speed (decode 16 kHz WAV + resample + fingerprint)",
                f"{600 / cpu:,.0f}× real time per CPU core",
            )
        )
        first = wav(tmp / "first.wav", 30, seed=4)
        cold = [
            float(
                subprocess.run(
                    [sys.executable, "-c", COLD.format(root=str(ROOT), path=str(first))],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(3)
        ]
        rows.append(
            (
                "cold start: fresh process, import + first 30 s file",
                f"{min(cold):.2f} s (best of 3; median {sorted(cold)[1]:.2f} s)",
            )
        )
        three_hours = long_wav(tmp / "three_hours.wav", 3.0)
        size_mb = three_hours.stat().st_size / 1e6
        peak_mb, hashes = subprocess.run(
            [sys.executable, "-c", PEAK.format(root=str(ROOT), path=str(three_hours))],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        rows.append(
            (f"peak memory, 3-hour file ({size_mb:.0f} MB WAV)", f"{float(peak_mb):.0f} MB")
        )
        per_hour = len(decoded.hashes) * 6
        keys_per_hour = len(postings(decoded.hashes, decoded.times)) * 6
        element_bytes = 13 + 1 + 5  # "<voice_no>:<frame hex>" in the key's string set
        rows.append(("postings per registered hour (one per key × anchor)", f"{per_hour:,}"))
        rows.append(
            (
                "distinct keys per registered hour (one set-ADD update each)",
                f"{keys_per_hour:,} (~{per_hour * element_bytes / 1e6:.1f} MB/h of postings)",
            )
        )
        rows.append(
            (
                "DynamoDB write requests per registered minute (TransactWriteItems of 100)",
                f"{keys_per_hour / 60 / 100:,.1f}",
            )
        )
        rows.append(("3-hour file: keys", f"{int(hashes):,}"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':{width}s}  value")
    for name, value in rows:
        print(f"{name:{width}s}  {value}")
    print(json.dumps({"cpu_count": os.cpu_count()}))


if __name__ == "__main__":
    main()
