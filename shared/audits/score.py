"""From the SQL's best offset bins to matches: the trace matcher's own decision
(``keyed_match.judge``) per (file, voice, tempo factor), and per (file, voice) the accepted
factor with the most votes (the first on a tie), as ``keyed_match.match`` keeps it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import numpy as np

from shared.audio.keyed_match import TEMPOS, Evidence, judge
from shared.audio.match import Match
from shared.audits.sql import BACKGROUND

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

    @classmethod
    def of(cls, file_id: int, m: Match) -> FileMatch:
        return cls(
            file_id=file_id,
            voice_no=m.voice_id,
            votes=m.votes,
            p_value=m.p_value,
            query_start_s=m.query_start_s,
            voice_start_s=m.voice_start_s,
            duration_s=m.duration_s,
            speed=m.speed,
            tempo=m.tempo,
        )

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


def _candidate(rows: Sequence[Row]) -> Match | None:
    """One (file, voice, tempo) best bin judged as the trace matcher judges it."""
    first = rows[0]
    evidence = Evidence(
        votes=int(first["votes"]),
        others=np.array([first[b] for b in BACKGROUND if first[b] is not None], np.int64),
        pairs=int(first["pairs"]),
        extent=int(first["extent"]),
        query_frames=int(first["span"]),
        voices=int(first["voices_hit"]),
        tempo=TEMPOS[int(first["tempo_id"])],
    )
    t_query = np.array([r["qt"] for r in rows], np.float64)
    t_reg = np.array([r["vt"] for r in rows], np.float64)
    return judge(str(first["voice_no"]), evidence, lambda: (t_query, t_reg))


def _best(rows: Iterable[Row]) -> Match | None:
    """One (file, voice)'s rows → its accepted tempo factor with the most votes, if any."""
    best: Match | None = None
    for _, per_tempo in groupby(rows, key=lambda r: r["tempo_id"]):
        candidate = _candidate(list(per_tempo))
        if candidate and (best is None or candidate.votes > best.votes):
            best = candidate
    return best


@dataclass
class Scored:
    """What scoring a result (or a range of it) found: its matches and how many rows it read."""

    matches: list[FileMatch]
    rows: int


def scored(rows: Iterable[Row]) -> Scored:
    """Rows ordered by (file_id, voice_no, tempo_id), as the SQL returns them → one match per
    (file, voice), and the rows read."""
    found: list[FileMatch] = []
    count = 0
    for (file_id, _), group in groupby(rows, key=lambda r: (r["file_id"], r["voice_no"])):
        per_voice = list(group)
        count += len(per_voice)
        if (best := _best(per_voice)) is not None:
            found.append(FileMatch.of(int(file_id), best))
    return Scored(found, count)


def matches(rows: Iterable[Row]) -> list[FileMatch]:
    """Rows ordered by (file_id, voice_no, tempo_id), as the SQL returns them → one match per
    (file, voice)."""
    return scored(rows).matches
