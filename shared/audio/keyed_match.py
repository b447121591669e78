"""Matching for the keyed experiment (keyed.py): time-coherent votes under a grid of tempo
factors, scored against the chance of a random hit.

The keys do not move under a change of level, speed or tempo, so the index is read once per
query, whatever the hypothesis. What a speed or tempo change still does is stretch the query's
time axis: a registered anchor at t_r meets a query anchor at t_q with t_r = offset + s·t_q, so
the votes are histogrammed for every s of ``TEMPOS`` (CPU only). The decision is match.py's,
p = (R/w) · P[X ≥ k] for the best offset bin, times the tempo factors and voices tried, made
twice (the bin's votes, or its moments of query time: see CELL) and the better kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from .fingerprint import HOP_S, Peaks
from .keyed import query_keys
from .match import TAIL_TERMS, Match, _log_poisson_tail

# speed ±3 % and tempo ±5 % both stretch the query's time axis; 1 % steps keep a 5 s query's
# votes within one offset bin
TEMPOS: tuple[float, ...] = tuple(round(0.94 + 0.01 * i, 2) for i in range(13))
MIN_VOTES = 6
LEAST_RATE = 0.05  # the decision's lowest chance rate per bin pair (_least_rate's floor)
FALSE_ALARM = 1e-6
MIN_SPAN_S = 1.2
BACKGROUND_BINS = 8
OFFSET_BIN = 3  # frames (48 ms)
# The decision makes two tests and takes the better (its p-value doubled): the best bin's votes
# against the median of the voice's strongest other bins (a phrase it repeats makes a few high
# bins), and its votes counted once per CELL of query time against twice the voice's votes
# spread evenly. The second finds the sparse matches of noisy queries: one chance likeness of a
# few peaks votes through several neighbouring anchors at once, a real match all along the
# query; and chance is not spread evenly over a voice (it falls where its speech resembles the
# query's), hence UNEVEN (on 600 excerpts of other speakers the lowest corrected p-value was
# 0.8 % at 2x, 7·10⁻⁵ at 1x). The median of the strong bins still guards it, divided by
# ORDER_SHARE: an order statistic, about 2 votes for an even rate of 0.1.
CELL = 4  # frames (64 ms)
UNEVEN = 2.0
ORDER_SHARE = 8.0
MAX_LOOKUPS = 10_000  # distinct keys per query: 100 BatchGetItem requests of 100 keys

Lookup = Callable[[np.ndarray], "Postings | Iterable[tuple[int, str, int]]"]


@dataclass
class MemoryIndex:
    """An in-memory keyed index (tests, benchmarks): sorted arrays of (key, voice, time)."""

    names: list[str] = field(default_factory=list)
    requests: int = 0
    _parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    # sorted (keys, voices, times), and the distinct keys with where each one's rows begin
    _sorted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    _starts: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, voice_id: str, hashes: np.ndarray, times: np.ndarray) -> None:
        code = np.full(len(hashes), len(self.names), np.int64)
        self.names.append(voice_id)
        self._parts.append((hashes.astype(np.int64), code, times.astype(np.int64)))
        self._sorted = self._starts = None

    def _build(self) -> None:
        keys = np.concatenate([p[0] for p in self._parts])
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        voices = np.concatenate([p[1] for p in self._parts])[order]
        self._sorted = (keys, voices, np.concatenate([p[2] for p in self._parts])[order])
        first = _run_starts(keys)
        self._starts = (keys[first], np.append(first, len(keys)))

    def lookup(self, hashes: np.ndarray) -> Postings:
        distinct = _unique(hashes.astype(np.int64))
        self.requests += -(-len(distinct) // 100)  # as BatchGetItem would
        if not self._parts:
            return Postings.empty()
        if self._sorted is None or self._starts is None:
            self._build()
        assert self._sorted is not None and self._starts is not None
        keys, voices, times = self._sorted
        held, starts = self._starts
        if len(held) == 0:
            return Postings.empty()
        at = np.minimum(np.searchsorted(held, distinct), len(held) - 1)
        at = at[held[at] == distinct]  # one search among distinct keys, not two among postings
        rows = _ranges(starts[at], starts[at + 1])
        # only the voices found: the decision corrects for the voices that had a vote (their
        # codes renumbered in order, as np.unique's inverse would, without its sort)
        voice = voices[rows]
        present = np.zeros(len(self.names), bool)
        present[voice] = True
        code = (np.cumsum(present) - 1)[voice]
        found = np.flatnonzero(present).tolist()
        return Postings(keys[rows], code, times[rows], [self.names[v] for v in found])


@dataclass(frozen=True)
class Postings:
    """A lookup's rows as columns: key, voice (an index into ``names``) and registered anchor
    frame. A lookup may return this instead of (key, voice_id, frame) tuples: a query reads
    thousands of postings, and a Python tuple per row cost more than the whole vote."""

    keys: np.ndarray
    voices: np.ndarray
    times: np.ndarray
    names: list[str]

    @classmethod
    def empty(cls) -> Postings:
        nothing = np.zeros(0, np.int64)
        return cls(nothing, nothing, nothing, [])

    @classmethod
    def of_rows(cls, found: Iterable[tuple[int, str, int]]) -> Postings:
        rows = list(found)
        if not rows:
            return cls.empty()
        keys, names, times = zip(*rows, strict=True)
        return cls.of_columns(keys, names, times)

    @classmethod
    def of_columns(
        cls, keys: Sequence[int], names: Sequence[str], times: Sequence[int]
    ) -> Postings:
        """From equal-length columns, the voices given by name."""
        codes: dict[str, int] = {}
        for name in names:
            codes.setdefault(name, len(codes))
        voices = np.fromiter(map(codes.__getitem__, names), np.int64, len(names))
        return cls(np.array(keys, np.int64), voices, np.array(times, np.int64), list(codes))

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[tuple[int, str, int]]:
        names = self.names
        return zip(
            self.keys.tolist(), [names[v] for v in self.voices], self.times.tolist(), strict=True
        )


def _unique(values: np.ndarray) -> np.ndarray:
    """np.unique of a 1-D array (sorted distinct values) by a sort and a comparison: numpy
    2.4's np.unique hashes first and was 2–6x slower on the tens of thousands of votes here.
    Values that fit in 31 bits are sorted as int32, ~1.7x faster than int64 here (the packed
    votes of a query take ~29 bits); the cast keeps every value. Values already distinct and
    sorted (the keys match_and_near looks up) are only copied."""
    if len(values) < 2 or bool(np.all(values[1:] > values[:-1])):
        return values.copy()
    small = values.dtype.kind in "iu"
    if small and values.min() >= 0 and values.max() < 1 << 31:
        ordered = np.sort(values.astype(np.int32)).astype(values.dtype)
    else:
        ordered = np.sort(values)
    return ordered[_run_starts(ordered)]


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array begins. (Not ``np.r_[True, a != b]``:
    np.r_ parses its index in Python, ~20 µs a call, and the vote made ~60 calls a query.)"""
    change = np.empty(len(ordered), bool)
    change[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    return np.flatnonzero(change)


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenated arange(lo[i], hi[i]) for every i, without a Python loop."""
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return starts + np.arange(total)


def query_hashes(found: Peaks) -> tuple[np.ndarray, np.ndarray]:
    """The query's probe keys and anchor frames, capped at MAX_LOOKUPS distinct keys, sorted
    by key: the one sort the lookup's distinct keys and the search among the postings need."""
    keys, times = query_keys(found)
    by_key = np.argsort(keys, kind="stable")
    keys, times = keys[by_key], times[by_key]
    distinct = keys[_run_starts(keys)]
    if len(distinct) <= MAX_LOOKUPS:
        return keys, times
    rng = np.random.default_rng(len(found))  # deterministic for a given query
    keep = np.isin(keys, rng.choice(distinct, MAX_LOOKUPS, replace=False))
    return keys[keep], times[keep]


@dataclass
class _Pairs:
    """One vote per (voice, query anchor, registered anchor) sharing a key."""

    names: list[str]
    voice: np.ndarray
    t_query: np.ndarray
    t_reg: np.ndarray
    extent: np.ndarray  # per voice: its last posting's frame
    pairs: np.ndarray  # per voice: its votes in all


def _postings(found: Postings | Iterable[tuple[int, str, int]]) -> Postings | None:
    """The lookup's rows as columns sorted by key (None if there are none)."""
    got = found if isinstance(found, Postings) else Postings.of_rows(found)
    if len(got) == 0:
        return None
    if len(got) > 1 and bool(np.any(got.keys[1:] < got.keys[:-1])):
        order = np.argsort(got.keys, kind="stable")
        got = Postings(got.keys[order], got.voices[order], got.times[order], got.names)
    return got


def _distinct(voice: np.ndarray, t_query: np.ndarray, t_reg: np.ndarray) -> np.ndarray:
    """The distinct (voice, query time, registered time) rows, sorted: one vote per anchor pair.
    Packed into one int64 when the ranges allow (a 1-D sort is ~10x a row sort)."""
    if len(voice) == 0:
        return np.zeros((0, 3), np.int64)
    q_radix, r_radix = int(t_query.max()) + 1, int(t_reg.max()) + 1
    if int(voice.max() + 1) * q_radix * r_radix >= 1 << 62 or min(t_query.min(), t_reg.min()) < 0:
        return np.unique(np.stack([voice, t_query, t_reg], axis=1), axis=0)
    packed = _unique((voice * q_radix + t_query) * r_radix + t_reg)
    return np.stack(
        [packed // (q_radix * r_radix), packed // r_radix % q_radix, packed % r_radix], 1
    )


def _pairs(
    qk: np.ndarray, qt: np.ndarray, found: Postings | Iterable[tuple[int, str, int]]
) -> _Pairs | None:
    got = _postings(found)
    if got is None:
        return None
    by_key = np.argsort(qk, kind="stable")  # sorted needles: a search ~4x faster, same pairs
    lo = np.searchsorted(got.keys, qk[by_key], side="left")
    hi = np.searchsorted(got.keys, qk[by_key], side="right")
    q_index = np.repeat(by_key, hi - lo)
    p_index = _ranges(lo, hi)
    if len(p_index) == 0:
        return None
    # the groups and probes of one anchor are not independent evidence: one vote per pair
    pair = _distinct(got.voices[p_index], qt[q_index], got.times[p_index])
    voice = pair[:, 0]
    return _Pairs(
        got.names,
        voice,
        pair[:, 1].astype(np.float64),
        pair[:, 2].astype(np.float64),
        _latest(got.voices, got.times, len(got.names)),
        np.bincount(voice, minlength=len(got.names)),
    )


def _latest(voices: np.ndarray, times: np.ndarray, count: int) -> np.ndarray:
    """Per voice code below ``count``, its latest time (0 if none). Not ``np.maximum.at``: on
    postings grouped by key it ran at ~40 ns an item (~1 ms a query); a stable sort of the
    codes (a radix sort on int16) and a reduction per voice is ~7x faster."""
    latest = np.zeros(count, np.int64)
    if len(voices) == 0:
        return latest
    small = voices.astype(np.int16) if count <= np.iinfo(np.int16).max else voices
    by_voice = np.argsort(small, kind="stable")
    per = np.bincount(voices, minlength=count)
    has = per > 0
    latest[has] = np.maximum.reduceat(times[by_voice], (np.cumsum(per) - per)[has])
    return latest


def _contenders(pairs: _Pairs) -> _Pairs:
    """Only the votes of voices that can reach MIN_VOTES in two neighbouring offset bins under
    some tempo; an exact filter, so most chance votes are never histogrammed 13 times.

    Votes that share a merged bin at tempo s have offsets (at s = 1) within 2·OFFSET_BIN +
    |s − 1|·(the query's time range) of each other, so they fall in two neighbouring coarse bins
    of that width. The kept voices keep all their votes: the background is theirs, unchanged."""
    if len(pairs.voice) == 0:
        return pairs
    stretch = max(abs(s - 1.0) for s in TEMPOS) * float(np.ptp(pairs.t_query))
    width = 2 * OFFSET_BIN + math.ceil(stretch) + 1
    coarse = np.floor((pairs.t_reg - pairs.t_query) / width).astype(np.int64)
    keys, counts, _ = _counted(np.sort(_flat(pairs.voice, coarse)))
    merged = _merged(keys, counts, (keys[1:] >> 40) == (keys[:-1] >> 40))
    keep = np.isin(pairs.voice, _unique(keys[merged >= MIN_VOTES] >> 40))
    return _Pairs(
        pairs.names,
        pairs.voice[keep],
        pairs.t_query[keep],
        pairs.t_reg[keep],
        pairs.extent,
        pairs.pairs,
    )


@dataclass(frozen=True)
class _Histogram:
    """One tempo factor's offset bins. Per non-empty (voice << 40 | bin) key, sorted: its count
    merged with the next bin's of the same voice (offsets straddle bin edges), and where its
    votes begin in ``order`` (the permutation of the votes that sorts their keys). Per voice
    present, ascending: its code, its first key's index (``ends`` closes the last), its most
    merged votes, and the key holding them (the lowest bin on a tie). The decision, the
    shortcut and the near list all read this one summary."""

    keys: np.ndarray
    merged: np.ndarray
    begins: np.ndarray
    order: np.ndarray
    voice: np.ndarray
    firsts: np.ndarray
    best: np.ndarray
    top: np.ndarray

    def rows(self, v: int) -> tuple[int, int, int]:
        """Voice ``v``'s keys lo … hi − 1 and its best key (``v`` must have votes)."""
        at = int(np.searchsorted(self.voice, v))
        hi = int(self.firsts[at + 1]) if at + 1 < len(self.firsts) else len(self.keys)
        return int(self.firsts[at]), hi, int(self.top[at])

    def votes_of(self, key: int) -> np.ndarray:
        """The votes (indices, ascending) in the bin pair the key ``key`` (an index) begins."""
        start = int(self.begins[key])
        return np.sort(self.order[start : start + int(self.merged[key])])


def _flat(voice: np.ndarray, bins: np.ndarray | int) -> np.ndarray:
    """The (voice << 40 | bin) keys, bins offset by 2^30 to stay positive."""
    return voice * (1 << 40) + (bins + (1 << 30))


def _counted(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of a sorted array, their counts, and where each one's run begins."""
    begins = _run_starts(ordered)
    return ordered[begins], np.diff(begins, append=len(ordered)), begins


def _merged(keys: np.ndarray, counts: np.ndarray, same_voice: np.ndarray) -> np.ndarray:
    """Each key's count plus the next bin's of the same voice (the key one above);
    ``same_voice``: whether each key's voice is the next key's."""
    merged = counts.copy()
    merged[:-1] += counts[1:] * (same_voice & (keys[1:] - keys[:-1] == 1))
    return merged


def _histogram(
    pairs: _Pairs,
    tempo: float,
    order: np.ndarray | None = None,
    base: np.ndarray | None = None,
) -> _Histogram:
    """The offset histogram of every vote under this tempo factor. ``order``, if given, is a
    permutation of the votes that (nearly) sorts the keys (the last tempo's ``order``): a
    neighbouring tempo moves few votes across a bin edge, so a stable sort of the keys in that
    order is a few merges of sorted runs, several times faster than a sort from scratch (and
    np.unique, which hashes first); the same keys and counts. ``base``: each vote's key at bin
    0 (``_flat(voice, 0)``), the same at every tempo."""
    offsets = pairs.t_reg - tempo * pairs.t_query
    flat = np.floor(np.divide(offsets, OFFSET_BIN, out=offsets), out=offsets).astype(np.int64)
    flat += _flat(pairs.voice, 0) if base is None else base
    if order is None:
        order = np.argsort(flat, kind="stable")
    else:
        order = order[np.argsort(flat[order], kind="stable")]
    keys, counts, begins = _counted(flat[order])
    voice = keys >> 40
    same_voice = voice[1:] == voice[:-1]
    merged = _merged(keys, counts, same_voice)
    firsts = np.flatnonzero(np.concatenate(([True], ~same_voice))) if len(keys) else begins
    if len(keys) == 0:
        return _Histogram(keys, merged, begins, order, keys, firsts, keys, firsts)
    # each voice's best key in one reduction over (votes, then the lower index) packed in one
    # integer, instead of a maximum, a comparison with it and a first-of-each-run
    size = len(keys) + 1
    packed = np.maximum.reduceat(merged * size + (len(keys) - np.arange(len(keys))), firsts)
    best, top = packed // size, len(keys) - packed % size
    return _Histogram(keys, merged, begins, order, voice[firsts], firsts, best, top)


def _decide(
    pairs: _Pairs,
    tempo: float,
    hist: _Histogram,
    v: int,
    query_frames: int,
    false_alarm: float,
) -> Match | None:
    lo, hi, top = hist.rows(v)
    merged = hist.merged

    def best_pairs() -> tuple[np.ndarray, np.ndarray]:
        in_bin = hist.votes_of(top)
        return pairs.t_query[in_bin], pairs.t_reg[in_bin]

    evidence = Evidence(
        votes=int(merged[top]),
        # the voice's other bins, in bin order, but the best one's two neighbours
        others=np.concatenate([merged[lo : max(lo, top - 1)], merged[top + 2 : hi]]),
        pairs=int(pairs.pairs[v]),
        extent=int(pairs.extent[v]),
        query_frames=query_frames,
        voices=len(pairs.names),
        tempo=tempo,
    )
    return judge(pairs.names[v], evidence, best_pairs, false_alarm)


@dataclass(frozen=True)
class Evidence:
    """What the decision reads for one voice under one tempo factor: the best offset bin's
    ``votes`` (merged with the next bin), the merged counts of the voice's other non-empty bins
    except the best one's two neighbours in bin order (``others``), the voice's votes in all
    (``pairs``) and latest registered anchor (``extent``), the query's length in frames, the
    voices that had any vote, and the tempo factor."""

    votes: int
    others: np.ndarray
    pairs: int
    extent: int
    query_frames: int
    voices: int
    tempo: float


def judge(
    voice_id: str,
    e: Evidence,
    best_pairs: Callable[[], tuple[np.ndarray, np.ndarray]],
    false_alarm: float = FALSE_ALARM,
) -> Match | None:
    """The matcher's decision, a pure function shared with the bulk audit (which builds the
    same histogram in SQL, shared/audits/sql.py): the best bin scored against a Poisson
    background, corrected for the bins, tempo factors and voices tried; None if chance
    explains it or the hits span under MIN_SPAN_S of the query. ``best_pairs`` gives the
    (query, registered) anchor times of the best bin pair's votes."""
    span = e.extent + e.query_frames * 2
    t_query, t_reg = best_pairs()
    p_value = math.exp(min(0.0, _log_p(e, span, t_query)))
    if p_value >= false_alarm:
        return None
    start_q, end_q = float(t_query.min()), float(t_query.max())
    if (end_q - start_q) * HOP_S < MIN_SPAN_S:
        return None  # hits packed into one syllable are chance, not the same recording
    offset = float(np.median(t_reg - e.tempo * t_query))
    return Match(
        voice_id=voice_id,
        score=1.0 - p_value,
        p_value=p_value,
        votes=e.votes,
        query_start_s=start_q * HOP_S,
        voice_start_s=max(0.0, offset + e.tempo * start_q) * HOP_S,
        duration_s=(end_q - start_q) * HOP_S,
        speed=1.0,
        tempo=e.tempo,
    )


def _log_p(e: Evidence, span: int, t_query: np.ndarray) -> float:
    """log p of the best bin: the better of the two tests (see CELL), doubled."""
    others = np.sort(e.others)[-BACKGROUND_BINS:]
    median = float(np.median(others)) if len(others) else 0.0
    least = _least_rate(e.pairs, span)
    by_votes = _log_chance(max(least, median), e.votes, span, e.voices)
    moments = len(np.unique(np.floor(t_query / CELL)))
    rate = max(UNEVEN * least, median / ORDER_SHARE)
    return math.log(2) + min(by_votes, _log_chance(rate, moments, span, e.voices))


def _least_rate(pairs: int, span: int) -> float:
    """The lowest chance rate per bin pair the decision uses: the voice's votes spread evenly."""
    width = 2 * OFFSET_BIN
    return max(pairs * width / max(span, width), LEAST_RATE)


def _log_chance(rate: float, votes: int, span: int, voices: int) -> float:
    """log p of ``votes`` in the best bin pair at this chance rate, corrected for the bin pairs,
    tempo factors and voices tried."""
    trials = len(TEMPOS) * max(1, voices)
    spread = max(1.0, span / (2 * OFFSET_BIN))
    return _log_poisson_tail(rate, votes) + math.log(spread) + math.log(trials)


def _least_chance(pairs: _Pairs, v: int, votes: int, query_frames: int) -> float:
    """log p of voice ``v``'s ``votes`` at its least rate (``_least_rate``): the lowest chance
    the decision could give them, by which the shortcut and the near list rank voices."""
    span = int(pairs.extent[v]) + query_frames * 2
    return _log_chance(_least_rate(int(pairs.pairs[v]), span), votes, span, len(pairs.names))


# Many voices' least chances are first computed at once, rounded (``_least_chances``): they
# differ from the scalar ``_least_chance`` only by the rounding of a few logs and exps (under
# ROUNDING / 1000: tests/unit/audio/test_keyed_vote.py), so wherever a rounded chance lies
# within ROUNDING of a bar the scalar one is asked: the shortcut's answers and the near list's
# order and log p stay the scalar chance's.
ROUNDING = 1e-6


def _least_chances(
    pairs: _Pairs, v: np.ndarray, votes: np.ndarray, query_frames: int
) -> np.ndarray:
    """``_least_chance`` of many (voice, votes) at once, up to ROUNDING: the Poisson tail's
    TAIL_TERMS terms as rows of one array (match._log_poisson_tail's sum), not one small numpy
    expression per voice (~10 µs each, for the ~150 voices of a busy query)."""
    width = 2 * OFFSET_BIN
    span = pairs.extent[v] + query_frames * 2
    rate = np.maximum(pairs.pairs[v] * width / np.maximum(span, width), LEAST_RATE)
    log_rate = np.log(rate)
    terms = np.arange(1.0, TAIL_TERMS, dtype=np.float64)
    steps = np.cumsum(log_rate[:, None] - np.log(votes[:, None] + terms), 1)
    top = np.maximum(0.0, steps.max(1, initial=0.0))
    first = votes * log_rate - rate - np.array([math.lgamma(k + 1) for k in votes.tolist()])
    tail = first + top + np.log(np.exp(-top) + np.exp(steps - top[:, None]).sum(1))
    spread = np.log(np.maximum(1.0, span / width))
    return (
        np.where(votes > 0, tail, 0.0) + spread + math.log(len(TEMPOS) * max(1, len(pairs.names)))
    )


@dataclass
class _Bar:
    """What ``_hopeful`` learnt of each voice across the tempo factors (neither the rate nor the
    bar depends on the tempo): the most votes known to fail, the fewest known to pass, and the
    scalar chance's answers where the rounded one was too near the bar. The least chance falls
    as the votes grow (a Poisson tail), so a rounded chance above the bar by over ROUNDING
    fails every count up to its own, and one below it by over ROUNDING passes every count from
    its own up: each voice's answer is then an array comparison at later tempos."""

    fails_upto: np.ndarray
    passes_from: np.ndarray
    scalar: dict[tuple[int, int], bool]

    @classmethod
    def none(cls, voices: int) -> _Bar:
        return cls(np.zeros(voices, np.int64), np.full(voices, np.iinfo(np.int64).max), {})

    def passing(
        self, pairs: _Pairs, v: np.ndarray, k: np.ndarray, query_frames: int, limit: float
    ) -> np.ndarray:
        """Whether each voice ``v`` (distinct) with ``k`` votes passes the bar at its least
        chance: the rounded chances of the counts not yet known, in one expression; the
        scalar chance where a rounded one lies within ROUNDING of the bar."""
        ask = (k > self.fails_upto[v]) & (k < self.passes_from[v])
        if ask.any():  # distinct voices: no two updates of one voice collide
            v_ask, k_ask = v[ask], k[ask]
            chance = _least_chances(pairs, v_ask, k_ask, query_frames)
            fails, passes = chance > limit + ROUNDING, chance < limit - ROUNDING
            self.fails_upto[v_ask[fails]] = k_ask[fails]
            self.passes_from[v_ask[passes]] = k_ask[passes]
            near = ~fails & ~passes
            for one, votes in zip(v_ask[near].tolist(), k_ask[near].tolist(), strict=True):
                if (one, votes) not in self.scalar:
                    chance_one = _least_chance(pairs, one, votes, query_frames)
                    self.scalar[one, votes] = chance_one < limit
        sure = k >= self.passes_from[v]
        if self.scalar:
            pairs_asked = zip(v.tolist(), k.tolist(), strict=True)
            sure |= np.array([self.scalar.get(pair, False) for pair in pairs_asked], bool)
        return sure


def _hopeful(
    pairs: _Pairs,
    hist: _Histogram,
    query_frames: int,
    false_alarm: float,
    bar: _Bar | None = None,
) -> list[tuple[int, int]]:
    """(voice, best merged votes) of the voices that could be a match under this tempo. The
    decision's rates are never below ``_least_rate``, it counts at most the bin's votes, and
    the tail grows with the rate and the count, so a voice whose best bin fails even there
    cannot pass: an exact shortcut past judge(). ``bar`` keeps what was learnt for the next
    tempo factors (see _Bar)."""
    known = _Bar.none(len(pairs.names)) if bar is None else bar
    enough = hist.best >= MIN_VOTES
    v, k = hist.voice[enough], hist.best[enough]
    hopeful = known.passing(pairs, v, k, query_frames, math.log(false_alarm))
    return list(zip(v[hopeful].tolist(), k[hopeful].tolist(), strict=True))


@dataclass(frozen=True)
class Candidate:
    """A voice the keyed decision did not accept, at its most likely alignment: registered
    frame ≈ ``offset`` + ``tempo`` · query frame, ``offset`` the start of the best bin pair
    (it spans 2·OFFSET_BIN frames), and ``log_p`` the bin's chance at the voice's least rate
    (``_least_rate``: a ranking, lower is likelier; not a decision)."""

    voice_id: str
    tempo: float
    offset: int
    votes: int
    log_p: float


def match(found: Peaks, lookup: Lookup, *, false_alarm: float = FALSE_ALARM) -> list[Match]:
    """The registered voices the query's peaks match, the most votes first."""
    return match_and_near(found, lookup, false_alarm=false_alarm, near=0)[0]


def match_and_near(
    found: Peaks, lookup: Lookup, *, false_alarm: float = FALSE_ALARM, near: int = 3
) -> tuple[list[Match], list[Candidate]]:
    """``match``'s result (the same decision), and the ``near`` likeliest voices it did not
    accept (for verify.py's check against their registered peaks), likeliest first."""
    qk, qt = query_hashes(found)  # sorted by key: its distinct keys are its runs' first
    found_pairs = _pairs(qk, qt.astype(np.int64), lookup(qk[_run_starts(qk)])) if len(qk) else None
    if found_pairs is None:
        return [], []
    pairs = _contenders(found_pairs)
    if len(pairs.voice) == 0:
        return [], []
    query_frames = int(found.frames.max() - found.frames.min() + 1)
    return _vote(pairs, query_frames, false_alarm, near)


def _vote(
    pairs: _Pairs, query_frames: int, false_alarm: float, near: int
) -> tuple[list[Match], list[Candidate]]:
    """The decision on the contenders' votes under every tempo factor, and the ``near``
    likeliest voices it did not accept. Each tempo's histogram is sorted from the previous
    one's order, and the shortcut's answers are kept across tempos (see _histogram, _Bar):
    the same decision at a fraction of the CPU."""
    best: dict[int, Match] = {}
    likeliest = _Likeliest.none(len(pairs.names))
    order: np.ndarray | None = None  # the first tempo's histogram sorts its keys afresh
    base = _flat(pairs.voice, 0)
    bar = _Bar.none(len(pairs.names))
    for tempo in TEMPOS:
        hist = _histogram(pairs, tempo, order, base)
        order = hist.order
        if near:
            likeliest.note(hist, tempo)
        for v, votes in _hopeful(pairs, hist, query_frames, false_alarm, bar):
            current = best.get(v)
            if current is not None and current.votes >= votes:
                continue
            candidate = _decide(pairs, tempo, hist, v, query_frames, false_alarm)
            if candidate is not None:
                best[v] = candidate
    matched = sorted(best.values(), key=lambda m: (-m.votes, m.voice_id))
    return matched, likeliest.candidates(pairs, query_frames, set(best), near)


def _rank(c: Candidate) -> tuple[float, str]:
    return c.log_p, c.voice_id


@dataclass
class _Likeliest:
    """Per voice, its best bin pair over the tempo factors so far: the most votes (at the
    voice's least rate, the lowest chance, as ``_hopeful`` ranks), the first tempo on a tie."""

    votes: np.ndarray
    tempo: np.ndarray
    key: np.ndarray

    @classmethod
    def none(cls, voices: int) -> _Likeliest:
        return cls(np.zeros(voices, np.int64), np.ones(voices), np.zeros(voices, np.int64))

    def note(self, hist: _Histogram, tempo: float) -> None:
        """Each voice's best bin pair under ``tempo`` (the histogram's summary, the lowest bin
        on a tie), where it has more votes than under the tempo factors before."""
        top = hist.top[hist.best >= MIN_VOTES]
        v = hist.voice[hist.best >= MIN_VOTES]
        better = hist.merged[top] > self.votes[v]
        top, v = top[better], v[better]
        self.votes[v], self.tempo[v], self.key[v] = hist.merged[top], tempo, hist.keys[top]

    def candidates(
        self, pairs: _Pairs, query_frames: int, accepted: set[int], near: int
    ) -> list[Candidate]:
        """The ``near`` likeliest noted voices not in ``accepted``, as Candidates with their
        chance, likeliest first. Only the voices whose rounded chance (``_least_chances``) is
        within 2·ROUNDING of the near-th lowest can be among them: only theirs is computed
        exactly, which ranks them."""
        noted = np.flatnonzero(self.votes)
        noted = noted[~np.isin(noted, list(accepted))]
        if near <= 0 or len(noted) == 0:
            return []
        if len(noted) > near:
            rounded = _least_chances(pairs, noted, self.votes[noted], query_frames)
            noted = noted[rounded <= np.partition(rounded, near - 1)[near - 1] + 2 * ROUNDING]
        out = []
        for v in noted.tolist():
            votes = int(self.votes[v])
            log_p = _least_chance(pairs, v, votes, query_frames)
            offset = ((int(self.key[v]) & ((1 << 40) - 1)) - (1 << 30)) * OFFSET_BIN
            out.append(Candidate(pairs.names[v], float(self.tempo[v]), offset, votes, log_p))
        return sorted(out, key=_rank)[:near]
