"""The keyed matcher's shortcuts are exact: the contender filter never drops a voice that can
reach MIN_VOTES under some tempo, the packed de-duplication equals a row sort, the Poisson
tail equals the plain sum it replaced, and the vote's CPU cuts (histograms sorted from the
previous tempo's order, the shortcut's answers kept across tempos, the near misses noted in
arrays) decide and rank exactly as the plain loop they replaced."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.audio import keyed_match
from shared.audio.keyed_match import (
    MIN_VOTES,
    TEMPOS,
    Candidate,
    Evidence,
    _contenders,
    _decide,
    _distinct,
    _histogram,
    _hopeful,
    _least_rate,
    _log_chance,
    _Pairs,
    _unique,
    judge,
)
from shared.audio.match import Match, _log_poisson_tail


def _votes(seed: int, voices: int, chance: int, planted: int) -> _Pairs:
    """Chance votes for every voice, and a time-coherent run for some at a random tempo."""
    rng = np.random.default_rng(seed)
    voice = rng.integers(0, voices, chance)
    t_query = rng.integers(0, 320, chance).astype(np.float64)
    t_reg = rng.integers(0, 20_000, chance).astype(np.float64)
    parts = [(voice, t_query, t_reg)]
    for v in range(0, voices, 2):
        tempo = float(rng.choice(TEMPOS))
        tq = np.sort(rng.integers(0, 320, planted)).astype(np.float64)
        parts.append((np.full(planted, v), tq, 5_000 + v * 10 + tempo * tq + rng.integers(0, 4)))
    v_all, q_all, r_all = (np.concatenate(c) for c in zip(*parts, strict=True))
    return _Pairs(
        [f"V{i}" for i in range(voices)],
        v_all.astype(np.int64),
        q_all,
        r_all,
        np.full(voices, 20_000, np.int64),
        np.bincount(v_all.astype(np.int64), minlength=voices),
    )


def _reaching(pairs: _Pairs) -> set[int]:
    """Voices whose merged offset bins reach MIN_VOTES under some tempo (the full histogram)."""
    found: set[int] = set()
    for tempo in TEMPOS:
        _, keys, merged = _plain_histogram(pairs, tempo)
        found |= set((keys[merged >= MIN_VOTES] >> 40).tolist())
    return found


def _plain_histogram(pairs: _Pairs, tempo: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The histogram as it was first written: every vote's offset bin, np.unique's sorted
    (voice << 40 | bin) keys and counts, each count merged with the next bin's of its voice."""
    bins = np.floor((pairs.t_reg - tempo * pairs.t_query) / 3).astype(np.int64)
    keys, counts = np.unique(pairs.voice * (1 << 40) + (bins + (1 << 30)), return_counts=True)
    merged = counts.copy()
    same_next = ((keys[1:] >> 40) == (keys[:-1] >> 40)) & (keys[1:] - keys[:-1] == 1)
    merged[:-1] += np.where(same_next, counts[1:], 0)
    return bins, keys, merged


