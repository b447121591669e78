"""Matching a query against registered fingerprints: time-coherent votes (an offset histogram)
under a few speed and tempo hypotheses, scored against the chance of a random hit.

A speed change (pitch and tempo together) multiplies every frequency by s and divides every time
by s; a tempo change (pitch kept) only divides times. The registry is hashed at s = 1; the query's
*peaks* are rescaled back under each hypothesis before hashing, so one index serves every speed.

Decision: for a voice, n pairs (query hash × posting) fall somewhere in an offset range of R
frames; by chance a bin of width w collects Binomial(n, w/R) of them. The best bin's count k is
turned into p = (R/w) · P[X ≥ k] (the bins, a union bound), multiplied by the hypotheses and the
candidate voices tried. A voice matches when p < ``false_alarm`` (default 1e-6 per query) and
k ≥ ``MIN_VOTES``. ``score`` = 1 − p.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .fingerprint import HOP_S, Peaks, hashes_of

# (frequency scale, time scale) applied to the query's peaks: speed ±1.5 %, ±3 %; tempo ±2.5 %, ±5 %
HYPOTHESES: tuple[tuple[float, float], ...] = (
    (1.0, 1.0),
    *((1 / s, s) for s in (0.97, 0.985, 1.015, 1.03)),
    *((1.0, t) for t in (0.95, 0.975, 1.025, 1.05)),
)
MIN_VOTES = 8
FALSE_ALARM = 1e-6  # per query, after the corrections for bins, hypotheses and voices
MIN_SPAN_S = 1.2  # matching votes must spread over this much of the query
BACKGROUND_BINS = 8  # the voice's strongest other bins estimate the chance rate
OFFSET_BIN = 3  # frames (48 ms)
MAX_LOOKUPS = 4000  # distinct hashes looked up per query (each is one index request)
# The registry pairs each peak with 5 partners; a query needs only the nearest ones to land.
QUERY_FAN_OUT = 3

Lookup = Callable[[np.ndarray], Iterable[tuple[int, str, int]]]


@dataclass
class Match:
    voice_id: str
    score: float
    p_value: float
    votes: int
    query_start_s: float
    voice_start_s: float
    duration_s: float
    speed: float
    tempo: float
    found_by: str = "keys"  # "peaks": a near miss verified on the voice's peaks (verify.py)


@dataclass
class MemoryIndex:
    """An in-memory index (tests, benchmarks): hash → [(voice, time)]."""

    postings: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    requests: int = 0

    def add(self, voice_id: str, hashes: np.ndarray, times: np.ndarray) -> None:
        for h, t in zip(hashes.tolist(), times.tolist(), strict=True):
            self.postings.setdefault(h, []).append((voice_id, t))

    def lookup(self, hashes: np.ndarray) -> Iterable[tuple[int, str, int]]:
        for h in np.unique(hashes).tolist():
            self.requests += 1
            for voice_id, t in self.postings.get(h, ()):
                yield h, voice_id, t


TAIL_TERMS = 200  # terms of a Poisson tail summed (the rest are negligible at these rates)


def _log_poisson_tail(rate: float, k: int) -> float:
    """log P[Poisson(rate) ≥ k]."""
    if k <= 0:
        return 0.0
    # the first TAIL_TERMS terms, each from the one before (term_i+1 = term_i + log(rate / (i + 1)))
    steps = np.cumsum(math.log(rate) - np.log(np.arange(k + 1, k + TAIL_TERMS, dtype=np.float64)))
    top = max(0.0, float(steps.max()))
    first = k * math.log(rate) - rate - math.lgamma(k + 1)
    return first + top + math.log(math.exp(-top) + float(np.exp(steps - top).sum()))


def query_hashes(found: Peaks) -> list[tuple[tuple[float, float], np.ndarray, np.ndarray]]:
    """The query's hashes under every hypothesis, capped at MAX_LOOKUPS distinct values."""
    per = [(h, *hashes_of(found, h[0], h[1], QUERY_FAN_OUT)) for h in HYPOTHESES]
    distinct = np.unique(np.concatenate([q[1] for q in per])) if per else np.zeros(0)
    if len(distinct) <= MAX_LOOKUPS:
        return per
    rng = np.random.default_rng(len(found))  # deterministic for a given query
    keep = set(rng.choice(distinct, MAX_LOOKUPS, replace=False).tolist())
    out = []
    for hypothesis, hashes, times in per:
        mask = np.fromiter((h in keep for h in hashes.tolist()), bool, len(hashes))
        out.append((hypothesis, hashes[mask], times[mask]))
    return out


@dataclass
class _Found:
    """The postings a lookup returned, as arrays sorted by hash (voices as indices of names)."""

    names: list[str]
    hashes: np.ndarray
    voices: np.ndarray
    times: np.ndarray
    extent: np.ndarray  # per voice: its last posting's frame


def _read_postings(lookup: Lookup, hashes: np.ndarray) -> _Found | None:
    codes: dict[str, int] = {}
    p_hash, p_voice, p_time = [], [], []
    for h, voice_id, t in lookup(hashes):
        p_hash.append(h)
        p_voice.append(codes.setdefault(voice_id, len(codes)))
        p_time.append(t)
    if not p_hash:
        return None
    ph = np.asarray(p_hash, dtype=np.int64)
    order = np.argsort(ph, kind="stable")
    pv = np.asarray(p_voice, dtype=np.int64)[order]
    pt = np.asarray(p_time, dtype=np.int64)[order]
    extent = np.zeros(len(codes), dtype=np.int64)
    np.maximum.at(extent, pv, pt)
    return _Found(list(codes), ph[order], pv, pt, extent)


