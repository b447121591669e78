"""The deployed fingerprint (``fingerprint.ALGORITHM_VERSION`` names it), whose keys are read by
key (the keyed index layout of shared/fingerprint_index.py): groups of spectral peaks hashed on
numbers that a change of level, speed (±3 %) or tempo (±5 %) leaves alone.

The peaks are lm-speech-1's (fingerprint.py), so a client's peaks serve both. Each peak (the
anchor) is joined with ``GROUP - 1`` of its ``NEAR`` partners: the peaks of its target zone
(MIN_DT … MAX_DT frames later) nearest to it in frequency, which a time stretch that moves
peaks by a frame does not change. A group's key quantises:

- F: the anchor's log frequency (a speed change moves it by ≤ 0.5 semitone: probed);
- d: each partner's log-frequency step from the anchor (a speed change moves every frequency by
  the same factor, so the steps stay);
- r: each middle partner's time as a fraction of the group's span (speed and tempo leave it);
- T: the span on a coarse log scale (±5 % tempo moves it by under half a bin).

The registry stores one key per group. The query makes more groups (QUERY_NEAR partners per
anchor, a superset of the registry's) and probes the neighbouring bin of any number lying near a
bin edge (multi-probe): both only cost lookups, so they change no index key and need no new
version.
"""

from __future__ import annotations

import itertools

import numpy as np

from .fingerprint import MIN_HZ, Peaks

ALGORITHM_VERSION = "tri-speech-3"  # in every index key: a new version builds beside
GROUP = 3  # peaks per key: the anchor and two partners
NEAR = 4  # partners an anchor chooses from (the registry)
# The query's anchors choose from more: a peak that noise, reverberation or a time stretch adds
# (or moves) in front of a registered partner would otherwise push it out of the NEAR nearest, and
# every group holding it would be lost. The registry's groups stay a subset of the query's.
QUERY_NEAR = 5
MIN_DT, MAX_DT = 2, 25  # frames: partners lie 32 … 400 ms after the anchor
ZONE_PEAKS = 24  # candidates looked at per anchor
F_STEP = 1.0  # semitones
D_STEP = 0.5  # semitones
D_MAX = 31.5  # |d| beyond this is clipped (the band spans 56 semitones)
R_BINS = 4
T_RATIO = 1.3
KINDS = ("F", *("d",) * (GROUP - 1), *("r",) * (GROUP - 2), "T")
BITS = {"F": 6, "d": 7, "r": 2, "T": 4}
# A number within this fraction of a bin of its edge is probed on both sides (the query only).
# The partners' steps (d, half-semitones) move the most: a peak's sub-bin frequency is an
# interpolation that noise and a time stretch disturb (0.15 → 0.25 measured +2-5 points at
# tempo +5 % and reverberation, for ≈ 30 % more probes).
PROBE_MARGIN = {"F": 0.25, "d": 0.25, "r": 0.2, "T": 0.25}
LIMITS = np.array([R_BINS - 1 if k == "r" else (1 << BITS[k]) - 1 for k in KINDS], dtype=np.int64)
CHUNK_PEAKS = 20_000  # anchors hashed at a time: memory stays flat for hours of audio


def _semitones(hz: np.ndarray) -> np.ndarray:
    return 12 * np.log2(np.maximum(hz, 1.0) / MIN_HZ)


def _partners(found: Peaks, near: int) -> tuple[np.ndarray, np.ndarray]:
    """Per anchor, the ``near`` zone peaks nearest in frequency, and which of them exist."""
    frames, n = found.frames, len(found)
    lf = _semitones(found.hz)
    first = np.searchsorted(frames, frames + MIN_DT, side="left")
    last = np.searchsorted(frames, frames + MAX_DT, side="right")
    width = int(min(ZONE_PEAKS, max(1, (last - first).max(initial=1))))
    candidate = first[:, None] + np.arange(width)[None, :]
    inside = candidate < last[:, None]
    candidate = np.minimum(candidate, n - 1)
    distance = np.where(inside, np.abs(lf[candidate] - lf[:, None]), np.inf)
    order = np.argsort(distance, axis=1, kind="stable")[:, :near]
    return np.take_along_axis(candidate, order, axis=1), np.take_along_axis(inside, order, axis=1)


