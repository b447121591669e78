"""`ailas audit`: fingerprint a local dataset on this machine (client/ailas/dataset.py), send
only the fingerprint rows to the registry's bulk audit (one SQL join, not one request per
window), and report for each file which registered voices it holds, where, and whether this AI
system may use them (the registry's fairness rule decides). Also the client-side trace helpers."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import requests

from ailas.api import ApiError, Client


class Unreadable(Exception):
    pass


def fingerprint_query(path: Path) -> dict[str, Any]:
    """The body of POST /v1/traces/fingerprint for a local file."""
    from ailas import audio
    from ailas.audio import ALGORITHM_VERSION

    try:
        decoded = audio.decode(str(path))
    except audio.AudioRejected as rejection:
        raise Unreadable(f"{path}: {rejection.message} [{rejection.code}]") from None
    return {
        "algorithm": ALGORITHM_VERSION,
        "frames": base64.b64encode(decoded.peaks.frames.astype("<u4").tobytes()).decode(),
        "hz": base64.b64encode(decoded.peaks.hz.astype("<f4").tobytes()).decode(),
    }


MAX_QUERY_PEAKS = 20_000  # the registry's limit per fingerprint query (API: 422 beyond it)
OVERLAP_PEAKS = 1_000  # about 33 s shared by consecutive windows: a match across a boundary holds


def match_fingerprint(client: Client, query: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/traces/fingerprint, in windows of at most the API's peaks per query for a long
    file (a window's peaks keep their absolute frames, so the matches' times stay the file's)."""
    import numpy as np

    frames = np.frombuffer(base64.b64decode(query["frames"]), dtype="<u4")
    hz = np.frombuffer(base64.b64decode(query["hz"]), dtype="<f4")
    if len(frames) <= MAX_QUERY_PEAKS:
        return client.post("/v1/traces/fingerprint", query)
    step = MAX_QUERY_PEAKS - OVERLAP_PEAKS
    matches: dict[tuple[str, float], dict[str, Any]] = {}
    cost: dict[str, int] = {}
    for start in range(0, len(frames) - OVERLAP_PEAKS, step):
        window = slice(start, start + MAX_QUERY_PEAKS)
        answer = client.post(
            "/v1/traces/fingerprint",
            {
                "algorithm": query["algorithm"],
                "frames": base64.b64encode(frames[window].tobytes()).decode(),
                "hz": base64.b64encode(hz[window].tobytes()).decode(),
            },
        )
        for found in answer["matches"]:
            key = (found["voice_no"], round(found["query_start_s"] - found["voice_start_s"]))
            if key not in matches or found["score"] > matches[key]["score"]:
                matches[key] = found
        for name, value in answer.get("cost", {}).items():
            cost[name] = cost.get(name, 0) + value
    return {
        "algorithm": query["algorithm"],
        "peaks": len(frames),
        "matches": sorted(matches.values(), key=lambda m: m["query_start_s"]),
        "cost": cost,
    }


def load_jwks(client: Client, source: str | None) -> dict[str, Any]:
    """The keys to check signatures with: ``source`` (a file, or an http(s) URL) when given,
    else the registry's. A source given but not found is an error, never the registry's keys
    in its place: whoever pins keys must learn that the pinned ones were not used."""
    if source is None:
        return client.get("/.well-known/jwks.json")
    if source.startswith(("http://", "https://")):
        return requests.get(source, timeout=30).json()
    return json.loads(Path(source).read_text())  # OSError (no such file) for the caller


PARQUET = "application/vnd.apache.parquet"
PROBLEM_STATUSES = ("not_covered", "unreadable", "too_short")


def submit(client: Client, ai_no: str, rows: Path, files: int) -> dict[str, Any]:
    """POST /v1/audits, upload the rows, wait for the registry's join; the result document."""
    from ailas.api import presigned_post
    from ailas.audio.engine import AUDIT_ALGORITHM

    body = {
        "ai_no": ai_no,
        "algorithm": AUDIT_ALGORITHM,
        "files": files,
        "size_bytes": rows.stat().st_size,
    }
    created = client.post("/v1/audits", body)
    presigned_post(created["upload"], rows, PARQUET)
    job = wait_for_audit(client, created["audit_id"])
    if job["status"] != "done":
        error = job.get("error") or {"code": "timeout", "message": "The audit did not finish."}
        raise ApiError(0 if error["code"] == "timeout" else 422, error["code"], error["message"])
    reply = requests.get(job["result"]["url"], timeout=600)
    reply.raise_for_status()
    return {**reply.json(), "summary": job.get("summary")}


def wait_for_audit(client: Client, audit_id: str, timeout_s: float = 3600) -> dict[str, Any]:
    deadline, pause = time.monotonic() + timeout_s, 0.2
    while True:
        job = client.get(f"/v1/audits/{audit_id}")
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(pause)
        pause = min(5.0, pause * 1.5)


def run(
    client: Client,
    files: list[Path],
    ai_no: str,
    out: Path,
    workers: int | None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Fingerprint ``files`` (dataset.audio_files of the folder), submit, report: writes
    OUT.json, OUT.csv and OUT.html; returns the report."""
    from ailas import audit_report, dataset

    if not client.token:  # said before hours of fingerprinting
        raise ApiError(
            401,
            "token_required",
            "An audit needs the token of the business that owns the AI system: give it with "
            "--token or AILAS_TOKEN.",
        )
    ai = client.get(f"/v1/ai-systems/{ai_no}")
    if "training_data" not in ai:  # the public view: asked before hours of fingerprinting
        raise ApiError(
            403,
            "not_your_ai_system",
            f"{ai['ai_no']} is not an AI system of the business whose token this is: give "
            "that business's token with --token or AILAS_TOKEN.",
        )
    work = out.with_name(out.name + ".work")
    found = dataset.fingerprint_dataset(files, work, workers, quiet)
    document: dict[str, Any] = {"matches": [], "voices": {}}
    if found.usable:
        rows = dataset.cache_folder(work) / "dataset.parquet"
        dataset.write_parquet(found.usable, rows)
        document = submit(client, ai["ai_no"], rows, len(found.usable))
    report = audit_report.build(ai, found, document)
    audit_report.write_all(report, out)
    return report
