"""The audit's one SQL text, for DuckDB (local stack, tests) and Athena (Trino) alike.

It is keyed_match's vote, per dataset file instead of per 5 s query. The dataset's rows are a
file's distinct (probe key, anchor frame) pairs (what a trace looks up), the registry's the
export's distinct (key, anchor frame) postings per voice; keys holding ``cap`` postings or
more are left out, as the index stop-lists them. Then:

- one vote per distinct (file, voice, query anchor, registered anchor) sharing a key;
- per voice: its votes in all and its latest registered anchor; per file: the voices voted for;
- under every tempo factor s of ``TEMPOS`` (a VALUES list, cross-joined after the votes are
  made distinct): offset bin = floor((t_reg − s·t_query) / OFFSET_BIN), in doubles as numpy
  computes it; each bin merged with the next one;
- per (file, voice, tempo) whose best merged bin reaches MIN_VOTES: that bin (the lowest on a
  tie, as numpy's argmax), the BACKGROUND_BINS largest merged counts of the other bins save
  its two neighbours in bin order, and the votes of the best bin pair.

Only those rows leave the database; the decision is keyed_match.judge in Python (score.py), the
same function a trace calls. Sources are filled in per engine (``render``)."""

from __future__ import annotations

from shared.audio.keyed_match import BACKGROUND_BINS, MIN_VOTES, OFFSET_BIN, TEMPOS
from shared.fingerprint_index import CAP

