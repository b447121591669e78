"""The keyed matcher's decision (keyed_match.judge): besides the best bin's votes, it tests the
bin's moments (votes counted once per CELL of query time), so one chance likeness voting
through several neighbouring anchors is not a match while the same number of votes spread along
the query is; the voice's strongest other bins still guard a voice whose chance is dense."""

from __future__ import annotations

from functools import partial

import numpy as np

from shared.audio.fingerprint import HOP_S
from shared.audio.keyed_match import CELL, MIN_SPAN_S, Evidence, judge

SPREAD_FRAMES = int(4.0 / HOP_S)  # the votes lie along 4 s of the query


def _evidence(votes: int, others: list[int]) -> Evidence:
    """A voice of 90 s with a few hundred votes in all, as real 5 s queries give."""
    return Evidence(
        votes=votes,
        others=np.array(others, np.int64),
        pairs=150,
        extent=int(90 / HOP_S),
        query_frames=int(5 / HOP_S),
        voices=200,
        tempo=1.0,
    )


def _pairs(moments: int, votes: int) -> tuple[np.ndarray, np.ndarray]:
    """``votes`` best-bin votes at ``moments`` distinct query cells spread over 4 s."""
    cells = np.linspace(0, SPREAD_FRAMES, moments).round() // CELL * CELL
    t_query = np.resize(cells, votes).astype(np.float64)
    return t_query, 1_000 + t_query


def test_votes_along_the_query_match_and_the_same_votes_in_few_moments_do_not() -> None:
    evidence = _evidence(votes=14, others=[1, 1, 2, 2, 2])
    spread = judge("V1", evidence, lambda: _pairs(moments=14, votes=14))
    clumped = judge("V1", evidence, lambda: _pairs(moments=4, votes=14))
    assert spread is not None and spread.voice_id == "V1" and spread.votes == 14
    assert spread.duration_s >= MIN_SPAN_S
    assert clumped is None


def test_a_voice_whose_other_bins_are_as_strong_is_not_a_match() -> None:
    pairs = _pairs(moments=14, votes=14)
    assert judge("V1", _evidence(14, [1, 2, 2, 2, 2, 3, 3, 3]), lambda: pairs) is not None
    assert judge("V1", _evidence(14, [9, 10, 11, 12, 12, 13, 14, 14]), lambda: pairs) is None


def test_more_moments_give_a_smaller_p_value() -> None:
    evidence = _evidence(votes=20, others=[1, 2, 2])
    p_values = [judge("V1", evidence, partial(_pairs, m, 20)) for m in (14, 17, 20)]
    assert all(p is not None for p in p_values)
    found = [p.p_value for p in p_values if p is not None]
    assert found == sorted(found, reverse=True) and found[0] > found[-1]