def _plain_decide(
    pairs: _Pairs, tempo: float, plain: tuple[np.ndarray, np.ndarray, np.ndarray], v: int
) -> Match | None:
    """The decision on voice ``v`` as first written: its keys found by a mask, its best bin by
    argmax, the best bin pair's votes by a mask over all the votes."""
    bins, keys, merged = plain
    rows = np.nonzero((keys >> 40) == v)[0]
    top = int(rows[np.argmax(merged[rows])])
    bin_value = int(keys[top] & ((1 << 40) - 1)) - (1 << 30)
    in_bin = (pairs.voice == v) & ((bins == bin_value) | (bins == bin_value + 1))
    evidence = Evidence(
        votes=int(merged[top]),
        others=merged[rows[np.abs(rows - top) > 1]],
        pairs=int(pairs.pairs[v]),
        extent=int(pairs.extent[v]),
        query_frames=320,
        voices=len(pairs.names),
        tempo=tempo,
    )
    return judge(pairs.names[v], evidence, lambda: (pairs.t_query[in_bin], pairs.t_reg[in_bin]))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    voices=st.integers(1, 12),
    chance=st.integers(0, 3_000),
    planted=st.integers(0, 12),
)
def test_contenders_keep_every_voice_that_can_reach_the_vote_floor(
    seed: int, voices: int, chance: int, planted: int
) -> None:
    pairs = _votes(seed, voices, chance, planted)
    kept = _contenders(pairs)
    assert _reaching(pairs) <= set(np.unique(kept.voice).tolist())
    for v in np.unique(kept.voice).tolist():  # a kept voice keeps all of its votes
        assert np.sum(kept.voice == v) == np.sum(pairs.voice == v)
    assert kept.names == pairs.names and kept.pairs is pairs.pairs


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    voices=st.integers(1, 8),
    chance=st.integers(0, 2_000),
    planted=st.integers(6, 40),
)
def test_the_hopeful_shortcut_never_skips_a_voice_the_decision_accepts(
    seed: int, voices: int, chance: int, planted: int
) -> None:
    pairs = _votes(seed, voices, chance, planted)
    for tempo in TEMPOS:
        hist = _histogram(pairs, tempo)
        hopeful = dict(_hopeful(pairs, hist, 320, 1e-6))
        plain = _plain_histogram(pairs, tempo)
        for v in hist.voice.tolist():
            decided = _decide(pairs, tempo, hist, v, 320, 1e-6)
            assert decided is None or hopeful.get(v) == decided.votes
            assert decided == _plain_decide(pairs, tempo, plain, v)


def test_contenders_drop_voices_with_only_scattered_votes() -> None:
    pairs = _votes(seed=3, voices=40, chance=2_000, planted=0)
    pairs.voice[:8], pairs.t_query[:8] = 7, np.arange(8) * 30.0
    pairs.t_reg[:8] = 12_345 + np.arange(8) * 30.0  # a coherent run for V7 only
    kept = _contenders(pairs)
    assert 7 in kept.voice.tolist()
    assert len(kept.voice) < len(pairs.voice) / 4


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 400), st.integers(0, 9_000)), max_size=300)
)
def test_packed_distinct_equals_a_row_sort(rows: list[tuple[int, int, int]]) -> None:
    got = np.array(rows, dtype=np.int64).reshape(-1, 3)
    packed = _distinct(got[:, 0], got[:, 1], got[:, 2])
    expected = np.unique(got, axis=0) if len(got) else np.zeros((0, 3), np.int64)
    assert np.array_equal(packed, expected)


def test_poisson_tail_equals_the_plain_sum() -> None:
    for rate in (0.05, 0.7, 3.0, 40.0, 900.0):
        for k in (1, 6, 30, 400):
            terms = [i * math.log(rate) - rate - math.lgamma(i + 1) for i in range(k, k + 200)]
            top = max(terms)
            plain = top + math.log(sum(math.exp(t - top) for t in terms))
            assert math.isclose(_log_poisson_tail(rate, k), plain, rel_tol=1e-12, abs_tol=1e-12)


