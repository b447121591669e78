"""From the SQL's offset histograms to matches: the matcher's own decision (``judge``) per
(file, voice, hypothesis), the best hypothesis per (file, voice) kept, as a trace keeps it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import numpy as np

from shared.audio.fingerprint import HOP_S
from shared.audio.match import HYPOTHESES, MIN_SPAN_S, OFFSET_BIN, judge

Row = dict[str, Any]


@dataclass
class FileMatch:
    file_id: int
    voice_no: str
    votes: int
    p_value: float
    query_start_s: float
    voice_start_s: float
    duration_s: float
    speed: float
    tempo: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "voice_no": self.voice_no,
            "votes": self.votes,
            "score": round(1.0 - self.p_value, 6),
            "query_start_s": round(self.query_start_s, 2),
            "voice_start_s": round(self.voice_start_s, 2),
            "duration_s": round(self.duration_s, 2),
            "speed": self.speed,
            "tempo": self.tempo,
        }


def _candidate(rows: Sequence[Row]) -> FileMatch | None:
    """One (file, hypothesis, voice) histogram judged as the matcher judges it."""
    first = rows[0]
    bins = np.array([r["bin"] for r in rows], dtype=np.int64)
    counts = np.array([r["votes"] for r in rows], dtype=np.int64)
    trials = len(HYPOTHESES) * max(1, int(first["voices_hit"]))
    judged = judge(
        bins, counts, int(first["pairs"]), int(first["extent"]), int(first["span"]), trials
    )
    if judged is None:
        return None
    top, votes, p_value = judged
    near = [r for r in rows if r["bin"] in (bins[top], bins[top] + 1)]
    freq_scale, time_scale = HYPOTHESES[int(first["hyp"])]
    q_first = float(min(r["q_min"] for r in near))
    start_q = q_first / time_scale
    end_q = float(max(r["q_max"] for r in near)) / time_scale
    if (end_q - start_q) * HOP_S < MIN_SPAN_S:
        return None  # hits packed into one syllable are chance, not the same recording
    return FileMatch(
        file_id=int(first["file_id"]),
        voice_no=str(first["voice_no"]),
        votes=votes,
        p_value=p_value,
        query_start_s=start_q * HOP_S,
        voice_start_s=(q_first + int(bins[top]) * OFFSET_BIN) * HOP_S,
        duration_s=max(0.0, end_q - start_q) * HOP_S,
        speed=1 / freq_scale if freq_scale != 1.0 else 1.0,
        tempo=time_scale if freq_scale == 1.0 else time_scale * freq_scale,
    )


def matches(rows: Iterable[Row]) -> list[FileMatch]:
    """Rows ordered by (file_id, voice_no, hyp, bin), as the SQL returns them → one match per
    (file, voice): the hypothesis with the most votes (the first on a tie, as the matcher)."""
    found: list[FileMatch] = []
    for _, per_voice in groupby(rows, key=lambda r: (r["file_id"], r["voice_no"])):
        best: FileMatch | None = None
        for _, per_hyp in groupby(per_voice, key=lambda r: r["hyp"]):
            candidate = _candidate(list(per_hyp))
            if candidate and (best is None or candidate.votes > best.votes):
                best = candidate
        if best is not None:
            found.append(best)
    return found
