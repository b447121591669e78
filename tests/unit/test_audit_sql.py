"""The bulk audit's SQL (run on DuckDB) decides as the deployed trace matcher (keyed_match) does:
the same (file, voice) pairs with the same votes, times and p-values on real recorded speech, the
tempo grid, and the index's stop-list."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from ailas.dataset import query_rows
from shared.audio import keyed_match
from shared.audio.engine import ALGORITHM_VERSION, AUDIT_ALGORITHM, KEYED, audit_hashes
from shared.audio.fingerprint import HOP_S, peaks_of
from shared.audio.keyed_match import MIN_VOTES, MemoryIndex, match
from shared.audits import duck, score, sql
from shared.fingerprint_index import CAP
from tests import realspeech

RATE = 16000


def _write_registry(tmp: Path, voices: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[Path]:
    """The export's rows (one Parquet here; per voice and bucket in S3: the SQL reads a list)."""
    names = np.concatenate([np.array([v] * len(h)) for v, (h, _) in voices.items()])
    hashes = np.concatenate([h for h, _ in voices.values()])
    times = np.concatenate([t for _, t in voices.values()])
    path = tmp / "registry.parquet"
    duck.write_parquet(path, {"voice_no": names, "hash": hashes, "t": times})
    return [path]


def _write_dataset(tmp: Path, files: list[dict[str, np.ndarray]]) -> list[Path]:
    columns: dict[str, list[np.ndarray]] = {}
    for file_id, rows in enumerate(files):
        rows = {**rows, "file_id": np.full(len(rows["hash"]), file_id, np.int32)}
        for name, values in rows.items():
            columns.setdefault(name, []).append(values)
    path = tmp / "dataset.parquet"
    duck.write_parquet(path, {name: np.concatenate(v) for name, v in columns.items()})
    return [path]


def _staged_rows(dataset: list[Path], registry: list[Path]) -> list[dict]:
    """sql.stages run as Athena would run them: stage 1 and 2 stored as tables."""
    import duckdb

    def source(files: list[Path]) -> str:
        return "read_parquet([" + ", ".join(f"'{p}'" for p in files) + "])"

    one, two, three = sql.stages(source(dataset), source(registry), "stage_one", "stage_two")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE stage_one AS {one}")
    con.execute(f"CREATE TABLE stage_two AS {two}")
    cursor = con.execute(three)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def test_athenas_statements_read_the_sources_and_make_the_pairs_at_most_twice() -> None:
    """Trino runs a WITH query again at every reference: the one statement would make the
    join's pairs over a hundred times, the three statements twice (stage 1, stage 2)."""
    runs = [sql.inlined_runs(text) for text in sql.stages("d", "r", "t1", "t2")]
    assert sum(r.get("registry", 0) for r in runs) <= 2
    assert sum(r.get("pairs", 0) for r in runs) <= 2
    assert sum(r.get("cells", 0) for r in runs) == 1
    assert "dataset" not in runs[2] and "registry" not in runs[2]  # the grid reads two tables
    assert sql.inlined_runs(sql.render("d", "r"))["pairs"] > 2


@pytest.fixture(scope="module")
def speech() -> dict[str, np.ndarray]:
    paths = realspeech.reader_sentences() + realspeech.card_names()
    return {f"V-{i}": sf.read(p, dtype="float32")[0] for i, p in enumerate(paths)}


def _excerpts(speech: dict[str, np.ndarray]) -> list[np.ndarray]:
    """3 s of every recording: clean, quieter in noise, and 3 % faster (pitch and tempo)."""
    rng = np.random.default_rng(7)
    out = []
    for samples in speech.values():  # registered and unregistered recordings alike
        start = len(samples) // 4
        excerpt = samples[start : start + 3 * RATE]
        noisy = excerpt * 0.1 + rng.normal(0, 0.01, len(excerpt)).astype("f4")
        faster = soxr.resample(excerpt, RATE * 1.03, RATE)
        out += [excerpt, noisy, faster.astype("f4")]
    return out


def test_the_audit_uses_the_deployed_fingerprint() -> None:
    assert KEYED  # the SQL is keyed_match's vote
    assert AUDIT_ALGORITHM == ALGORITHM_VERSION