def groups(found: Peaks, near: int = NEAR) -> np.ndarray:
    """(n_groups, GROUP) peak indices: the anchor, then its partners in time order."""
    if len(found) < GROUP:
        return np.zeros((0, GROUP), np.int64)
    chosen, valid = _partners(found, near)
    parts = [np.zeros((0, GROUP), np.int64)]
    for combo in itertools.combinations(range(chosen.shape[1]), GROUP - 1):
        ok = np.all(valid[:, list(combo)], axis=1)
        members = np.sort(chosen[ok][:, list(combo)], axis=1)
        parts.append(np.concatenate([np.nonzero(ok)[0][:, None], members], axis=1))
    return np.concatenate(parts)


def coordinates(found: Peaks, rows: np.ndarray) -> np.ndarray:
    """The numbers of every group (``KINDS``), in bin units, continuous."""
    anchor, last = rows[:, 0], rows[:, -1]
    lf = _semitones(found.hz)
    t = found.frames.astype(np.float64)
    span = np.maximum(t[last] - t[anchor], 1)
    columns = [lf[anchor] / F_STEP]
    for k in range(1, GROUP):
        columns.append((np.clip(lf[rows[:, k]] - lf[anchor], -D_MAX, D_MAX) + D_MAX) / D_STEP)
    for k in range(1, GROUP - 1):
        columns.append((t[rows[:, k]] - t[anchor]) / span * R_BINS)
    columns.append(np.log(span) / np.log(T_RATIO))
    return np.stack(columns, axis=1) if len(rows) else np.zeros((0, len(KINDS)))


def pack(bins: np.ndarray) -> np.ndarray:
    """Quantised numbers → one integer key (int64)."""
    bins = np.clip(bins, 0, LIMITS)
    key = np.zeros(len(bins), dtype=np.int64)
    for k, kind in enumerate(KINDS):
        key = (key << BITS[kind]) | bins[:, k]
    return key


def _registry_keys(found: Peaks, anchors: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rows = groups(found)
    if anchors is not None:
        rows = rows[rows[:, 0] < anchors]  # anchors past the chunk belong to the next one
    keys = pack(np.floor(coordinates(found, rows)).astype(np.int64))
    times = found.frames[rows[:, 0]]
    order = np.lexsort((keys, times))
    return keys[order], times[order].astype(np.uint32)


def hashes_of(found: Peaks) -> tuple[np.ndarray, np.ndarray]:
    """The registry's keys (one per group) and anchor frames, a chunk of peaks at a time."""
    if len(found) <= CHUNK_PEAKS:
        return _registry_keys(found)
    parts = []
    for start in range(0, len(found), CHUNK_PEAKS):
        stop_frame = found.frames[min(len(found), start + CHUNK_PEAKS) - 1] + 4 * MAX_DT
        stop = int(np.searchsorted(found.frames, stop_frame, side="right"))
        parts.append(
            _registry_keys(Peaks(found.frames[start:stop], found.hz[start:stop]), CHUNK_PEAKS)
        )
    return np.concatenate([k for k, _ in parts]), np.concatenate([t for _, t in parts])


def query_keys(found: Peaks) -> tuple[np.ndarray, np.ndarray]:
    """The query's keys with multi-probe near bin edges: (keys, anchor frames), one row per
    probe (a group yields one probe, or two per number that lies near an edge); the groups are
    those of QUERY_NEAR partners per anchor."""
    rows = groups(found, QUERY_NEAR)
    values = coordinates(found, rows)
    base = np.floor(values).astype(np.int64)
    frac = values - base
    margins = np.array([PROBE_MARGIN[k] for k in KINDS])
    direction = np.where(frac < 0.5, -1, 1)  # towards the nearer edge
    near_edge = np.minimum(frac, 1 - frac) < margins
    bins, group = base, np.arange(len(base))
    for k in range(values.shape[1]):
        probe = near_edge[group, k]
        shifted = bins[probe].copy()
        shifted[:, k] += direction[group[probe], k]
        bins = np.concatenate([bins, shifted])
        group = np.concatenate([group, group[probe]])
    return pack(bins), found.frames[rows[group, 0]] if len(rows) else np.zeros(0, np.int64)
