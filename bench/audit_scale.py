"""Bulk audit at scale: the local DuckDB join, the modelled Athena cost and time, and the
per-window trace approach it replaces.

Registry and dataset are generated from the real-speech corpus (bench/corpus.py, ~6 h of
recorded people): its peaks are split in two halves (registered speakers / dataset speakers)
and repeated under pitch transpositions (whole semitones, as other voices would be) and small
tempo changes until each side holds --hours; 5 % of the dataset are excerpts of registered
recordings (true matches). The join runs in a child process with DuckDB on --threads threads
(time and peak memory measured); Athena is modelled from the measured Parquet bytes per hour
($5 per TB scanned) and the measured join pairs per (dataset hour × registry hour).

    .venv/bin/python bench/audit_scale.py [--hours 10] [--threads 2] [--athena-workers 200]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "client"))

from ailas.dataset import query_rows  # noqa: E402
from bench import corpus  # noqa: E402
from shared.audio.fingerprint import HOP_S, Peaks, hashes_of, peaks_of  # noqa: E402
from shared.audio.match import query_hashes  # noqa: E402
from shared.audits import duck, score  # noqa: E402

CACHE = corpus.CACHE / "audit-peaks.npz"
ATHENA_USD_PER_TB = 5.0
TRACE_WINDOW_S = 5.0


def _peaks(recording: corpus.Recording) -> tuple[str, np.ndarray, np.ndarray]:
    found = peaks_of(recording.load(16000), 16000)
    return recording.id, found.frames, found.hz


def corpus_peaks() -> list[Peaks]:
    """The corpus's peaks (cached: decoding six hours takes minutes); also reports the rate."""
    if CACHE.exists():
        with np.load(CACHE) as cached:
            count = len(cached.files) // 2
            return [Peaks(cached[f"f{i}"], cached[f"h{i}"]) for i in range(count)]
    recordings = corpus.recordings()
    started = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        found = list(pool.map(_peaks, recordings))
    seconds = sum(r.duration_s for r in recordings)
    print(f"corpus: {seconds / 3600:.2f} h peaks in {time.perf_counter() - started:.0f} s")
    arrays = {f"f{i}": f for i, (_, f, _) in enumerate(found)}
    arrays |= {f"h{i}": h for i, (_, _, h) in enumerate(found)}
    np.savez(CACHE, **arrays)
    return [Peaks(f, h) for _, f, h in found]


def hours(peaks: Peaks) -> float:
    return (int(peaks.frames.max()) + 1) * HOP_S / 3600 if len(peaks) else 0.0


def variants(base: list[Peaks], target_h: float, transforms: list[tuple[int, float]]) -> list:
    """Copies of ``base`` under (semitones, tempo) until ``target_h`` hours."""
    out, total = [], 0.0
    for semitones, tempo in transforms:
        for peaks in base:
            frames = np.round(peaks.frames * tempo).astype(np.int64)
            out.append(Peaks(frames, peaks.hz * 2 ** (semitones / 12)))
            total += hours(peaks) * tempo
            if total >= target_h:
                return out
    return out


class PartWriter:
    """Columns appended per file/voice, flushed as Parquet parts of ~4 M rows."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.pending: list[dict[str, np.ndarray]] = []
        self.rows, self.parts, self.bytes = 0, [], 0

    def add(self, columns: dict[str, np.ndarray]) -> None:
        self.pending.append(columns)
        if sum(len(c["hash"]) for c in self.pending) >= 4_000_000:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        merged = {k: np.concatenate([p[k] for p in self.pending]) for k in self.pending[0]}
        path = self.folder / f"{self.name}-{len(self.parts):04d}.parquet"
        self.bytes += duck.write_parquet(path, merged)
        self.rows += len(merged["hash"])
        self.parts.append(path)
        self.pending = []


def build(folder: Path, target_h: float) -> dict[str, Any]:
    base = corpus_peaks()
    registered, others = base[0::2], base[1::2]
    grid = [(k, t) for k in (0, 2, -2, 4, -4, 6, -6, 8) for t in (1.0, 1.04, 0.96)]
    voices = variants(registered, target_h, grid)
    files = variants(others, target_h * 0.95, [(k + 1, t) for k, t in grid])
    truth = len(files)
    files += variants(registered, target_h * 0.05, [(0, 1.0)])
    registry, dataset = PartWriter(folder, "registry"), PartWriter(folder, "dataset")
    for i, peaks in enumerate(voices):
        hashes, times = hashes_of(peaks)
        registry.add({"voice_no": np.full(len(hashes), f"V-{i:05d}"), "hash": hashes, "t": times})
    for i, peaks in enumerate(files):
        rows = query_rows(peaks)
        dataset.add({"file_id": np.full(len(rows["hash"]), i, np.int32), **rows})
    registry.flush()
    dataset.flush()
    return {
        "registry": registry,
        "dataset": dataset,
        "registry_h": sum(hours(p) for p in voices),
        "dataset_h": sum(hours(p) for p in files),
        "true_files": set(range(truth, len(files))),
        "files": len(files),
        "others": others,
    }


def _join(dataset: list[Path], registry: list[Path], threads: int, out: Any) -> None:
    started = time.perf_counter()
    rows = duck.audit_rows(dataset, registry, memory_limit="3GB", threads=threads)
    sql_s = time.perf_counter() - started
    found = score.matches(rows)
    scored_s = time.perf_counter() - started - sql_s
    out.put((sql_s, scored_s, len(rows), [(m.file_id, m.voice_no) for m in found]))


def run_join(built: dict[str, Any], threads: int) -> tuple:
    """The join and scoring in a child process: (SQL s, scoring s, CPU s, peak MB, rows,
    matches). CPU seconds do not depend on what else the machine runs; wall seconds do."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    queue: Any = multiprocessing.Queue()
    child = multiprocessing.Process(
        target=_join, args=(built["dataset"].parts, built["registry"].parts, threads, queue)
    )
    child.start()
    sql_s, scored_s, rows, found = queue.get()
    child.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return sql_s, scored_s, cpu_s, after.ru_maxrss / 1024, rows, found


