"""The deployed algorithm in one place: which keys a voice puts in the index and which matcher
reads them. ``fingerprint.ALGORITHM_VERSION`` names it (the keyed triplets, tri-speech-3, since
this round; lm-speech-1's pair hashes stay importable for benchmarks, and its index stays beside
the new one until ``rebuild-index`` has moved every retained voice)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from . import fingerprint, keyed, keyed_match, verify
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


# The bulk audit's fingerprint is the deployed one (KEYED): the registry exports the keys the
# index holds, the dataset sends the probes a trace would look up, and the audit's SQL votes as
# keyed_match does (shared/audits/sql.py, deciding with keyed_match.judge). A new version is a
# new partition of the export, filled by rebuild-index.
AUDIT_ALGORITHM = ALGORITHM_VERSION


def audit_postings(hashes: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bulk audit's export rows from the (key, anchor frame) arrays the index is written with
    (``index_hashes``, decode's ``hashes``/``times``): the distinct pairs, as a string set in
    DynamoDB holds each posting once. The audit's algorithm is the index's, so ingest stages
    what it has already hashed."""
    return _distinct(hashes, frames)


def audit_hashes(found: Peaks) -> tuple[np.ndarray, np.ndarray]:
    """A registered voice's distinct (key, anchor frame) pairs for the bulk audit's export."""
    return audit_postings(*index_hashes(found))


def audit_probes(found: Peaks) -> tuple[np.ndarray, np.ndarray]:
    """A dataset file's distinct (probe key, anchor frame) pairs: every key a trace of the file
    would look up (keyed_match.query_hashes without its MAX_LOOKUPS cap). Repeats are dropped:
    the matcher votes once per (voice, query anchor, registered anchor)."""
    return _distinct(*keyed.query_keys(found))


def _distinct(keys: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys, frames = keys.astype(np.int64), frames.astype(np.int64)
    order = np.lexsort((frames, keys))  # by key, then frame
    keys, frames = keys[order], frames[order]
    new = np.ones(len(keys), bool)
    new[1:] = (np.diff(keys) != 0) | (np.diff(frames) != 0)
    return keys[new], frames[new]


def match(
    found: Peaks, lookup: Lookup, *, false_alarm: float = lm_match.FALSE_ALARM
) -> list[Match]:
    """The registered voices a query's peaks match, with the deployed algorithm's matcher."""
    matcher = keyed_match.match if KEYED else lm_match.match
    return matcher(found, lookup, false_alarm=false_alarm)


NEAR = 5  # near misses of the keyed decision verified on their voice's peaks (verify.py)


def trace(
    found: Peaks,
    lookup: Lookup,
    fetch_all: verify.FetchAll | None = None,
    *,
    false_alarm: float = lm_match.FALSE_ALARM,
) -> list[Match]:
    """``match``, then (with the keyed algorithm and a store of constellations) the NEAR
    likeliest voices it did not accept verified on their registered peaks: those found so are
    added after the keyed matches, ``found_by="peaks"``. The bulk audit applies ``match``'s
    rule alone."""
    if not KEYED or fetch_all is None:
        return match(found, lookup, false_alarm=false_alarm)
    matched, near = keyed_match.match_and_near(found, lookup, false_alarm=false_alarm, near=NEAR)
    return matched + verify.verify_near(found, near, fetch_all, false_alarm)