@dataclass
class _Votes:
    """One hypothesis: every (query hash × posting) pair, its voice and offset bin, and the
    offset histogram per voice (``keys`` = voice << 40 | bin, ascending, and their ``counts``)."""

    hypothesis: tuple[float, float]
    voice: np.ndarray
    bins: np.ndarray
    q_times: np.ndarray
    pairs: np.ndarray
    keys: np.ndarray
    counts: np.ndarray


def _votes(
    found: _Found, hypothesis: tuple[float, float], qh: np.ndarray, qt: np.ndarray
) -> _Votes | None:
    lo = np.searchsorted(found.hashes, qh, side="left")
    hi = np.searchsorted(found.hashes, qh, side="right")
    counts = hi - lo
    if counts.sum() == 0:
        return None
    q_index = np.repeat(np.arange(len(qh)), counts)
    p_index = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True) if b > a])
    voice = found.voices[p_index]
    offset = found.times[p_index] - qt[q_index].astype(np.int64)
    bins = np.floor_divide(offset, OFFSET_BIN)
    keys, key_counts = np.unique(voice * (1 << 40) + (bins + (1 << 30)), return_counts=True)
    return _Votes(
        hypothesis,
        voice,
        bins,
        qt[q_index],
        np.bincount(voice, minlength=len(found.names)),
        keys,
        key_counts,
    )


def _voice_match(
    found: _Found, votes: _Votes, v: int, query_frames: int, false_alarm: float
) -> Match | None:
    rows = np.nonzero((votes.keys >> 40) == v)[0]
    bin_values = (votes.keys[rows] & ((1 << 40) - 1)) - (1 << 30)
    trials = len(HYPOTHESES) * max(1, len(found.names))
    judged = judge(
        bin_values,
        votes.counts[rows],
        int(votes.pairs[v]),
        int(found.extent[v]),
        query_frames,
        trials,
        false_alarm,
    )
    if judged is None:
        return None
    top_row, count, p_value = judged
    bin_value = int(bin_values[top_row])
    in_bin = (votes.voice == v) & ((votes.bins == bin_value) | (votes.bins == bin_value + 1))
    q_times = votes.q_times[in_bin].astype(np.float64)
    freq_scale, time_scale = votes.hypothesis
    start_q = float(q_times.min()) / time_scale
    end_q = float(q_times.max()) / time_scale
    if (end_q - start_q) * HOP_S < MIN_SPAN_S:
        return None  # hits packed into one syllable are chance, not the same recording
    return Match(
        voice_id=found.names[v],
        score=1.0 - p_value,
        p_value=p_value,
        votes=count,
        query_start_s=start_q * HOP_S,
        voice_start_s=(float(q_times.min()) + bin_value * OFFSET_BIN) * HOP_S,
        duration_s=max(0.0, end_q - start_q) * HOP_S,
        speed=1 / freq_scale if freq_scale != 1.0 else 1.0,
        tempo=time_scale if freq_scale == 1.0 else time_scale * freq_scale,
    )


def match(found: Peaks, lookup: Lookup, *, false_alarm: float = FALSE_ALARM) -> list[Match]:
    """The registered voices the query's peaks match, the most votes first."""
    per_hypothesis = query_hashes(found)
    all_hashes = (
        np.unique(np.concatenate([h for _, h, _ in per_hypothesis]))
        if per_hypothesis
        else np.zeros(0, np.uint32)
    )
    postings = _read_postings(lookup, all_hashes) if len(all_hashes) else None
    if postings is None:
        return []
    query_frames = int(found.frames.max() - found.frames.min() + 1) if len(found) else 1
    best: dict[int, Match] = {}
    for hypothesis, qh, qt in per_hypothesis:
        votes = _votes(postings, hypothesis, qh, qt)
        if votes is None:
            continue
        for v in np.unique(votes.keys >> 40).tolist():
            candidate = _voice_match(postings, votes, v, query_frames, false_alarm)
            current = best.get(v)
            if candidate and (current is None or candidate.votes > current.votes):
                best[v] = candidate
    return sorted(best.values(), key=lambda m: (-m.votes, m.voice_id))


def judge(
    bins: np.ndarray,
    counts: np.ndarray,
    pairs: int,
    extent: int,
    query_frames: int,
    trials: int,
    false_alarm: float = FALSE_ALARM,
) -> tuple[int, int, float] | None:
    """The time-coherence decision for one voice under one hypothesis, from its offset histogram
    (the non-empty ``bins`` in ascending order and their ``counts``; ``pairs`` = counts' sum;
    ``extent`` = the voice's latest posting time seen): (index of the best bin, its votes merged
    with the next bin, p-value), or None when chance explains it. Shared with the bulk audit,
    which builds the same histogram in SQL."""
    merged = counts.astype(np.int64).copy()
    # neighbouring bins merged: offsets straddle bin edges
    merged[:-1] += np.where(np.diff(bins) == 1, counts[1:], 0)
    top = int(np.argmax(merged))
    votes = int(merged[top])
    if votes < MIN_VOTES:
        return None
    # Chance hits cluster (speech repeats its sounds), so the background rate is taken from the
    # voice's own histogram when it exceeds the uniform expectation.
    positions = np.arange(len(merged))
    others = merged[np.abs(positions - top) > 1]
    background = np.sort(others)[-BACKGROUND_BINS:] if len(others) else np.zeros(1)
    span = extent + query_frames * 2
    width = 2 * OFFSET_BIN
    uniform = pairs * width / max(span, width)
    rate = max(uniform, float(background.mean()) if len(background) else 0.0, 0.05)
    log_p = _log_poisson_tail(rate, votes) + math.log(max(1.0, span / width)) + math.log(trials)
    p_value = math.exp(min(0.0, log_p))
    return None if p_value >= false_alarm else (top, votes, p_value)