def _plain_vote(pairs: _Pairs, near: int) -> tuple[list[Match], list[Candidate]]:
    """match_and_near's loop as it was first written: np.unique's histogram at every tempo,
    every voice reaching MIN_VOTES decided by masks (no shortcut), and each voice's best bin
    kept by comparing its chance."""
    best: dict[int, Match] = {}
    likeliest: dict[int, Candidate] = {}
    for tempo in TEMPOS:
        plain = _plain_histogram(pairs, tempo)
        _, keys, merged = plain
        voice = keys >> 40
        order = np.lexsort((-merged, voice))
        first = order[np.r_[True, voice[order][1:] != voice[order][:-1]]]
        for key, votes in zip(keys[first].tolist(), merged[first].tolist(), strict=True):
            v, span = key >> 40, int(pairs.extent[key >> 40]) + 320 * 2
            log_p = _log_chance(
                _least_rate(int(pairs.pairs[v]), span), votes, span, len(pairs.names)
            )
            if votes < MIN_VOTES:
                continue
            if v not in likeliest or log_p < likeliest[v].log_p:
                offset = ((key & ((1 << 40) - 1)) - (1 << 30)) * 3
                likeliest[v] = Candidate(pairs.names[v], tempo, offset, votes, log_p)
            current = best.get(v)
            if current is None or current.votes < votes:
                decided = _plain_decide(pairs, tempo, plain, v)
                best.update({} if decided is None else {v: decided})
    matched = sorted(best.values(), key=lambda m: (-m.votes, m.voice_id))
    rest = [c for v, c in likeliest.items() if v not in best]
    return matched, sorted(rest, key=lambda c: (c.log_p, c.voice_id))[:near]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    voices=st.integers(1, 10),
    chance=st.integers(0, 3_000),
    planted=st.integers(0, 30),
)
def test_the_vote_decides_and_ranks_as_the_plain_loop(
    seed: int, voices: int, chance: int, planted: int
) -> None:
    pairs = _contenders(_votes(seed, voices, chance, planted))
    if len(pairs.voice):
        assert keyed_match._vote(pairs, 320, 1e-6, near=5) == _plain_vote(pairs, near=5)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    voices=st.integers(1, 10),
    chance=st.integers(1, 3_000),
    planted=st.integers(0, 30),
)
def test_histograms_sorted_from_the_last_order_equal_a_fresh_sort(
    seed: int, voices: int, chance: int, planted: int
) -> None:
    """Each tempo's histogram, sorted afresh or from the last tempo's order, has np.unique's
    keys and merged counts; its summary names each voice's most votes at its lowest bin, and
    its best bin pair's votes are those a mask over all the votes selects."""
    pairs = _votes(seed, voices, chance, planted)
    order = np.arange(len(pairs.voice))[::-1].copy()  # any permutation to begin with
    for tempo in TEMPOS:
        bins, keys, merged = _plain_histogram(pairs, tempo)
        for hist in (_histogram(pairs, tempo), _histogram(pairs, tempo, order)):
            assert np.array_equal(hist.keys, keys) and np.array_equal(hist.merged, merged)
            assert hist.voice.tolist() == sorted(set((keys >> 40).tolist()))
            for v, most, top in zip(hist.voice, hist.best, hist.top, strict=True):
                rows = np.flatnonzero((keys >> 40) == v)
                assert top == rows[np.argmax(merged[rows])] and most == merged[top]
                b = (keys[top] & ((1 << 40) - 1)) - (1 << 30)
                in_bin = np.flatnonzero((pairs.voice == v) & ((bins == b) | (bins == b + 1)))
                assert np.array_equal(hist.votes_of(int(top)), in_bin)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62), max_size=400))
def test_unique_equals_numpy_unique(values: list[int]) -> None:
    got = np.array(values, dtype=np.int64)
    assert np.array_equal(_unique(got), np.unique(got))
    distinct = np.unique(got)  # already sorted and distinct: given back as a copy
    assert np.array_equal(_unique(distinct), distinct) and _unique(distinct) is not distinct


