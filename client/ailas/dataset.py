"""A training dataset fingerprinted on this machine for a bulk audit: no audio leaves it, only
the probe keys a trace would look up (the deployed keyed fingerprint's multi-probe keys) and
their anchor frames, written as Parquet for the registry's SQL join. Resumable: each finished
file is cached, under the audit algorithm's name, so a cache of another algorithm is not
reused."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3"}
# Audio the registry cannot decode: audited all the same, as unreadable (with the decoder's
# reason), so a dataset holding them is never reported clean.
OTHER_AUDIO_SUFFIXES = {
    ".aif", ".aiff", ".aifc", ".au", ".snd", ".caf", ".w64", ".rf64", ".m4a", ".m4b", ".mp4",
    ".aac", ".wma", ".webm", ".weba", ".mka", ".amr", ".3gp", ".ac3", ".ape", ".wv", ".spx",
    ".mp2", ".voc",
}  # fmt: skip
AUDITED_SUFFIXES = AUDIO_SUFFIXES | OTHER_AUDIO_SUFFIXES
SHORT_CODES = {"no_speech", "no_fingerprint", "constant_signal", "pure_tone"}
# Parquet column types that DuckDB and Athena (Trino) read alike (no unsigned integers).
COLUMNS = {
    "file_id": "INTEGER",
    "hash": "BIGINT",
    "frame": "INTEGER",
    "span": "INTEGER",
}


@dataclass
class DatasetFile:
    """One file of the dataset: ``status`` is ``fingerprinted``, ``too_short`` or ``unreadable``."""

    path: str
    identity: str
    status: str
    duration_s: float | None = None
    error: dict[str, str] | None = None
    peaks: int = 0
    cache: str | None = None  # the .npz of its query rows


@dataclass
class Fingerprinted:
    files: list[DatasetFile] = field(default_factory=list)

    @property
    def usable(self) -> list[DatasetFile]:
        return [f for f in self.files if f.status == "fingerprinted"]


def audio_files(directory: Path) -> list[Path]:
    found = (p for p in directory.rglob("*") if p.is_file())
    return sorted(p for p in found if p.suffix.lower() in AUDITED_SUFFIXES)


def identity(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def query_rows(peaks: Any) -> dict[str, np.ndarray]:
    """The distinct (probe key, anchor frame) pairs a trace would look up for these peaks
    (ailas.audio.engine.audit_probes); ``span`` is the query's extent in frames (the matcher's
    chance model uses it)."""
    from ailas.audio.engine import audit_probes

    keys, frames = audit_probes(peaks)
    span = int(peaks.frames.max() - peaks.frames.min() + 1) if len(peaks) else 1
    return {
        "hash": keys.astype(np.int64),
        "frame": frames.astype(np.int32),
        "span": np.full(len(keys), span, np.int32),
    }


def fingerprint_file(path: str, cache_dir: str) -> DatasetFile:
    """Decode and hash one file (in a worker process); its rows go to the cache as .npz."""
    from ailas import audio

    source = Path(path)
    found = DatasetFile(path=path, identity=identity(source), status="fingerprinted")
    try:
        decoded = audio.decode(source)
    except audio.AudioRejected as rejection:
        found.status = "too_short" if rejection.code in SHORT_CODES else "unreadable"
        found.error = {"code": rejection.code, "message": rejection.message}
        return found
    except Exception as error:  # a decoder crash on one file must not stop the audit
        found.status = "unreadable"
        found.error = {"code": "unreadable", "message": str(error)}
        return found
    rows = query_rows(decoded.peaks)
    found.duration_s = round(decoded.duration_s, 3)
    found.peaks = len(decoded.peaks)
    found.cache = str(
        Path(cache_dir) / f"{hashlib.sha256(os.fsencode(found.identity)).hexdigest()[:32]}.npz"
    )
    np.savez(found.cache, **rows)  # type: ignore[arg-type]  # numpy's stub reads **kwds as allow_pickle
    return found


def cache_folder(work: Path) -> Path:
    """Where the rows of this client's audit algorithm are cached: rows of another algorithm
    (an older client's) would join with nothing in the registry's export, so they are not
    reused."""
    from ailas.audio.engine import AUDIT_ALGORITHM

    return work / AUDIT_ALGORITHM


def _cached(state: Path) -> dict[str, DatasetFile]:
    if not state.exists():
        return {}
    done = {}
    for line in state.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = DatasetFile(**json.loads(line))
            if row.cache is None or Path(row.cache).exists():
                done[row.identity] = row
    return done


def fingerprint_dataset(
    files: list[Path], work: Path, workers: int | None = None, quiet: bool = False
) -> Fingerprinted:
    """Every file fingerprinted once, over the machine's cores; ``files.jsonl`` in the
    algorithm's folder (``cache_folder``) records the finished ones, so an interrupted audit
    resumes where it stopped."""
    from tqdm import tqdm

    work = cache_folder(work)
    (work / "rows").mkdir(parents=True, exist_ok=True)
    state = work / "files.jsonl"
    done = _cached(state)
    todo = [str(p) for p in files if identity(p) not in done]
    with (
        open(state, "a", encoding="utf-8") as log,
        ProcessPoolExecutor(workers or os.cpu_count() or 1) as pool,
        tqdm(total=len(files), initial=len(files) - len(todo), unit="file", disable=quiet) as bar,
    ):
        futures = [pool.submit(fingerprint_file, p, str(work / "rows")) for p in todo]
        for future in as_completed(futures):
            row = future.result()
            # ASCII escapes: a file name that is not UTF-8 survives the round trip
            log.write(json.dumps(asdict(row)) + "\n")
            log.flush()
            done[row.identity] = row
            bar.update(1)
    return Fingerprinted([done[identity(p)] for p in files])


def _batches(usable: list[DatasetFile]) -> Iterator[dict[str, np.ndarray]]:
    for file_id, row in enumerate(usable):
        assert row.cache is not None  # usable files were all fingerprinted
        with np.load(row.cache) as cached:
            columns = {name: cached[name] for name in cached.files}
        yield {"file_id": np.full(len(columns["hash"]), file_id, np.int32), **columns}


def write_parquet(usable: list[DatasetFile], out: Path) -> int:
    """The query rows of the usable files (file_id = position in ``usable``) as one Parquet
    file, appended file by file (memory stays at one file's rows); returns its size."""
    import duckdb

    con = duckdb.connect()
    select = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in COLUMNS.items())
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    con.execute(f"CREATE TABLE rows ({columns})")
    for batch in _batches(usable):
        con.register("batch", batch)
        con.execute(f"INSERT INTO rows SELECT {select} FROM batch")  # noqa: S608
        con.unregister("batch")
    target = "'" + str(out).replace("'", "''") + "'"
    con.execute(f"COPY rows TO {target} (FORMAT parquet, COMPRESSION zstd)")
    con.close()
    return out.stat().st_size
