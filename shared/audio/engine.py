"""The deployed algorithm in one place: which keys a voice puts in the index and which matcher
reads them. ``fingerprint.ALGORITHM_VERSION`` names it (the keyed triplets, tri-speech-3, since
this round; lm-speech-1's pair hashes stay importable for benchmarks, and its index stays beside
the new one until ``rebuild-index`` has moved every retained voice)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from . import fingerprint, keyed, keyed_match
from . import match as lm_match
from .fingerprint import Peaks
from .match import Match

ALGORITHM_VERSION = fingerprint.ALGORITHM_VERSION
KEYED = ALGORITHM_VERSION == keyed.ALGORITHM_VERSION  # read by key (BatchGetItem), not by Query

Lookup = Callable[[np.ndarray], Iterable[tuple[int, str, int]]]


def index_hashes(found: Peaks) -> tuple[np.ndarray, np.ndarray]:
    """The registry's (hash, anchor frame) arrays of a voice's peaks."""
    return keyed.hashes_of(found) if KEYED else fingerprint.hashes_of(found)


def voice_hashes(found: Peaks) -> tuple[np.ndarray, np.ndarray, str]:
    """A voice's index entries as the engine writes them: (hashes, anchor frames) and the
    ALGORITHM_VERSION that made them (the bulk audit exports these pairs per voice)."""
    hashes, frames = index_hashes(found)
    return hashes, frames, ALGORITHM_VERSION


# The bulk audit's fingerprint: lm-speech-1's pair hashes, whose time-coherence rule is one SQL
# GROUP BY over (voice, offset bin) (shared/audits/sql.py, the same judge() as match.match). The
# keyed triplets' tempo-grid vote is not written in SQL yet, so audits keep their own partition.
AUDIT_ALGORITHM = fingerprint.LM_VERSION


def audit_hashes(found: Peaks) -> tuple[np.ndarray, np.ndarray]:
    """A registered voice's (hash, frame) pairs for the bulk audit's export."""
    return fingerprint.hashes_of(found)


def match(
    found: Peaks, lookup: Lookup, *, false_alarm: float = lm_match.FALSE_ALARM
) -> list[Match]:
    """The registered voices a query's peaks match, with the deployed algorithm's matcher."""
    matcher = keyed_match.match if KEYED else lm_match.match
    return matcher(found, lookup, false_alarm=false_alarm)
