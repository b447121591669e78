"""A second look at the keyed matcher's near misses: the query's spectral peaks laid over the
registered voice's own peaks (its *constellation*) at the candidate's alignment.

A 0 dB query loses most of its triplet keys (all three peaks must survive the noise, 17 % do),
but about half of the registered peaks themselves are still found. So for a candidate (voice,
tempo, offset) that ``keyed_match`` ranked likeliest without accepting it, the query peaks that
land within ±FRAME_TOL frames and ±SEMITONE_TOL semitones of a registered peak are counted at the
alignment t_reg = offset + tempo · t_query (refined over the offsets of the candidate's bin pair,
the neighbouring tempo factors and, for a speed change, the shifted pitch). Chance is measured,
not modelled: the same count at NULLS alignments of the same stretch of the same voice shifted by
at least NULL_SHIFT frames gives the rate of chance landings for that voice's peak density, and
the best count is scored with a Poisson tail at that rate (raised by the nulls' own spread),
corrected (Bonferroni) for every alignment and candidate tried. A verified candidate is a Match
like the keyed one (``found_by`` says how). Pure numpy, relative imports only (ships in the
client too).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .fingerprint import HOP_S, MIN_HZ, Peaks
from .keyed_match import OFFSET_BIN, Candidate, _run_starts
from .match import Match, _log_poisson_tail

FORMAT = b"AILC"  # constellation bytes: see to_bytes
FORMAT_VERSION = 1
CHUNK_FRAMES = 3750  # 60 s: the header's table gives each minute's first peak (byte ranges)
_HEAD = struct.Struct("<4sIIII")  # magic, version, peaks, CHUNK_FRAMES, chunks
_RECORD = np.dtype([("frame", "<u4"), ("pitch", "u1")])  # 5 bytes a peak
QUARTERS = 4  # pitch stored in quarter semitones above MIN_HZ (0 … 224 for the band)
FRAME_TOL = 1
SEMITONE_TOL = 0.5
TEMPO_STEPS = (-0.01, 0.0, 0.01)
NULL_SHIFT = 62  # frames (≈ 1 s): a null alignment lies this far at least from the candidate
NULLS = 96
MIN_NULLS = 24
# The chance rate is the nulls' mean plus this many standard deviations (they vary more than a
# Poisson count: speech and pauses). The mean alone was measured and not taken: on 543 other
# speakers' near misses its lowest corrected p was 4.7·10⁻⁶, too near the bar (README, "What
# still misses"); bench/trace_accuracy.py --null-spread measures another value
NULL_SPREAD = 1.0
WINDOW = 1875  # frames (30 s) of the voice either side of the candidate are read
# Verification is for clips: a longer query (an uploaded file of up to hours, or a hostile peak
# list spanning 2^32 frames) would make its grids and alignments grow with its span, and its
# many keys give the keyed test evidence enough
MAX_QUERY_FRAMES = 7500  # 120 s
FALSE_ALARM = 1e-6
MIN_SPAN_S = 1.2
# Matched peaks are counted once per CELL frames of query time: a voiced frame is a stack of
# harmonics, and one chance likeness of pitch puts several of them on registered peaks at once
CELL = 1


@dataclass(frozen=True)
class Constellation:
    """A voice's peaks: frames (uint32, from the recording's start) and pitch (uint8, quarter
    semitones above MIN_HZ), sorted by frame."""

    frames: np.ndarray
    pitch: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)


def _semitones(hz: np.ndarray) -> np.ndarray:
    return 12 * np.log2(np.maximum(hz, 1.0) / MIN_HZ)


def constellation(found: Peaks) -> Constellation:
    """The constellation of a voice's peaks (fingerprint.peaks_of)."""
    pitch = np.clip(np.round(_semitones(found.hz) * QUARTERS), 0, 255).astype(np.uint8)
    order = np.argsort(found.frames, kind="stable")
    return Constellation(found.frames[order].astype(np.uint32), pitch[order])


