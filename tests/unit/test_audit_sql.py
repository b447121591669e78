"""The bulk audit's SQL (run on DuckDB) decides as the trace matcher does: the same voices, the
same votes and times, on real recorded speech and on small generated histograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ailas.dataset import query_rows
from shared.audio.fingerprint import hashes_of, peaks_of
from shared.audio.match import MIN_VOTES, MemoryIndex, match
from shared.audits import duck, score
from tests import realspeech

RATE = 16000


def _registry(tmp: Path, voices: dict[str, np.ndarray]) -> tuple[list[Path], MemoryIndex]:
    index, parts = MemoryIndex(), []
    for voice_no, samples in voices.items():
        hashes, times = hashes_of(peaks_of(samples, RATE))
        index.add(voice_no, hashes, times)
        path = tmp / "registry" / f"{voice_no}.parquet"
        duck.write_parquet(
            path, {"voice_no": np.array([voice_no] * len(hashes)), "hash": hashes, "t": times}
        )
        parts.append(path)
    return parts, index


def _dataset(tmp: Path, excerpts: list[np.ndarray]) -> list[Path]:
    columns: dict[str, list[np.ndarray]] = {}
    for file_id, samples in enumerate(excerpts):
        rows = query_rows(peaks_of(samples, RATE))
        rows["file_id"] = np.full(len(rows["hash"]), file_id, np.int32)
        for name, values in rows.items():
            columns.setdefault(name, []).append(values)
    path = tmp / "dataset.parquet"
    duck.write_parquet(path, {name: np.concatenate(v) for name, v in columns.items()})
    return [path]


@pytest.fixture(scope="module")
def speech() -> dict[str, np.ndarray]:
    paths = realspeech.reader_sentences() + realspeech.card_names()
    return {f"V-{i}": sf.read(p, dtype="float32")[0] for i, p in enumerate(paths)}


def test_audit_sql_finds_what_the_trace_matcher_finds_on_real_speech(
    tmp_path: Path, speech: dict[str, np.ndarray]
) -> None:
    registered = dict(list(speech.items())[:6])  # the reader's five sentences + one card name
    registry, index = _registry(tmp_path, registered)
    rng = np.random.default_rng(7)
    excerpts = []
    for samples in speech.values():  # registered and unregistered recordings alike
        start = len(samples) // 4
        excerpt = samples[start : start + 3 * RATE]
        excerpts += [excerpt, excerpt * 0.1 + rng.normal(0, 0.01, len(excerpt)).astype("f4")]
    by_sql = score.matches(duck.audit_rows(_dataset(tmp_path, excerpts), registry))
    audited = {(m.file_id, m.voice_no): m for m in by_sql}
    traced = {}
    for file_id, excerpt in enumerate(excerpts):
        for m in match(peaks_of(excerpt, RATE), index.lookup):
            traced[(file_id, m.voice_id)] = m
    assert set(audited) == set(traced)
    assert len(traced) >= 5  # the real-speech excerpts do match (clean and noisy)
    assert {v for _, v in traced} <= set(registered)
    for found, m in traced.items():
        assert audited[found].votes == m.votes
        assert audited[found].query_start_s == pytest.approx(m.query_start_s)
        assert audited[found].voice_start_s == pytest.approx(m.voice_start_s)
        assert audited[found].p_value == pytest.approx(m.p_value, rel=1e-9)


def test_histogram_groups_below_the_votes_floor_never_leave_the_database(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 1 << 20, 400)
    times = np.sort(rng.integers(0, 3000, 400))
    registry = tmp_path / "r.parquet"
    duck.write_parquet(registry, {"voice_no": np.array(["V-A"] * 400), "hash": hashes, "t": times})
    shifted = times[:40] - 1000  # a run of 40 hashes at one offset (+1000 frames) …
    chance = rng.integers(0, 3000, MIN_VOTES - 1)  # … and a few scattered ones
    dataset = tmp_path / "d.parquet"
    duck.write_parquet(
        dataset,
        {
            "file_id": np.array([0] * 40 + [1] * (MIN_VOTES - 1)),
            "hyp": np.zeros(40 + MIN_VOTES - 1, np.int16),
            "hash": np.concatenate([hashes[:40], hashes[100 : 100 + MIN_VOTES - 1]]),
            "frame": np.concatenate([shifted, chance]),
            "span": np.array([3000] * 40 + [3000] * (MIN_VOTES - 1)),
        },
    )
    rows = duck.audit_rows([dataset], [registry])
    assert {r["file_id"] for r in rows} == {0}
    found = score.matches(rows)
    assert [(m.file_id, m.voice_no) for m in found] == [(0, "V-A")]
    assert found[0].votes >= 40 - MIN_VOTES
    assert found[0].voice_start_s - found[0].query_start_s == pytest.approx(1000 * 0.016, abs=0.1)
