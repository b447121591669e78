"""Real recorded speech for tests, fetched at run time (nothing committed): Debian's
``pocketsphinx-testdata`` (BSD-2-Clause), 1.8 MB — a LibriVox reader's five sentences and
another speaker's five spoken card names, all 16 kHz. Unpacked into the benchmark corpus cache
(``~/.cache/ailas-corpus``, ``AILAS_CORPUS``) so the benchmarks and the tests share one copy."""

from __future__ import annotations

import fcntl
import os
import subprocess
from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf

CACHE = Path(os.environ.get("AILAS_CORPUS", Path.home() / ".cache" / "ailas-corpus"))
PACKAGE = "pocketsphinx-testdata"
DATA = "usr/share/pocketsphinx/test/data"


@cache
def pocketsphinx_data() -> Path:
    root = CACHE / "pkg" / PACKAGE
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:  # test workers (pytest -n) unpack it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / DATA).exists():
            _unpack(root)
    return root / DATA


def _unpack(root: Path) -> None:
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    download = ["apt-get", "download", PACKAGE]
    if subprocess.run(download, cwd=debs, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(download, cwd=debs, check=True, capture_output=True)
    deb = sorted(debs.glob(f"{PACKAGE}_*.deb"))[-1]
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)


def reader_sentences() -> list[Path]:
    """One LibriVox reader (Sense and Sensibility), five different sentences, 3-7 s each."""
    return sorted((pocketsphinx_data() / "librivox").glob("*.wav"))


def card_names() -> list[Path]:
    """Another speaker: five spoken card names (1-3.5 s each)."""
    return sorted((pocketsphinx_data() / "cards").glob("*.wav"))


def joined(paths: list[Path]) -> np.ndarray:
    """The files' 16 kHz samples joined by 0.2 s of silence."""
    gap = np.zeros(3200, np.float32)
    parts: list[np.ndarray] = []
    for path in paths:
        samples, rate = sf.read(path, dtype="float32")
        assert rate == 16000
        parts += [samples, gap]
    return np.concatenate(parts[:-1])
