"""`ailas audit`: fingerprint a local dataset on this machine, in parallel and resumably, match
it against the registry, and say for each file whether the AI system may use it."""

from __future__ import annotations

import base64
import csv
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import requests

from ailas.api import ApiError, Client

AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3"}


class Unreadable(Exception):
    pass


def fingerprint_query(path: Path) -> dict[str, Any]:
    """The body of POST /v1/traces/fingerprint for a local file."""
    from ailas import audio
    from ailas.audio.fingerprint import ALGORITHM_VERSION

    try:
        decoded = audio.decode(str(path))
    except audio.AudioRejected as rejection:
        raise Unreadable(f"{path}: {rejection.message} [{rejection.code}]") from None
    return {
        "algorithm": ALGORITHM_VERSION,
        "frames": base64.b64encode(decoded.peaks.frames.astype("<u4").tobytes()).decode(),
        "hz": base64.b64encode(decoded.peaks.hz.astype("<f4").tobytes()).decode(),
    }


OVERLAP_PEAKS = 1_000  # about 33 s shared by consecutive windows: a match across a boundary holds


def match_fingerprint(client: Client, query: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/traces/fingerprint, in windows of at most the API's peaks per query for a long
    file (a window's peaks keep their absolute frames, so the matches' times stay the file's)."""
    import numpy as np

    from shared.traces.models import MAX_QUERY_PEAKS

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


def _fingerprint_file(path: str) -> tuple[str, dict[str, Any] | None, str | None]:
    try:
        return path, fingerprint_query(Path(path)), None
    except Unreadable as error:
        return path, None, str(error)
    except Exception as error:
        return path, None, f"{path}: {error}"


def load_jwks(client: Client, source: str | None) -> dict[str, Any]:
    if source and Path(source).exists():
        return json.loads(Path(source).read_text())
    if source and source.startswith(("http://", "https://")):
        return requests.get(source, timeout=30).json()
    return client.get("/.well-known/jwks.json")


def _identity(path: Path) -> str:
    stat = path.stat()
    return f"{path}|{stat.st_size}|{int(stat.st_mtime)}"


def _verdicts(
    client: Client,
    ai: dict[str, Any],
    voice_no: str,
    contracts: list[dict[str, Any]],
    cache: dict[str, Any],
) -> dict[str, Any]:
    """For one matched voice: each member performer's decision per use, and contract cover."""
    if voice_no in cache:
        return cache[voice_no]
    voice = client.get(f"/v1/voices/{voice_no}")
    decisions: dict[str, dict[str, str]] = {}
    for performer in voice["performers"]:
        if not performer.get("member_id"):
            continue
        try:
            intent = client.get(f"/v1/performers/{performer['member_id']}/intent")
            decisions[performer["display_name"]] = {u: intent["uses"][u] for u in ai["uses"]}
        except ApiError as error:
            if error.code != "no_intent":
                raise
            decisions[performer["display_name"]] = dict.fromkeys(ai["uses"], "contract")
    covered_uses = {
        u for c in contracts if c["in_force"] and voice_no in c["voice_nos"] for u in c["uses"]
    }
    problems = []
    for name, uses in decisions.items():
        for use, decision in uses.items():
            if decision == "deny":
                problems.append(f"{name}: {use} denied")
            elif decision == "contract" and use not in covered_uses:
                problems.append(f"{name}: {use} needs a contract")
    cache[voice_no] = {
        "title": voice["title"],
        "voice_status": voice["status"],
        "decisions": decisions,
        "contract_covers": sorted(covered_uses),
        "covered": not problems,
        "problems": problems,
    }
    return cache[voice_no]


def run(
    client: Client, directory: Path, ai_no: str, out: Path, workers: int | None, quiet: bool = False
) -> dict[str, Any]:
    from tqdm import tqdm

    ai = client.get(f"/v1/ai-systems/{ai_no}")
    try:
        contracts = client.get("/v1/contracts")["contracts"] if client.token else []
    except ApiError:
        contracts = []
    contracts = [c for c in contracts if c["ai_no"] == ai["ai_no"]]
    files = sorted(
        p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
    )
    state_path = out.with_suffix(".state.jsonl")
    done: dict[str, dict[str, Any]] = {}
    if state_path.exists():  # resume: keep what an interrupted run already matched
        for line in state_path.read_text().splitlines():
            if line.strip():
                held: dict[str, Any] = json.loads(line)
                done[held["identity"]] = held
    todo = [p for p in files if _identity(p) not in done]
    with (
        open(state_path, "a", encoding="utf-8") as state,
        ProcessPoolExecutor(workers or os.cpu_count() or 1) as pool,
        tqdm(total=len(files), initial=len(files) - len(todo), unit="file", disable=quiet) as bar,
    ):
        futures = [pool.submit(_fingerprint_file, str(p)) for p in todo]
        for future in as_completed(futures):
            path, query, error = future.result()
            row: dict[str, Any] = {
                "identity": _identity(Path(path)),
                "path": path,
                "error": error,
                "matches": [],
            }
            if query is not None:
                row["matches"] = match_fingerprint(client, query)["matches"]
            state.write(json.dumps(row, ensure_ascii=False) + "\n")
            state.flush()
            done[row["identity"]] = row
            bar.update(1)
    cache: dict[str, Any] = {}
    results = []
    for file in files:
        row = done[_identity(file)]
        matches = [
            {**m, **_verdicts(client, ai, m["voice_no"], contracts, cache)} for m in row["matches"]
        ]
        results.append(
            {
                "path": str(file),
                "error": row["error"],
                "matches": matches,
                "covered": all(m["covered"] for m in matches),
            }
        )
    summary = {
        "files": len(results),
        "matched": sum(1 for r in results if r["matches"]),
        "not_covered": sum(1 for r in results if not r["covered"]),
        "errors": sum(1 for r in results if r["error"]),
    }
    report = {
        "ai_no": ai["ai_no"],
        "ai_name": ai["name"],
        "uses": ai["uses"],
        "summary": summary,
        "files": results,
    }
    out.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    with open(out.with_suffix(".csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "path",
                "voice_no",
                "title",
                "score",
                "query_start_s",
                "duration_s",
                "decisions",
                "contract_covers",
                "covered",
                "problems",
                "error",
            ]
        )
        for r in results:
            for m in r["matches"] or [{}]:
                writer.writerow(
                    [
                        r["path"],
                        m.get("voice_no", ""),
                        m.get("title", ""),
                        m.get("score", ""),
                        m.get("query_start_s", ""),
                        m.get("duration_s", ""),
                        json.dumps(m.get("decisions", {}), ensure_ascii=False),
                        " ".join(m.get("contract_covers", [])),
                        m.get("covered", r["covered"]),
                        "; ".join(m.get("problems", [])),
                        r["error"] or "",
                    ]
                )
    return report
