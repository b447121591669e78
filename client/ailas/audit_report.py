"""The audit's report, per file and per voice found: where in the file, which performers,
covered or not and why. Files that could not be fingerprinted are listed as such — never as
covered. Written as JSON, CSV and a self-contained HTML page."""

from __future__ import annotations

import csv
import html
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailas.dataset import DatasetFile, Fingerprinted

STATUSES = ("covered", "not_covered", "no_match", "unreadable", "too_short")


def _voice_entry(match: dict[str, Any], verdict: dict[str, Any]) -> dict[str, Any]:
    return {
        "voice_no": match["voice_no"],
        "title": verdict.get("title"),
        "performers": [p["name"] for p in verdict.get("performers", []) if p.get("name")],
        "from_s": match["query_start_s"],
        "to_s": round(match["query_start_s"] + match["duration_s"], 2),
        "voice_from_s": match["voice_start_s"],
        "score": match["score"],
        "covered": bool(verdict.get("covered")),
        "why": [_reason(p) for p in verdict.get("problems", [])] or _covered_because(verdict),
    }


def _covered_because(verdict: dict[str, Any]) -> list[str]:
    notices = [_reason(p) for p in verdict.get("notices", [])]
    return notices or ["the performers' intents and the contracts cover every use"]


def _reason(problem: dict[str, Any]) -> str:
    who = problem.get("performer_name") or problem.get("performer_id") or ""
    use = "" if problem.get("use") == "*" else f"{problem.get('use')}: "
    return f"{use}{problem.get('message_en', problem.get('reason'))}" + (f" ({who})" if who else "")


def _file_entry(row: DatasetFile, voices: list[dict[str, Any]]) -> dict[str, Any]:
    if row.status != "fingerprinted":
        status = row.status
    elif not voices:
        status = "no_match"
    else:
        status = "covered" if all(v["covered"] for v in voices) else "not_covered"
    return {
        # a name that is not UTF-8 (a file from another system) shown with U+FFFD, as `ls` would
        "path": os.fsencode(row.path).decode("utf-8", "replace"),
        "status": status,
        "covered": status in ("covered", "no_match"),
        "duration_s": row.duration_s,
        "error": row.error,
        "voices": voices,
    }


def build(ai: dict[str, Any], found: Fingerprinted, document: dict[str, Any]) -> dict[str, Any]:
    """The report: ``found`` is the fingerprinted dataset (file_id = index among the usable
    files), ``document`` the registry's result (matches and verdicts per voice)."""
    ids = {id(row): i for i, row in enumerate(found.usable)}
    per_file: dict[int, list[dict[str, Any]]] = {}
    for match in document.get("matches", []):
        verdict = document.get("voices", {}).get(match["voice_no"], {})
        per_file.setdefault(match["file_id"], []).append(_voice_entry(match, verdict))
    files = [_file_entry(row, per_file.get(ids.get(id(row), -1), [])) for row in found.files]
    summary = {"files": len(files), **{s: sum(f["status"] == s for f in files) for s in STATUSES}}
    return {
        "ai_no": ai["ai_no"],
        "ai_name": ai["name"],
        "uses": ai.get("uses"),
        "summary": summary,
        "registry": document.get("summary"),
        "files": files,
    }


def summary_line(report: dict[str, Any]) -> str:
    s = report["summary"]
    return (
        f"{s['files']} files: {s['covered'] + s['not_covered']} contain registered voices "
        f"({s['covered']} covered, {s['not_covered']} NOT covered), {s['no_match']} no registered "
        f"voice, {s['unreadable']} unreadable, {s['too_short']} too short or not speech"
    )


def write_csv(report: dict[str, Any], path: Path) -> None:
    header = [
        "path",
        "status",
        "covered",
        "voice_no",
        "title",
        "performers",
        "from_s",
        "to_s",
        "score",
        "voice_covered",
        "why",
        "error",
    ]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for f in report["files"]:
            error = f"{f['error']['code']}: {f['error']['message']}" if f["error"] else ""
            for v in f["voices"] or [{}]:
                writer.writerow(
                    [
                        f["path"],
                        f["status"],
                        f["covered"],
                        v.get("voice_no", ""),
                        v.get("title", ""),
                        "; ".join(v.get("performers", [])),
                        v.get("from_s", ""),
                        v.get("to_s", ""),
                        v.get("score", ""),
                        v.get("covered", ""),
                        "; ".join(v.get("why", [])),
                        error,
                    ]
                )


def _html_rows(f: dict[str, Any]) -> str:
    e = html.escape
    if not f["voices"]:
        note = f"{f['error']['code']}: {f['error']['message']}" if f["error"] else ""
        return (
            f"<tr class={f['status']}><td>{e(f['path'])}</td><td>{f['status']}</td>"
            f"<td colspan=4>{e(note)}</td></tr>"
        )
    return "".join(
        f"<tr class={f['status']}><td>{e(f['path'])}</td><td>{f['status']}</td>"
        f"<td>{e(v['voice_no'])} {e(v['title'] or '')}</td><td>{e(', '.join(v['performers']))}</td>"
        f"<td>{v['from_s']:.1f}–{v['to_s']:.1f} s</td>"
        f"<td>{'covered' if v['covered'] else 'NOT covered'}: {e('; '.join(v['why']))}</td></tr>"
        for v in f["voices"]
    )


def write_html(report: dict[str, Any], path: Path) -> None:
    rows = "".join(_html_rows(f) for f in report["files"])
    title = f"Dataset audit for {report['ai_no']} {report['ai_name']}"
    path.write_text(
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px}"
        "table{border-collapse:collapse}.not_covered,.unreadable,.too_short{background:#fdd}"
        f"</style><h1>{html.escape(title)}</h1><p>{html.escape(summary_line(report))}</p>"
        "<table><tr><th>file</th><th>status</th><th>voice</th><th>performers</th>"
        f"<th>where in the file</th><th>verdict and why</th></tr>{rows}</table></html>",
        encoding="utf-8",
    )


def write_all(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    write_csv(report, out.with_suffix(".csv"))
    write_html(report, out.with_suffix(".html"))