def join_pairs(built: dict[str, Any]) -> int:
    """Σ over hash values of (dataset rows × registry rows): the pairs the join produces."""
    import duckdb

    con = duckdb.connect()
    sources = [
        "read_parquet([" + ", ".join(f"'{p}'" for p in built[side].parts) + "])"
        for side in ("dataset", "registry")
    ]
    sql = (
        f"WITH d AS (SELECT hash, count(*) AS n FROM {sources[0]} GROUP BY hash), "  # noqa: S608
        f"r AS (SELECT hash, count(*) AS n FROM {sources[1]} GROUP BY hash) "
        "SELECT sum(d.n * r.n) FROM d JOIN r USING (hash)"
    )
    return int(con.execute(sql).fetchone()[0] or 0)


def trace_requests_per_hour(others: list[Peaks]) -> float:
    """One DynamoDB Query per distinct hash of each 5 s window (its 9 hypotheses, capped)."""
    window = int(TRACE_WINDOW_S / HOP_S)
    counts = []
    for peaks in others[:60]:
        for start in range(0, int(peaks.frames.max()) - window, window * 4):
            keep = (peaks.frames >= start) & (peaks.frames < start + window)
            part = Peaks(peaks.frames[keep], peaks.hz[keep])
            per = query_hashes(part)
            counts.append(len(np.unique(np.concatenate([h for _, h, _ in per]))) if per else 0)
    return float(np.mean(counts)) * 3600 / TRACE_WINDOW_S


def report(args: argparse.Namespace, built: dict[str, Any], measured: tuple) -> None:
    seconds, scored_s, cpu_s, peak_mb, rows, found = measured
    pairs = join_pairs(built)
    d_h, r_h = built["dataset_h"], built["registry_h"]
    d_bph, r_bph = built["dataset"].bytes / d_h, built["registry"].bytes / r_h
    hits = {f for f, _ in found}
    load = os.getloadavg()[0]
    print(
        f"\nLocal DuckDB ({args.threads} threads, load average {load:.1f} on "
        f"{os.cpu_count()} cores): {d_h:.1f} h dataset × {r_h:.1f} h registry"
    )
    print(
        "| rows dataset | rows registry | join pairs | histogram | SQL | scoring | CPU | memory |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {built['dataset'].rows:,} | {built['registry'].rows:,} | {pairs:,} | {rows:,} | "
        f"{seconds:.0f} s | {scored_s:.0f} s | {cpu_s:.0f} s | {peak_mb:.0f} MB |"
    )
    true_files = built["true_files"]
    other_files = built["files"] - len(true_files)
    print(
        f"registered excerpts found: {len(hits & true_files)}/{len(true_files)} files; "
        f"other files matched: {len(hits - true_files)}/{other_files}"
    )
    big_d, big_r = 1000.0, 100_000.0
    scanned = big_d * d_bph + big_r * r_bph
    big_pairs = pairs / (d_h * r_h) * big_d * big_r
    rate = pairs / max(cpu_s, 1e-9)  # pairs per CPU second, measured (independent of load)
    ten = 100 * cpu_s / args.threads  # 10 h × 10 h: 100× the pairs of 1 h × 1 h
    print(
        f"10 h × 10 h, from the CPU time: {ten * (d_h * r_h) ** -1 / 60:.0f} min on "
        f"{args.threads} idle cores (goal ≤ 10 min)"
    )
    athena_s = big_pairs / (rate * args.athena_workers)
    print(f"\nAthena model: {big_d:,.0f} h dataset × {big_r:,.0f} h registry")
    print("| Parquet bytes/h dataset | bytes/h registry | scanned | cost | join pairs | time |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {d_bph / 1e6:.1f} MB | {r_bph / 1e6:.1f} MB | {scanned / 1e12:.2f} TB | "
        f"${scanned / 1e12 * ATHENA_USD_PER_TB:.2f} | {big_pairs:.2e} | "
        f"{athena_s / 3600:.1f} h at {args.athena_workers} workers × {rate:.2e} pairs/s |"
    )
    needed = big_pairs / (30 * 60 * rate * args.athena_workers)
    print(
        f"30 min needs {needed:,.0f}× fewer join pairs: {np.log2(max(needed, 1)):.1f} more "
        "bits of hash entropy (issue 16), the cost does not depend on it"
    )
    per_hour = trace_requests_per_hour(built["others"])
    print(
        f"\nPer-window trace approach: {per_hour:,.0f} DynamoDB requests per dataset hour; "
        f"{per_hour * big_d:.2e} for {big_d:,.0f} h (the audit: 1 upload, 1 query)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--athena-workers", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        built = build(Path(folder), args.hours)
        print(f"generated in {time.perf_counter() - started:.0f} s")
        report(args, built, run_join(built, args.threads))


if __name__ == "__main__":
    main()
