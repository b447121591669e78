"""`ailas audit`'s local side on awkward datasets: audio the registry cannot decode is audited
as unreadable (never skipped, so a dataset holding it is never reported clean), and a file
name that is not UTF-8 neither stops the audit nor breaks its resumable cache or its report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import soundfile as sf

from ailas import audit_report, dataset
from tests.unit.audio.speechlike import speechlike


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "dataset"
    root.mkdir()
    speech = speechlike(6, 16000, seed=8)
    sf.write(root / "take1.wav", speech, 16000)
    sf.write(root / "take2.aiff", speech, 16000)  # libsndfile writes it; the registry refuses it
    latin1 = os.fsencode(root) + b"/caf\xe9.wav"  # a name from a Latin-1 system: not UTF-8
    with open(latin1, "wb") as handle:
        sf.write(handle, speech, 16000, format="WAV")
    (root / "notes.txt").write_text("not audio")
    return root


def test_audio_the_registry_cannot_decode_is_listed_and_unreadable(folder: Path) -> None:
    files = dataset.audio_files(folder)
    assert sorted(p.suffix for p in files) == [".aiff", ".wav", ".wav"]
    done = dataset.fingerprint_dataset(files, folder.parent / "work", workers=1, quiet=True)
    status = {Path(f.path).name: f for f in done.files}
    assert status["take2.aiff"].status == "unreadable"
    assert status["take2.aiff"].error is not None
    assert status["take2.aiff"].error["code"] == "unsupported_format"
    assert status["take1.wav"].status == "fingerprinted"


def test_a_name_that_is_not_utf8_is_audited_resumed_and_reported(folder: Path) -> None:
    files = dataset.audio_files(folder)
    work = folder.parent / "work"
    first = dataset.fingerprint_dataset(files, work, workers=1, quiet=True)
    odd = next(f for f in first.files if os.fsencode(f.path).endswith(b"caf\xe9.wav"))
    assert odd.status == "fingerprinted"
    # the resumable cache reads back the same file, so it is not fingerprinted again
    again = dataset.fingerprint_dataset(files, work, workers=1, quiet=True)
    assert [f.identity for f in again.files] == [f.identity for f in first.files]
    log = (dataset.cache_folder(work) / "files.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(log) == len(files)
    entry = audit_report._file_entry(odd, [])
    assert entry["path"].endswith("caf\ufffd.wav")
    json.dumps(entry, ensure_ascii=False).encode("utf-8")  # what audit.json is written with


@pytest.mark.parametrize(
    ("files", "covered", "not_covered", "said"),
    [
        (1, 0, 1, "1 file: 1 contains registered voices (0 covered, 1 NOT covered)"),
        (3, 1, 1, "3 files: 2 contain registered voices (1 covered, 1 NOT covered)"),
        (0, 0, 0, "0 files: 0 contain registered voices"),
    ],
)
def test_the_summary_line_says_one_file_and_many_files(
    files: int, covered: int, not_covered: int, said: str
) -> None:
    counts = {"no_match": 0, "unreadable": 0, "too_short": 0}
    summary = {"files": files, "covered": covered, "not_covered": not_covered, **counts}
    assert audit_report.summary_line({"summary": summary}).startswith(said)


def test_the_csv_quotes_cells_a_spreadsheet_would_run_as_formulas(tmp_path: Path) -> None:
    import csv

    voice = {"voice_no": "V-1", "title": '=HYPERLINK("https://evil.example/","verify")',
             "performers": ["@SUM(A1)", "声優 花子"], "from_s": 1.5, "to_s": 6.0, "score": 1.0,
             "covered": False, "why": ["-not covered"]}  # fmt: skip
    report = {"files": [{"path": "a.wav", "status": "not_covered", "covered": False,
                         "voices": [voice], "error": None}]}  # fmt: skip
    audit_report.write_csv(report, tmp_path / "audit.csv")
    with open(tmp_path / "audit.csv", encoding="utf-8") as handle:
        (_, row) = list(csv.reader(handle))
    assert row[4] == '\'=HYPERLINK("https://evil.example/","verify")'
    assert row[5] == "'@SUM(A1); 声優 花子" and row[10] == "'-not covered"
    assert row[6] == "1.5" and row[0] == "a.wav"


def test_cli_counts_read_as_sentences() -> None:
    from ailas.cli import counted

    assert (
        counted(1, "entry", "entries") == "1 entry"
        and counted(57, "entry", "entries") == "57 entries"
    )
    assert counted(1, "signed checkpoint") == "1 signed checkpoint"
    assert counted(0, "problem") == "0 problems"