def to_bytes(c: Constellation) -> bytes:
    """A header (magic, version, peaks, CHUNK_FRAMES, chunks), then per chunk of CHUNK_FRAMES
    frames the index of its first peak (uint32), then 5 bytes a peak (frame uint32, pitch uint8;
    ≈ 150 B a second of speech): a window of time is one byte range (``byte_range``)."""
    chunks = int(c.frames[-1]) // CHUNK_FRAMES + 1 if len(c) else 0
    starts = np.searchsorted(c.frames, np.arange(chunks) * CHUNK_FRAMES).astype("<u4")
    peaks = np.empty(len(c), _RECORD)
    peaks["frame"], peaks["pitch"] = c.frames, c.pitch
    head = _HEAD.pack(FORMAT, FORMAT_VERSION, len(c), CHUNK_FRAMES, chunks)
    return head + starts.tobytes() + peaks.tobytes()


def header_size(prefix: bytes) -> int:
    """The size of the header of which ``prefix`` holds at least the first 20 bytes."""
    return _HEAD.size + 4 * int(_HEAD.unpack_from(_checked(prefix))[4])


def _checked(prefix: bytes) -> bytes:
    if len(prefix) < _HEAD.size or prefix[:4] != FORMAT:
        raise ValueError("not a constellation")
    _, version, _, chunk_frames, _ = _HEAD.unpack_from(prefix)
    if version != FORMAT_VERSION or chunk_frames != CHUNK_FRAMES:
        raise ValueError(f"unsupported constellation version {version}")
    return prefix


