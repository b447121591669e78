"""Verification of the keyed matcher's near misses on the registered peaks (verify.py), on real
speech (tests/realspeech.py: a LibriVox reader, another speaker's card names), with speech-like
decoy voices in the index."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from shared.audio import engine, keyed, keyed_match, verify
from shared.audio.fingerprint import Peaks, peaks_of
from tests import realspeech
from tests.unit.audio.speechlike import speechlike

SR = 16000


def _noisy(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at an SNR over the louder half of 20 ms frames (the benchmark's)."""
    frames = x[: len(x) // 320 * 320].reshape(-1, 320)
    energy = np.sort((frames**2).mean(axis=1))
    power = float(energy[len(energy) // 2 :].mean())
    noise = rng.standard_normal(len(x)) * np.sqrt(power / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


@cache
def _registry() -> tuple[keyed_match.MemoryIndex, dict[str, verify.Constellation], np.ndarray]:
    """The reader's first three sentences as voice "A", four decoys; their constellations."""
    voice = realspeech.joined(realspeech.reader_sentences()[:3])
    index, stars = keyed_match.MemoryIndex(), {}
    for name, audio in [("A", voice), *[(f"S{i}", speechlike(30, seed=i)) for i in range(4)]]:
        found = peaks_of(audio, SR)
        index.add(name, *keyed.hashes_of(found))
        stars[name] = verify.constellation(found)
    return index, stars, voice


def _fetch_all(wanted: list[tuple[str, int, int]]) -> list[verify.Constellation | None]:
    stars = _registry()[1]
    return [verify.window(stars[v], a, b) if v in stars else None for v, a, b in wanted]


def test_the_bytes_give_back_the_constellation_and_any_stretch_in_one_range() -> None:
    rng = np.random.default_rng(1)
    frames = np.sort(rng.integers(0, 20_000, 9_000))
    c = verify.constellation(Peaks(frames, rng.uniform(150, 3800, 9_000)))
    data = verify.to_bytes(c)
    whole = verify.from_bytes(data)
    assert np.array_equal(whole.frames, c.frames) and np.array_equal(whole.pitch, c.pitch)
    start, stop = verify.byte_range(data[: verify.header_size(data)], 5_000, 9_000)
    part = verify.window(verify.records(data[start:stop]), 5_000, 9_000)
    expected = verify.window(c, 5_000, 9_000)
    assert np.array_equal(part.frames, expected.frames) and len(part) > 0
    assert stop - start < len(data) / 2  # a stretch, not the whole voice
    for bad in (b"", b"RIFF" + data[4:], data[:-3]):
        with pytest.raises(ValueError, match="constellation"):
            verify.from_bytes(bad)


def test_noisy_excerpts_the_keys_miss_are_found_on_the_peaks() -> None:
    index, _, voice = _registry()
    rng = np.random.default_rng(3)
    keyed_hits = traced_hits = 0
    for _ in range(12):
        start = int(rng.integers(0, len(voice) - 5 * SR))
        query = peaks_of(_noisy(voice[start : start + 5 * SR], -6, rng), SR)
        keys = keyed_match.match(query, index.lookup)
        traced = engine.trace(query, index.lookup, _fetch_all)
        assert [m.voice_id for m in traced] in ([], ["A"])
        assert traced[: len(keys)] == keys  # the keyed result first, unchanged
        keyed_hits += bool(keys)
        traced_hits += bool(traced)
        if traced and not keys:
            assert traced[0].found_by == "peaks" and traced[0].p_value < verify.FALSE_ALARM
            assert abs(traced[0].voice_start_s - start / SR - traced[0].query_start_s) < 0.2
    assert traced_hits > keyed_hits


def test_other_speech_never_verifies_at_any_alignment() -> None:
    """The reader's other sentences (same speaker, other words) and another speaker, clean and
    at 0 and 10 dB, verified against voice A at every offset in steps of 31 frames."""
    _, stars, _ = _registry()
    reader = realspeech.reader_sentences()
    rng = np.random.default_rng(5)
    lowest = 1.0
    for source in (realspeech.joined(reader[3:]), realspeech.joined(realspeech.card_names())):
        for start in range(0, len(source) - 5 * SR, 2 * SR):
            clip = source[start : start + 5 * SR]
            for snr in (None, 0.0, 10.0):
                query = peaks_of(clip if snr is None else _noisy(clip, snr, rng), SR)
                for offset in range(0, int(stars["A"].frames[-1]), 31):
                    v = verify.verify(
                        query, "A", stars["A"], 1.0, offset, bin_frames=6, candidates=1
                    )
                    assert v is not None
                    lowest = min(lowest, v.p_value)
    assert lowest > 100 * verify.FALSE_ALARM


def test_a_voice_without_constellation_is_left_to_the_keys() -> None:
    index, _, voice = _registry()
    query = peaks_of(_noisy(voice[: 5 * SR], -6, np.random.default_rng(3)), SR)
    nothing = engine.trace(query, index.lookup, lambda wanted: [None] * len(wanted))
    assert nothing == keyed_match.match(query, index.lookup)


def test_a_long_or_hostile_query_is_left_to_the_keys() -> None:
    """Verification is for clips: a query spanning over MAX_QUERY_FRAMES (a long upload, or a
    peak list with one peak at frame 2^32 − 1) reads no constellation and costs no grid."""
    index, _, voice = _registry()
    query = peaks_of(_noisy(voice[: 5 * SR], -6, np.random.default_rng(3)), SR)
    hostile = Peaks(np.append(query.frames, 2**32 - 1), np.append(query.hz, 1000.0))

    def fetch_nothing(wanted: list[tuple[str, int, int]]) -> list[verify.Constellation | None]:
        raise AssertionError(f"read {wanted}")

    near = [keyed_match.Candidate("A", 1.0, 0, 6, -3.0)]  # where the excerpt was taken
    assert verify.verify_near(query, near, _fetch_all)  # the clip itself verifies
    assert verify.verify_near(hostile, near, fetch_nothing) == []
    assert engine.trace(hostile, index.lookup, fetch_nothing) == keyed_match.match(
        hostile, index.lookup
    )


def test_moments_count_distinct_cells_of_matched_peaks() -> None:
    rng = np.random.default_rng(8)
    hits = rng.random((40, 300)) < 0.1
    frames = np.sort(rng.integers(0, 5_000, 300)).astype(np.float64)
    dense = [len(np.unique(frames[row] // verify.CELL)) for row in hits]
    assert verify._moments(hits, frames).tolist() == dense
    assert verify._moments(np.zeros((3, 300), bool), frames).tolist() == [0, 0, 0]
    shuffled = rng.permutation(300)  # peaks in any order, several a frame
    dense = [len(np.unique(frames[shuffled][row] // verify.CELL)) for row in hits]
    assert verify._moments(hits, frames[shuffled]).tolist() == dense


def _stars(rng: np.random.Generator, peaks: int) -> verify.Constellation:
    frames = np.sort(rng.integers(0, 4_000, peaks)).astype(np.uint32)
    return verify.Constellation(frames, rng.integers(0, 256, peaks).astype(np.uint8))


def test_the_grid_marks_every_cell_within_the_tolerances_of_a_peak() -> None:
    """The one-scatter grid equals one assignment per (frame step, pitch step), as first
    written, circular rows included."""
    rng = np.random.default_rng(5)
    stars = _stars(rng, 900)
    for first, last in ((0, 4_000), (1_000, 2_500), (3_990, 4_200)):
        grid = verify._Grid.of(stars, first, last)
        cells = np.zeros_like(grid.cells)
        part = verify.window(stars, first, last)
        rows, cols = part.frames.astype(np.int64) - first, part.pitch.astype(np.int64) + 8
        reach = round(verify.SEMITONE_TOL * verify.QUARTERS)
        for df in range(-verify.FRAME_TOL, verify.FRAME_TOL + 1):
            for dq in range(-reach, reach + 1):
                cells[(rows + df) % len(cells), cols + dq] = True
        assert np.array_equal(grid.cells, cells)
        frames, pitch = rng.uniform(-50, 4_500, (7, 200)), rng.uniform(-20, 280, (7, 200))
        rows = (np.round(frames).astype(np.int64) - first) % len(cells)
        cols = np.clip(np.round(pitch).astype(np.int64) + 8, 0, cells.shape[1] - 1)
        assert np.array_equal(grid.hits(frames, pitch), cells[rows, cols])


def test_alignments_sharing_a_tempo_and_shift_hit_as_listed_one_by_one() -> None:
    """The nulls' hits (one tempo and pitch shift, many offsets, computed once per peak and
    broadcast) equal the hits of the same alignments listed as (tempo, offset, shift)."""
    rng = np.random.default_rng(6)
    grid = verify._Grid.of(_stars(rng, 900), 0, 4_000)
    frames = rng.integers(0, 320, 150).astype(np.float64)
    pitch = rng.uniform(0, 224, 150)
    for tempo, shift in ((1.0, 0.0), (0.97, -2.109), (1.05, 3.381)):
        offsets = 17.0 + rng.integers(62, 3_000, 96)
        listed = [(tempo, float(o), shift) for o in offsets]
        shared = verify._hits(grid, frames, pitch, tempo, offsets, shift)
        assert np.array_equal(shared, verify._counts(grid, frames, pitch, listed))


def test_the_chance_rate_is_the_nulls_mean_raised_by_their_spread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rate is the shifted alignments' mean + NULL_SPREAD standard deviations (the
    benchmark's --null-spread); a smaller spread can only lower the p-value."""
    _, stars, voice = _registry()
    query = peaks_of(_noisy(voice[: 5 * SR], 0, np.random.default_rng(2)), SR)
    spread = verify.verify(query, "A", stars["A"], 1.0, 0, bin_frames=6, candidates=1)
    deployed = verify.NULL_SPREAD
    monkeypatch.setattr(verify, "NULL_SPREAD", 0.0)
    mean = verify.verify(query, "A", stars["A"], 1.0, 0, bin_frames=6, candidates=1)
    assert spread is not None and mean is not None and spread.null_std > 0
    assert deployed > 0
    assert spread.rate == pytest.approx(max(spread.null_mean + deployed * spread.null_std, 0.5))
    assert mean.rate == pytest.approx(max(mean.null_mean, 0.5)) and mean.rate < spread.rate
    assert mean.count == spread.count and mean.p_value <= spread.p_value