AUDIT_SQL = """
WITH dataset AS (
  SELECT file_id, hash, frame, span FROM {dataset}
), registry_rows AS (
  SELECT voice_no, hash, t FROM {registry}
), stopped AS (  -- keys the index stop-lists: too common to be evidence
  SELECT hash FROM registry_rows GROUP BY hash HAVING count(*) >= {cap}
), voices AS (  -- integer keys: grouping millions of chance votes by a string costs far more
  SELECT voice_no, row_number() OVER (ORDER BY voice_no) AS voice
  FROM (SELECT DISTINCT voice_no FROM registry_rows) names
), registry AS (
  SELECT v.voice, r.hash, r.t
  FROM registry_rows r
  JOIN voices v ON v.voice_no = r.voice_no
  LEFT JOIN stopped s ON s.hash = r.hash
  WHERE s.hash IS NULL
), hits AS (
  SELECT DISTINCT d.file_id, r.voice, d.frame AS qt, r.t AS vt
  FROM dataset d JOIN registry r ON r.hash = d.hash
), totals AS (
  SELECT file_id, voice, count(*) AS pairs, max(vt) AS extent
  FROM hits GROUP BY file_id, voice
), file_voices AS (
  SELECT file_id, count(*) AS voices_hit FROM totals GROUP BY file_id
), spans AS (
  SELECT file_id, max(span) AS span FROM dataset GROUP BY file_id
), live AS (  -- fewer votes than MIN_VOTES in all cannot make a bin of MIN_VOTES
  SELECT h.file_id, h.voice, h.qt, h.vt
  FROM hits h
  JOIN totals t ON t.file_id = h.file_id AND t.voice = h.voice
  WHERE t.pairs >= {min_votes}
), tempos AS (
  SELECT * FROM (VALUES {tempos}) AS k (tempo_id, tempo)
), bins AS (
  SELECT l.file_id, l.voice, k.tempo_id, {bin} AS bin, count(*) AS votes
  FROM live l CROSS JOIN tempos k
  GROUP BY l.file_id, l.voice, k.tempo_id, {bin}
), candidates AS (  -- two neighbouring bins reach MIN_VOTES only if one holds half of it
  SELECT DISTINCT file_id, voice, tempo_id FROM bins WHERE votes >= {half_votes}
), merged AS (
  SELECT b.file_id, b.voice, b.tempo_id, b.bin,
         b.votes + CASE
           WHEN lead(b.bin) OVER (PARTITION BY b.file_id, b.voice, b.tempo_id ORDER BY b.bin)
                = b.bin + 1
           THEN lead(b.votes) OVER (PARTITION BY b.file_id, b.voice, b.tempo_id ORDER BY b.bin)
           ELSE 0 END AS merged,
         row_number() OVER (PARTITION BY b.file_id, b.voice, b.tempo_id ORDER BY b.bin) AS pos
  FROM bins b
  JOIN candidates c
    ON c.file_id = b.file_id AND c.voice = b.voice AND c.tempo_id = b.tempo_id
), ranked AS (
  SELECT m.*, row_number() OVER (
           PARTITION BY m.file_id, m.voice, m.tempo_id ORDER BY m.merged DESC, m.bin) AS place
  FROM merged m
), tops AS (
  SELECT file_id, voice, tempo_id, bin, pos, merged FROM ranked
  WHERE place = 1 AND merged >= {min_votes}
), others AS (
  SELECT m.file_id, m.voice, m.tempo_id, m.merged, row_number() OVER (
           PARTITION BY m.file_id, m.voice, m.tempo_id ORDER BY m.merged DESC) AS place
  FROM merged m
  JOIN tops t ON t.file_id = m.file_id AND t.voice = m.voice AND t.tempo_id = m.tempo_id
  WHERE abs(m.pos - t.pos) > 1
), background AS (
  SELECT file_id, voice, tempo_id, {background}
  FROM others WHERE place <= {background_bins} GROUP BY file_id, voice, tempo_id
), best AS (  -- the votes of the best bin pair, binned again for the few groups that reach it
  SELECT t.file_id, t.voice, t.tempo_id, l.qt, l.vt
  FROM tops t
  JOIN tempos k ON k.tempo_id = t.tempo_id
  JOIN live l ON l.file_id = t.file_id AND l.voice = t.voice
  WHERE {bin} IN (t.bin, t.bin + 1)
)
SELECT t.file_id, n.voice_no, t.tempo_id, t.merged AS votes, o.pairs, o.extent, s.span,
       f.voices_hit, {background_columns}, b.qt, b.vt
FROM tops t
JOIN best b ON b.file_id = t.file_id AND b.voice = t.voice AND b.tempo_id = t.tempo_id
JOIN totals o ON o.file_id = t.file_id AND o.voice = t.voice
JOIN spans s ON s.file_id = t.file_id
JOIN file_voices f ON f.file_id = t.file_id
JOIN voices n ON n.voice = t.voice
LEFT JOIN background g
  ON g.file_id = t.file_id AND g.voice = t.voice AND g.tempo_id = t.tempo_id
ORDER BY t.file_id, n.voice_no, t.tempo_id, b.qt, b.vt
"""

BACKGROUND = tuple(f"b{i}" for i in range(1, BACKGROUND_BINS + 1))
COLUMNS = (
    "file_id",
    "voice_no",
    "tempo_id",
    "votes",
    "pairs",
    "extent",
    "span",
    "voices_hit",
    *BACKGROUND,
    "qt",
    "vt",
)


def render(dataset: str, registry: str) -> str:
    """The audit SQL over two row sources (a table name, or ``read_parquet(...)``)."""
    tempos = ", ".join(f"({i}, CAST({s!r} AS DOUBLE))" for i, s in enumerate(TEMPOS))
    return AUDIT_SQL.format(
        bin=f"CAST(floor((CAST(l.vt AS DOUBLE) - k.tempo * CAST(l.qt AS DOUBLE)) / {OFFSET_BIN})"
        " AS BIGINT)",
        dataset=dataset,
        registry=registry,
        cap=CAP,
        tempos=tempos,
        min_votes=MIN_VOTES,
        half_votes=-(-MIN_VOTES // 2),
        background_bins=BACKGROUND_BINS,
        background=", ".join(
            f"max(CASE WHEN place = {i + 1} THEN merged END) AS {name}"
            for i, name in enumerate(BACKGROUND)
        ),
        background_columns=", ".join(f"g.{name}" for name in BACKGROUND),
    )