def test_audit_sql_finds_what_the_trace_matcher_finds_on_real_speech(
    tmp_path: Path, speech: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = dict(list(speech.items())[:6])  # the reader's five sentences + one card name
    index, exported = MemoryIndex(), {}
    for voice_no, samples in registered.items():
        exported[voice_no] = audit_hashes(peaks_of(samples, RATE))
        index.add(voice_no, *exported[voice_no])
    excerpts = [peaks_of(e, RATE) for e in _excerpts(speech)]
    # a trace reads at most MAX_LOOKUPS distinct keys; these excerpts stay under it, so the
    # trace and the audit (which uses every probe of a file) read the same keys
    assert all(len(np.unique(query_rows(p)["hash"])) <= keyed_match.MAX_LOOKUPS for p in excerpts)
    dataset = _write_dataset(tmp_path, [query_rows(p) for p in excerpts])
    registry = _write_registry(tmp_path, exported)
    rows = duck.audit_rows(dataset, registry)
    assert _staged_rows(dataset, registry) == rows  # Athena's three statements: the same rows
    monkeypatch.setattr(duck, "BATCH_ROWS_PRODUCT", 1.0)  # one file per query: the same rows
    assert duck.audit_rows(dataset, registry, threads=1) == rows
    # three batches at once, finishing in any order: the rows still come in the SQL's order
    assert duck.audit_rows(dataset, registry, threads=3) == rows
    # streamed a few rows at a time across the batches, scoring decides the same
    monkeypatch.setattr(duck, "FETCH_ROWS", 3)
    streamed = score.matches(duck.iter_audit_rows(dataset, registry))
    assert [m.as_dict() for m in streamed] == [m.as_dict() for m in score.matches(rows)]
    audited = {(m.file_id, m.voice_no): m for m in score.matches(rows)}
    traced = {}
    for file_id, peaks in enumerate(excerpts):
        for m in match(peaks, index.lookup):
            traced[(file_id, m.voice_id)] = m
    assert set(audited) == set(traced)
    assert len(traced) >= 8  # the real-speech excerpts do match (13 of 18 at this writing)
    assert {v for _, v in traced} <= set(registered)
    assert {round(m.tempo, 2) for m in traced.values()} != {1.0}  # the tempo grid is exercised
    for found, m in traced.items():
        assert audited[found].votes == m.votes
        assert audited[found].tempo == m.tempo
        assert audited[found].query_start_s == pytest.approx(m.query_start_s)
        assert audited[found].voice_start_s == pytest.approx(m.voice_start_s)
        assert audited[found].duration_s == pytest.approx(m.duration_s)
        assert audited[found].p_value == pytest.approx(m.p_value, rel=1e-9)


def _planted(tmp_path: Path, common: int) -> tuple[list[Path], list[Path]]:
    """A voice of 400 random keys over 48 s; file 0 holds every tenth of them at +1000 frames and
    4 % slower (tempo 1.04), file 1 a few scattered ones. ``common`` other voices also hold
    file 0's keys (at random times)."""
    rng = np.random.default_rng(3)
    hashes = rng.choice(1 << 26, 400, replace=False)
    times = np.sort(rng.choice(3000, 400, replace=False))
    planted = slice(0, 400, 10)
    voices = {"V-A": (hashes, times)}
    for i in range(common):
        voices[f"V-C{i:04d}"] = (hashes[planted], rng.integers(0, 3000, 40))
    chance = rng.choice(np.arange(1, 400, 10), MIN_VOTES - 1, replace=False)
    files = [
        {"hash": hashes[planted], "frame": np.round((times[planted] + 1000) / 1.04)},
        {"hash": hashes[chance], "frame": rng.integers(0, 3000, len(chance))},
    ]
    files = [{**f, "span": np.full(len(f["hash"]), 4000)} for f in files]
    tmp_path.mkdir(parents=True, exist_ok=True)
    return _write_dataset(tmp_path, files), _write_registry(tmp_path, voices)


def test_only_offset_coherent_votes_leave_the_database_and_the_tempo_is_found(
    tmp_path: Path,
) -> None:
    rows = duck.audit_rows(*_planted(tmp_path, 0))
    assert {r["file_id"] for r in rows} == {0}
    found = score.matches(rows)
    assert [(m.file_id, m.voice_no) for m in found] == [(0, "V-A")]
    assert found[0].tempo == pytest.approx(1.04)
    assert found[0].votes >= 40 - MIN_VOTES
    start_in_voice = found[0].voice_start_s - found[0].query_start_s * 1.04
    assert start_in_voice == pytest.approx(-1000 * HOP_S, abs=0.1)


def test_keys_the_index_stop_lists_are_not_evidence(tmp_path: Path) -> None:
    below = score.matches(duck.audit_rows(*_planted(tmp_path / "below", CAP - 2)))
    assert ("V-A", 0) in {(m.voice_no, m.file_id) for m in below}
    above = score.matches(duck.audit_rows(*_planted(tmp_path / "above", CAP - 1)))
    assert "V-A" not in {m.voice_no for m in above}  # each key now holds CAP postings


def test_the_sql_least_rate_is_the_matchers() -> None:
    assert keyed_match._least_rate(0, 10**9) == sql.LEAST_RATE


def test_the_sql_filters_never_drop_what_judge_could_accept() -> None:
    """sql.hopeful against the matcher's own chance: for every k, rate and correction where judge
    would accept k votes (log p below log FALSE_ALARM), the SQL lets them through; and it does
    drop some, or it would filter nothing."""
    import duckdb

    cases = [
        (k, rate, voices, span)
        for k in range(1, 40)
        for rate in (0.05, 0.3, 1.0, 3.0, 8.0)
        for voices in (1, 40, 100_000)
        for span in (500, 20_000, 300_000)
    ]
    con = duckdb.connect()
    con.execute("CREATE TABLE c (k INTEGER, rate DOUBLE, logc DOUBLE)")
    logcs = [
        keyed_match._log_chance(rate, k, span, voices)
        - keyed_match._log_poisson_tail(rate, k)
        - math.log(keyed_match.FALSE_ALARM)
        for k, rate, voices, span in cases
    ]
    con.executemany(
        "INSERT INTO c VALUES (?, ?, ?)",
        [(k, rate, logc) for (k, rate, _, _), logc in zip(cases, logcs, strict=True)],
    )
    query = f"SELECT {sql.hopeful('k')} FROM c"  # noqa: S608 - our expression
    kept = [row[0] for row in con.execute(query).fetchall()]
    accepted = [
        keyed_match._log_poisson_tail(rate, k) + logc < 0
        for (k, rate, _, _), logc in zip(cases, logcs, strict=True)
    ]
    assert all(keep for keep, ok in zip(kept, accepted, strict=True) if ok)
    assert sum(accepted) > 100
    assert not all(kept)