def byte_range(header: bytes, first: int, last: int) -> tuple[int, int]:
    """The bytes [start, stop) holding every peak of frames first … last − 1 (and a few more)."""
    _, _, count, _, chunks = _HEAD.unpack_from(_checked(header))
    table = np.frombuffer(header, "<u4", chunks, _HEAD.size).astype(np.int64)
    table = np.append(table, count)
    lo = int(table[min(max(first, 0) // CHUNK_FRAMES, chunks)])
    hi = int(table[min(max(last, 0) // CHUNK_FRAMES + 1, chunks)])
    base = _HEAD.size + 4 * chunks
    return base + lo * _RECORD.itemsize, base + hi * _RECORD.itemsize


def records(data: bytes) -> Constellation:
    """The peaks of a byte range ``byte_range`` gave."""
    peaks = np.frombuffer(data, _RECORD, len(data) // _RECORD.itemsize)
    return Constellation(peaks["frame"].astype(np.uint32), peaks["pitch"].astype(np.uint8))


def from_bytes(data: bytes) -> Constellation:
    """The whole constellation ``to_bytes`` wrote; ValueError for anything else."""
    size = header_size(data)
    count = _HEAD.unpack_from(data)[2]
    if len(data) != size + count * _RECORD.itemsize:
        raise ValueError("truncated constellation")
    return records(data[size:])


def window(c: Constellation, first: int, last: int) -> Constellation:
    """The peaks of frames first … last − 1."""
    lo, hi = np.searchsorted(c.frames, [max(0, first), max(0, last)])
    return Constellation(c.frames[lo:hi], c.pitch[lo:hi])


@dataclass(frozen=True)
class _Grid:
    """A stretch of a voice's constellation as a dilated occupancy grid (frame × quarter
    semitone), read circularly so that every null alignment stays inside it."""

    first: int
    cells: np.ndarray

    @classmethod
    def of(cls, c: Constellation, first: int, last: int) -> _Grid:
        cells = np.zeros((last - first, 256 + 2 * QUARTERS * 2), bool)
        part = window(c, first, last)
        rows = part.frames.astype(np.int64) - first
        cols = part.pitch.astype(np.int64) + 2 * QUARTERS
        reach = round(SEMITONE_TOL * QUARTERS)
        # every (frame, pitch) within the tolerances of a peak, as flat indices set at once
        # (one scatter, not one per pair of steps)
        near_rows = (rows[None, :] + np.arange(-FRAME_TOL, FRAME_TOL + 1)[:, None]) % len(cells)
        near_cols = cols[None, :] + np.arange(-reach, reach + 1)[:, None]
        flat = near_rows[:, None, :] * cells.shape[1] + near_cols[None, :, :]
        cells.reshape(-1)[flat.reshape(-1)] = True
        return cls(first, cells)

    def hits(self, frames: np.ndarray, pitch: np.ndarray) -> np.ndarray:
        rows = (np.round(frames).astype(np.int64) - self.first) % len(self.cells)
        cols = np.clip(np.round(pitch).astype(np.int64) + 2 * QUARTERS, 0, self.cells.shape[1] - 1)
        # the same cells by flat index: ~1.7x faster than numpy's 2-D fancy indexing here
        return self.cells.reshape(-1)[rows * self.cells.shape[1] + cols]


@dataclass(frozen=True)
class Verdict:
    """One candidate's test: the best alignment's count and its chance."""

    voice_id: str
    count: int
    rate: float
    p_value: float  # corrected for the alignments and candidates tried
    tempo: float
    offset: float
    matched: np.ndarray  # the query frames of the matched peaks
    null_mean: float = 0.0  # the shifted alignments' counts (the rate is mean + std)
    null_std: float = 0.0
    trials: int = 1


def alignments(tempo: float, offset: int, bin_frames: int) -> list[tuple[float, float, float]]:
    """(tempo, offset, pitch shift in quarter semitones) tried for a candidate: the offsets of
    its bin pair ±1 frame, the neighbouring tempo factors, no pitch shift or a speed change's."""
    out: list[tuple[float, float, float]] = []
    for step in TEMPO_STEPS:
        s = round(tempo + step, 3)
        shifts = {0.0, round(12 * math.log2(s) * QUARTERS, 3)}
        for o in range(offset - 1, offset + bin_frames + 1):
            out.extend((s, float(o), q) for q in sorted(shifts))
    return out


def _counts(
    grid: _Grid, q_frames: np.ndarray, q_pitch: np.ndarray, tries: list[tuple[float, float, float]]
) -> np.ndarray:
    """The hits of every query peak under every alignment: (alignments, peaks) booleans."""
    s, o, q = np.array(tries, np.float64).reshape(-1, 3).T
    return _hits(grid, q_frames, q_pitch, s, o, q)


def _hits(
    grid: _Grid,
    q_frames: np.ndarray,
    q_pitch: np.ndarray,
    s: np.ndarray | float,
    o: np.ndarray,
    q: np.ndarray | float,
) -> np.ndarray:
    """``_counts`` for alignments given as columns; a tempo ``s`` or pitch shift ``q`` the
    same for all (the nulls') may be a scalar: each peak's stretched time or shifted pitch is
    then computed once (the same values) and broadcast over the alignments."""
    tempo, shift = np.asarray(s, np.float64), np.asarray(q, np.float64)
    stretched = tempo[..., None] * q_frames  # (1 or alignments, peaks)
    return grid.hits(o[:, None] + stretched, q_pitch - shift[..., None])


def _moments(hits: np.ndarray, q_frames: np.ndarray) -> np.ndarray:
    """Per alignment, the distinct CELLs of query time holding a matched peak: the peaks
    grouped by cell once, then per alignment whether any peak of a group hit (dense over
    (alignments, peaks), which a clip's ≤ MAX_QUERY_FRAMES keep small: no sort of the hits)."""
    if hits.shape[1] == 0:
        return np.zeros(hits.shape[0], np.int64)
    cell = (q_frames // CELL).astype(np.int64)
    by_cell = np.argsort(cell, kind="stable")
    groups = _run_starts(cell[by_cell])
    return np.logical_or.reduceat(hits[:, by_cell], groups, axis=1).sum(1)


def reach(found: Peaks, offset: int, bin_frames: int) -> tuple[int, int]:
    """The registered frames a candidate's test reads: its alignment's, WINDOW either side."""
    span = math.ceil(np.ptp(found.frames) * 1.07) + bin_frames + 4 if len(found) else 0
    return max(0, offset - WINDOW), offset + span + WINDOW


def verify(
    found: Peaks,
    voice_id: str,
    c: Constellation,
    tempo: float,
    offset: int,
    *,
    bin_frames: int,
    candidates: int,
) -> Verdict | None:
    """The test of one candidate against its voice's constellation (all of it, or the frames
    ``reach`` names); None when that stretch is too short for a null."""
    q_frames = found.frames.astype(np.float64)
    q_pitch = _semitones(found.hz) * QUARTERS
    first, last = reach(found, offset, bin_frames)
    if len(c):
        last = min(last, int(c.frames[-1]) + 2)
    room = (last - first) - 2 * NULL_SHIFT
    if len(found) == 0 or room < MIN_NULLS:
        return None
    grid = _Grid.of(c, first, last)
    tries = alignments(tempo, offset, bin_frames)
    hits = _counts(grid, q_frames, q_pitch, tries)
    counts = _moments(hits, q_frames)
    best = int(np.argmax(counts))
    s, o, shift = tries[best]
    shifts = NULL_SHIFT + np.linspace(0, room, min(NULLS, room), endpoint=False).astype(np.int64)
    nulls = _moments(_hits(grid, q_frames, q_pitch, s, o + shifts, shift), q_frames)
    rate = max(float(nulls.mean() + NULL_SPREAD * nulls.std()), 0.5)
    log_p = _log_poisson_tail(rate, int(counts[best])) + math.log(len(tries) * max(1, candidates))
    p_value = math.exp(min(0.0, log_p))
    return Verdict(
        voice_id,
        int(counts[best]),
        rate,
        p_value,
        s,
        o,
        q_frames[hits[best]],
        float(nulls.mean()),
        float(nulls.std()),
        len(tries) * max(1, candidates),
    )


def accept(v: Verdict, false_alarm: float = FALSE_ALARM) -> Match | None:
    """The Match of a verdict below ``false_alarm`` whose matched peaks spread over MIN_SPAN_S."""
    if v.p_value >= false_alarm or len(v.matched) == 0:
        return None
    start, end = float(v.matched.min()), float(v.matched.max())
    if (end - start) * HOP_S < MIN_SPAN_S:
        return None
    return Match(
        voice_id=v.voice_id,
        score=1.0 - v.p_value,
        p_value=v.p_value,
        votes=v.count,
        query_start_s=start * HOP_S,
        voice_start_s=max(0.0, v.offset + v.tempo * start) * HOP_S,
        duration_s=(end - start) * HOP_S,
        speed=1.0,
        tempo=v.tempo,
        found_by="peaks",
    )


# (voice, first frame, last frame) → that stretch of the voice's constellation, or None when the
# voice has none; called once with every candidate's request, so a store can read them at once
FetchAll = Callable[[list[tuple[str, int, int]]], list[Constellation | None]]


def verify_near(
    found: Peaks, near: list[Candidate], fetch_all: FetchAll, false_alarm: float = FALSE_ALARM
) -> list[Match]:
    """The near misses (keyed_match.match_and_near) whose peaks verify, lowest p first."""
    return accepted(verdicts(found, near, fetch_all), false_alarm)


def verdicts(found: Peaks, near: list[Candidate], fetch_all: FetchAll) -> list[Verdict]:
    """The test of each near miss whose voice has a constellation, each corrected for all the
    candidates; none for a query spanning over MAX_QUERY_FRAMES."""
    if len(found) == 0 or int(np.ptp(found.frames)) > MAX_QUERY_FRAMES:
        return []
    bins = 2 * OFFSET_BIN
    wanted = [(c.voice_id, *reach(found, c.offset, bins)) for c in near]
    out = []
    for cand, stretch in zip(near, fetch_all(wanted) if wanted else [], strict=True):
        if stretch is None:
            continue
        verdict = verify(
            found,
            cand.voice_id,
            stretch,
            cand.tempo,
            cand.offset,
            bin_frames=bins,
            candidates=len(near),
        )
        if verdict is not None:
            out.append(verdict)
    return out


def accepted(tests: list[Verdict], false_alarm: float = FALSE_ALARM) -> list[Match]:
    """The Matches of the verdicts ``accept`` takes, lowest p first."""
    found = [m for m in (accept(v, false_alarm) for v in tests) if m is not None]
    return sorted(found, key=lambda m: (m.p_value, m.voice_id))
