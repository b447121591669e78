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

from ailas.formats.uses import USES

if TYPE_CHECKING:
    from ailas.dataset import DatasetFile, Fingerprinted

COMMERCIAL = {"commercial": ("商用利用", "commercial use")}  # a problem's use beside USES
STATUSES = ("covered", "not_covered", "no_match", "unreadable", "too_short")
# The HTML page is read by people who decide about the data, in Japanese first: each status
# in words, and what to do about it.
STATUS_NAMES = {
    "covered": ("利用できる（同意・契約あり）", "covered by consent or contracts"),
    "not_covered": ("利用できない（同意・契約が足りない）", "NOT covered"),
    "no_match": ("登録された声なし", "no registered voice"),
    "unreadable": ("読めないファイル", "unreadable"),
    "too_short": ("短すぎる・声がない", "too short or not speech"),
}
NEXT_STEPS = {
    "covered": ("対応不要です。", "Nothing to do."),
    "not_covered": (
        "この声を使うには、権利者との契約を申告して確認を受けるか、演者の意思表示が変わるまで"
        "このファイルを学習データから外してください。",
        "To use this voice, file a contract with its rights holder and have it confirmed, or "
        "leave this file out of the training data.",
    ),
    "no_match": ("対応不要です。", "Nothing to do."),
    "unreadable": (
        "ファイルを確認し、WAV・FLAC・MP3・OGG にしてから監査し直してください。",
        "Check the file, make it WAV, FLAC, MP3 or OGG, and audit it again.",
    ),
    "too_short": (
        "確認できる長さの声がありません。声が入っているはずなら、ファイルを確認してください。",
        "Too little speech to check; if it should hold a voice, check the file.",
    ),
}


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
        "why": _why(verdict, "en"),
        "why_ja": _why(verdict, "ja"),
    }


def _why(verdict: dict[str, Any], lang: str) -> list[str]:
    """The problems that block the voice, or (covered) the notices, in ``lang``."""
    names = {p["performer_id"]: p["name"] for p in verdict.get("performers", []) if p.get("name")}
    reasons = [_reason(p, names, lang) for p in verdict.get("problems", [])]
    if reasons:
        return reasons
    notices = [_reason(p, names, lang) for p in verdict.get("notices", [])]
    if lang == "ja":
        return notices or ["演者の意思表示と契約が、すべての利用を認めています。"]
    return notices or ["the performers' intents and the contracts cover every use"]


def _reason(problem: dict[str, Any], names: dict[str, str], lang: str) -> str:
    """One problem in words: the use, the rule's sentence, the performer by name."""
    performer_id = problem.get("performer_id")
    who = problem.get("performer_name") or names.get(performer_id or "") or performer_id or ""
    code = problem.get("use")
    # English keeps the use's code (as the JSON and CSV always gave it); Japanese names it
    named = code if lang == "en" else {**USES, **COMMERCIAL}.get(code or "", (code, code))[0]
    use = "" if code in (None, "*") else f"{named}: "
    message = problem.get(f"message_{lang}") or problem.get("reason")
    return f"{use}{message}" + (f" ({who})" if who else "")


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


def summary_line_ja(report: dict[str, Any]) -> str:
    s = report["summary"]
    return (
        f"{s['files']} ファイル: 登録された声を含む {s['covered'] + s['not_covered']}（利用できる "
        f"{s['covered']}、利用できない {s['not_covered']}）、登録された声なし {s['no_match']}、"
        f"読めない {s['unreadable']}、短すぎる・声がない {s['too_short']}"
    )


def summary_line(report: dict[str, Any]) -> str:
    s = report["summary"]
    found = s["covered"] + s["not_covered"]
    return (
        f"{s['files']} file{'' if s['files'] == 1 else 's'}: {found} "
        f"contain{'s' if found == 1 else ''} registered voices "
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
                    _cell(value)
                    for value in [
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


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR at its start)
    is quoted: titles and names are other members' words (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _status_cell(status: str) -> str:
    ja, en = STATUS_NAMES[status]
    return f"<td><strong>{ja}</strong><br><small>{en}</small></td>"


def _next_cell(status: str) -> str:
    ja, en = NEXT_STEPS[status]
    return f"<td>{ja}<br><small>{en}</small></td>"


def _html_rows(f: dict[str, Any]) -> str:
    e = html.escape
    first = f"<tr class={f['status']}><td>{e(f['path'])}</td>{_status_cell(f['status'])}"
    if not f["voices"]:
        note = f"{f['error']['code']}: {f['error']['message']}" if f["error"] else ""
        return f"{first}<td colspan=4>{e(note)}</td>{_next_cell(f['status'])}</tr>"
    rows = []
    for v in f["voices"]:
        state = "covered" if v["covered"] else "not_covered"
        pairs = zip(v["why_ja"], v["why"], strict=True)
        why = "".join(f"<li>{e(ja)}<br><small>{e(en)}</small>" for ja, en in pairs)
        rows.append(
            f"{first}<td>{e(v['title'] or '')}<br><small>{e(v['voice_no'])}</small></td>"
            f"<td>{e('、'.join(v['performers']))}</td>"
            f"<td>{v['from_s']:.1f}–{v['to_s']:.1f} 秒</td><td><ul>{why}</ul></td>"
            f"{_next_cell(state)}</tr>"
        )
    return "".join(rows)


HEADERS = (
    ("ファイル", "file"),
    ("判定", "verdict"),
    ("登録された声", "registered voice"),
    ("演者", "performers"),
    ("ファイル内の位置", "where in the file"),
    ("理由", "why"),
    ("次にすること", "what to do"),
)


def write_html(report: dict[str, Any], path: Path) -> None:
    e = html.escape
    rows = "".join(_html_rows(f) for f in report["files"])
    title = f"データセット監査 Dataset audit: {report['ai_name']} ({report['ai_no']})"
    head = "".join(f"<th>{ja}<br><small>{en}</small></th>" for ja, en in HEADERS)
    path.write_text(
        f"<!doctype html><html lang=ja><meta charset=utf-8><title>{e(title)}</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;"
        "vertical-align:top}table{border-collapse:collapse}ul{margin:0;padding-left:1.2em}"
        "small{color:#555}.not_covered,.unreadable,.too_short{background:#fdd}</style>"
        f"<h1>{e(title)}</h1><p>{e(summary_line_ja(report))}<br>"
        f"<small>{e(summary_line(report))}</small></p><table><tr>{head}</tr>{rows}</table></html>",
        encoding="utf-8",
    )


def write_all(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    write_csv(report, out.with_suffix(".csv"))
    write_html(report, out.with_suffix(".html"))