def test_the_memory_index_numbers_the_voices_found_in_order() -> None:
    """The lookup's voice codes index only the voices it found, in registration order (as
    np.unique's inverse numbered them), and every posting of a looked-up key comes back."""
    rng = np.random.default_rng(4)
    index = keyed_match.MemoryIndex()
    for v in range(30):
        index.add(f"V{v}", rng.integers(0, 5_000, 400), rng.integers(0, 9_000, 400))
    wanted = rng.integers(0, 5_000, 300)
    got = index.lookup(wanted)
    rows = [(k, f"V{v}", t) for v in range(30) for k, t in zip(*index._parts[v][::2], strict=True)]
    expected = sorted((int(k), n, int(t)) for k, n, t in rows if np.isin(k, wanted))
    assert sorted(got) == expected
    names = sorted({n for _, n, _ in expected}, key=lambda n: int(n[1:]))
    assert got.names == names and got.voices.max() == len(names) - 1


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), keys=st.integers(1, 60), queries=st.integers(1, 200))
def test_pairs_are_every_distinct_vote_of_the_query_keys(
    seed: int, keys: int, queries: int
) -> None:
    """The query's keys (unsorted, repeated) against the postings: one vote per distinct
    (voice, query anchor, registered anchor) sharing a key, whatever order the keys come in."""
    rng = np.random.default_rng(seed)
    qk, qt = rng.integers(0, keys, queries), rng.integers(0, 300, queries)
    rows = [(int(k), f"V{rng.integers(0, 4)}", int(rng.integers(0, 900))) for k in range(keys)] * 2
    got = keyed_match._pairs(qk, qt, keyed_match.Postings.of_rows(rows))
    expected = {(v, int(t), r) for k, t in zip(qk, qt, strict=True) for h, v, r in rows if h == k}
    assert got is not None
    names = [got.names[v] for v in got.voice]
    found = set(zip(names, got.t_query.astype(int), got.t_reg.astype(int), strict=True))
    assert found == expected and len(got.voice) == len(expected)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 2**40)), max_size=300),
    st.integers(0, 40),
)
def test_latest_equals_maximum_at(rows: list[tuple[int, int]], spare: int) -> None:
    got = np.array(rows, dtype=np.int64).reshape(-1, 2)
    count = int(got[:, 0].max() + 1 if len(got) else 0) + spare
    expected = np.zeros(count, np.int64)
    np.maximum.at(expected, got[:, 0], got[:, 1])
    assert np.array_equal(keyed_match._latest(got[:, 0], got[:, 1], count), expected)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), voices=st.integers(1, 200), frames=st.integers(30, 8_000))
def test_the_rounded_least_chances_are_the_scalar_ones_within_a_thousandth_of_rounding(
    seed: int, voices: int, frames: int
) -> None:
    rng = np.random.default_rng(seed)
    pairs = _votes(seed, voices, 0, 0)
    pairs.extent[:] = rng.integers(0, 2_000_000, voices)
    pairs.pairs[:] = rng.integers(1, 200_000, voices)
    v = rng.integers(0, voices, 300)
    k = rng.integers(1, 3_000, 300)
    rounded = keyed_match._least_chances(pairs, v, k, frames)
    scalar = [keyed_match._least_chance(pairs, a, b, frames) for a, b in zip(v, k, strict=True)]
    assert np.allclose(rounded, scalar, rtol=0, atol=keyed_match.ROUNDING / 1000)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), voices=st.integers(1, 40), near_the_bar=st.booleans())
def test_the_bar_answers_every_count_as_the_scalar_chance(
    seed: int, voices: int, near_the_bar: bool
) -> None:
    """Across 13 draws of each voice's best count (as the tempos bring them), the bounds the
    bar keeps and the scalar fallback give the scalar chance's answer every time, also with the
    bar set exactly on one count's chance (its rounded chance then lies within ROUNDING)."""
    rng = np.random.default_rng(seed)
    pairs = _votes(seed, voices, 0, 0)
    pairs.pairs[:] = rng.integers(1, 3_000, voices)

    def scalar(v: int, k: int) -> float:
        return keyed_match._least_chance(pairs, v, k, 320)

    limit = scalar(0, 12) if near_the_bar else math.log(1e-6)
    bar = keyed_match._Bar.none(voices)
    for _ in TEMPOS:
        v = rng.permutation(voices)[: rng.integers(1, voices + 1)]
        k = rng.integers(MIN_VOTES, 40, len(v))
        got = bar.passing(pairs, v, k, 320, limit)
        assert got.tolist() == [scalar(a, b) < limit for a, b in zip(v, k, strict=True)]
