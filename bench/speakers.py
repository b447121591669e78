"""Speaker-labelled speech for the voice-likeness benchmark, cut from the shared corpus.

``bench/corpus.py`` fetches and labels the recordings (Debian and PyPI packages, see there).
Here each speaker's speech becomes a list of *pieces* — separate utterances, so different words:
a clip file of a single-speaker source (a game line, a stamp description, a prompt), a 4 s
stretch of a long single-speaker recording (codec2's), or one speaker's turn in an AMI meeting
clip (pyannote's RTTM), without the parts where anybody else speaks too. A speaker's first
pieces are enrolled (their voiceprint); queries are cut from the pieces after them.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # (/corpus.py: fetch, cache and label the recordings)

SR = corpus.SR
MIN_PIECE_S = 1.0
LONG_PIECE_S = 4.0  # long single recordings are cut into pieces this long
GAP = np.zeros(int(0.2 * SR), np.float32)


@dataclass
class Speaker:
    id: str
    language: str
    source: str
    pieces: list[np.ndarray] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(len(p) for p in self.pieces) / SR


def _load(clip: corpus.Clip) -> np.ndarray:
    samples, rate = corpus._read(clip.path)
    lo = int(clip.start_s * rate)
    hi = len(samples) if clip.stop_s is None else int(clip.stop_s * rate)
    piece = samples[lo:hi].astype(np.float32)
    return soxr.resample(piece, rate, SR, quality="HQ") if rate != SR else piece


def _solo_turns(
    turns: list[tuple[float, float, str]],
) -> list[tuple[float, float, str]]:
    """Each turn minus the time anyone else is speaking (overlaps are nobody's)."""
    out = []
    for start, end, who in turns:
        others = sorted((s, e) for s, e, w in turns if w != who and s < end and e > start)
        cursor = start
        for s, e in others:
            if s > cursor:
                out.append((cursor, min(s, end), who))
            cursor = max(cursor, e)
        if cursor < end:
            out.append((cursor, end, who))
    return [(s, e, w) for s, e, w in out if e - s >= MIN_PIECE_S]


def speakers(fetch_missing: bool = True, max_seconds: float = 150.0) -> dict[str, Speaker]:
    """Every real speaker of the corpus with their pieces (at most ``max_seconds`` each: the
    corpus holds hours of some readers), in a stable order."""
    found: dict[str, Speaker] = {}
    for recording in corpus.recordings(fetch_missing=fetch_missing):
        if recording.synthetic:
            continue
        known = found.get(recording.speaker)
        if not recording.turns and known is not None and known.seconds >= max_seconds:
            continue
        if recording.turns:  # a meeting clip: one piece per solo stretch of a turn
            (clip,) = recording.clips
            whole = _load(clip)
            for start, end, who in _solo_turns(recording.turns):
                spk = found.setdefault(who, Speaker(who, recording.language, recording.source))
                spk.pieces.append(whole[int(start * SR) : int(end * SR)])
            continue
        spk = found.setdefault(
            recording.speaker,
            Speaker(recording.speaker, recording.language, recording.source),
        )
        for clip in recording.clips:
            samples = _load(clip)
            if len(samples) / SR > 3 * LONG_PIECE_S:  # one long recording: cut it up
                step = int(LONG_PIECE_S * SR)
                spk.pieces += [samples[i : i + step] for i in range(0, len(samples), step)]
            else:
                spk.pieces.append(samples)
    for spk in found.values():
        spk.pieces = _at_least(spk.pieces, MIN_PIECE_S)
    return dict(sorted(found.items()))


def _at_least(pieces: list[np.ndarray], seconds: float) -> list[np.ndarray]:
    """Consecutive short utterances (a spoken digit, a one-word stamp name) joined until each
    piece lasts ``seconds``; a short remainder is dropped."""
    out: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    for piece in pieces:
        pending.append(piece)
        if len(joined(pending)) >= seconds * SR:
            out.append(joined(pending))
            pending = []
    return out


def joined(pieces: list[np.ndarray]) -> np.ndarray:
    parts: list[np.ndarray] = []
    for piece in pieces:
        parts += [piece, GAP]
    return np.concatenate(parts[:-1]) if parts else np.zeros(0, np.float32)


@dataclass
class Split:
    """A speaker's enrolment reel and the query material after it (no piece in both)."""

    enrolment: np.ndarray
    queries: dict[float, list[np.ndarray]]


def split(
    spk: Speaker, enrol_s: float, lengths: tuple[float, ...], per_length: int
) -> Split | None:
    """Enrol the first pieces (up to ``enrol_s``, at most half the speaker's speech); cut
    up to ``per_length`` queries of each length from the pieces after them, each query from
    pieces not used by another query."""
    budget = min(enrol_s, spk.seconds / 2)
    enrolled: list[np.ndarray] = []
    rest = list(spk.pieces)
    while rest and sum(len(p) for p in enrolled) / SR < budget:
        enrolled.append(rest.pop(0))
    if sum(len(p) for p in enrolled) / SR < 3.0:
        return None
    queries: dict[float, list[np.ndarray]] = defaultdict(list)
    for length in lengths:
        need = int(length * SR)
        while rest and len(queries[length]) < per_length:
            taken: list[np.ndarray] = []
            while rest and len(joined(taken)) < need:
                taken.append(rest.pop(0))
            reel = joined(taken)
            if len(reel) < need:
                break
            queries[length].append(reel[:need])
    return Split(joined(enrolled), dict(queries))
