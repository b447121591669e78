"""The keyed fingerprint (shared/audio/keyed.py): keys survive level, speed (±3 %) and tempo
(±5 %) changes and peaks a distortion adds, a chunked fingerprint equals the one-shot one, and
the matcher finds the right voice and no other."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from shared.audio import keyed, keyed_match
from shared.audio.fingerprint import Peaks, peaks_of
from tests.unit.audio.speechlike import speechlike

SR = 16000


@pytest.fixture(scope="module")
def index() -> tuple[keyed_match.MemoryIndex, dict[str, np.ndarray]]:
    memory = keyed_match.MemoryIndex()
    voices = {f"V{seed}": speechlike(40, SR, seed=seed) for seed in range(4)}
    for name, samples in voices.items():
        memory.add(name, *keyed.hashes_of(peaks_of(samples, SR)))
    return memory, voices


@pytest.mark.parametrize(
    "distort",
    [
        lambda x: x * 0.05,
        lambda x: soxr.resample(x, SR * 1.03, SR).astype(np.float32),
        lambda x: soxr.resample(x, SR * 0.97, SR).astype(np.float32),
    ],
    ids=["gain -26 dB", "speed +3 %", "speed -3 %"],
)
def test_an_excerpt_matches_its_voice_only(index, distort) -> None:  # type: ignore[no-untyped-def]
    memory, voices = index
    clip = distort(voices["V2"][12 * SR : 17 * SR])
    found = keyed_match.match(peaks_of(clip, SR), memory.lookup)
    assert [m.voice_id for m in found] == ["V2"]
    # where the excerpt begins in the voice (a speed change moves the match by ≤ 3 % of 5 s)
    assert abs(found[0].voice_start_s - found[0].query_start_s - 12.0) < 0.3


def test_other_speech_matches_nothing(index) -> None:  # type: ignore[no-untyped-def]
    memory, _ = index
    clip = speechlike(5, SR, seed=99)
    assert keyed_match.match(peaks_of(clip, SR), memory.lookup) == []


def test_chunked_keys_equal_one_shot(monkeypatch: pytest.MonkeyPatch) -> None:
    found = peaks_of(speechlike(30, SR, seed=5), SR)
    whole = keyed.hashes_of(found)
    monkeypatch.setattr(keyed, "CHUNK_PEAKS", 200)
    chunked = keyed.hashes_of(Peaks(found.frames, found.hz))
    order_a, order_b = np.lexsort(whole[::-1]), np.lexsort(chunked[::-1])
    assert np.array_equal(whole[0][order_a], chunked[0][order_b])
    assert np.array_equal(whole[1][order_a], chunked[1][order_b])


@pytest.fixture(scope="module")
def peaks() -> Peaks:
    return peaks_of(speechlike(20, SR, seed=3), SR)


def _share_found(registered: Peaks, query: Peaks) -> float:
    """The share of a voice's index keys that a query's probes look up."""
    return float(np.isin(keyed.hashes_of(registered)[0], keyed.query_keys(query)[0]).mean())


def test_speed_moves_only_the_anchor_frequency(peaks: Peaks) -> None:
    # a speed change multiplies every frequency by one factor: the groups stay, and of their
    # numbers only the anchor's log frequency moves (by 12·log2(1.03) semitones, probed)
    for factor in (1.03, 0.97):
        faster = Peaks(peaks.frames, peaks.hz * factor)
        rows = keyed.groups(peaks)
        assert np.array_equal(keyed.groups(faster), rows)
        before, after = keyed.coordinates(peaks, rows), keyed.coordinates(faster, rows)
        shift = 12 * np.log2(factor) / keyed.F_STEP
        assert np.allclose(after[:, 0] - before[:, 0], shift)
        assert np.allclose(after[:, 1:], before[:, 1:])


@pytest.mark.parametrize("factor", [1.05, 0.95])
def test_tempo_keeps_the_keys(peaks: Peaks, factor: float) -> None:
    # a tempo change moves the peaks in time only: the time ratio and the coarse log span keep
    # the keys, bar groups whose partners cross the zone's edge or a span bin's
    stretched = Peaks(np.round(peaks.frames * factor).astype(np.int64), peaks.hz)
    assert _share_found(peaks, stretched) >= 0.85


def test_query_groups_hold_the_registry_groups(peaks: Peaks) -> None:
    registry = {tuple(row) for row in keyed.groups(peaks).tolist()}
    query = {tuple(row) for row in keyed.groups(peaks, keyed.QUERY_NEAR).tolist()}
    assert registry < query


def test_peaks_added_by_a_distortion_do_not_hide_the_registered_groups(
    peaks: Peaks, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one spurious peak for every five real ones (noise, reverberation): a spurious peak nearer in
    # frequency than a registered partner pushes it out of the anchor's NEAR; the query's surplus
    # of partners keeps the registered group
    rng = np.random.default_rng(1)
    count = len(peaks) // 5
    frames = np.concatenate([peaks.frames, rng.integers(0, int(peaks.frames.max()), count)])
    hz = np.concatenate([peaks.hz, rng.uniform(keyed.MIN_HZ, 3800, count)])
    order = np.lexsort((hz, frames))
    noisy = Peaks(frames[order], hz[order])
    with_surplus = _share_found(peaks, noisy)
    monkeypatch.setattr(keyed, "QUERY_NEAR", keyed.NEAR)
    without = _share_found(peaks, noisy)
    assert with_surplus >= 0.8 and with_surplus > without + 0.05


def test_the_matcher_finds_a_time_stretched_excerpt(index) -> None:  # type: ignore[no-untyped-def]
    memory, voices = index
    found = peaks_of(voices["V1"][20 * SR : 25 * SR], SR)
    for factor in (1.05, 0.95):  # the query's time axis stretched (tempo ∓5 %)
        stretched = Peaks(np.round(found.frames / factor).astype(np.int64), found.hz)
        matches = keyed_match.match(stretched, memory.lookup)
        assert [m.voice_id for m in matches] == ["V1"]
        assert abs(matches[0].tempo - factor) <= 0.015
        start = matches[0].voice_start_s - matches[0].query_start_s * matches[0].tempo
        assert abs(start - 20.0) < 0.3


def test_columnar_postings_decide_as_rows_do(index) -> None:  # type: ignore[no-untyped-def]
    """A lookup may return columns (the in-memory and DynamoDB indexes do) or (key, voice,
    frame) rows: the same postings, the same matches, and only the voices found are counted
    (the decision corrects for them)."""
    _, voices = index
    memory = keyed_match.MemoryIndex()
    memory.add("VX", np.arange(1 << 40, (1 << 40) + 500), np.arange(500))  # shares no key
    for name, samples in voices.items():
        memory.add(name, *keyed.hashes_of(peaks_of(samples, SR)))
    clip = voices["V1"][12 * SR : 17 * SR] + 0.05 * np.random.default_rng(4).standard_normal(
        5 * SR
    ).astype(np.float32)
    peaks = peaks_of(clip, SR)
    columns = memory.lookup(keyed_match.query_hashes(peaks)[0])
    assert isinstance(columns, keyed_match.Postings)
    assert "VX" not in columns.names and set(columns.names) < set(memory.names)
    assert sorted(columns) == sorted(keyed_match.Postings.of_rows(list(columns)))
    by_columns = keyed_match.match(peaks, memory.lookup)
    by_rows = keyed_match.match(peaks, lambda keys: list(memory.lookup(keys)))
    assert by_columns and by_columns == by_rows
    assert by_columns[0].voice_id == "V1"


def test_an_index_without_keys_finds_nothing() -> None:
    memory = keyed_match.MemoryIndex()
    assert len(memory.lookup(np.array([1, 2]))) == 0
    memory.add("V0", np.zeros(0, np.int64), np.zeros(0, np.int64))  # a voice too short to hash
    assert len(memory.lookup(np.array([1, 2]))) == 0
    memory.add("V1", np.array([2, 5, 5]), np.array([10, 20, 30]))
    found = memory.lookup(np.array([5, 1, 5, 7]))
    assert list(found) == [(5, "V1", 20), (5, "V1", 30)]
