"""The audit's one SQL text, for DuckDB (local stack, tests) and Athena (Trino) alike.

It joins the dataset's query hashes (every speed/tempo hypothesis, as the matcher hashes a
query) with the registry export on the hash and builds the matcher's offset histogram: per
(file, hypothesis, voice) the non-empty offset bins with their votes and the query times they
span. Only groups whose best pair of neighbouring bins reaches ``min_votes`` come back; the
decision itself (chance rate, p-value, span) is the matcher's own ``judge`` in Python, so the
audit and a trace decide alike. Sources are filled in per engine (``render``)."""

from __future__ import annotations

from shared.audio.match import MIN_VOTES, OFFSET_BIN

AUDIT_SQL = """
WITH dataset AS (
  SELECT file_id, hyp, hash, frame, span FROM {dataset}
), registry AS (
  SELECT voice_no, hash, t FROM {registry}
), pairs AS (
  SELECT d.file_id, d.hyp, r.voice_no, d.frame AS qt, r.t AS vt, d.span,
         CAST(floor(CAST(r.t - d.frame AS DOUBLE) / {offset_bin}) AS BIGINT) AS bin
  FROM dataset d JOIN registry r ON r.hash = d.hash
), file_voices AS (
  SELECT file_id, count(DISTINCT voice_no) AS voices_hit FROM pairs GROUP BY file_id
), extents AS (
  SELECT file_id, voice_no, max(vt) AS extent FROM pairs GROUP BY file_id, voice_no
), bins AS (
  SELECT file_id, hyp, voice_no, bin, count(*) AS votes, min(qt) AS q_min, max(qt) AS q_max,
         max(span) AS span
  FROM pairs GROUP BY file_id, hyp, voice_no, bin
), merged AS (
  SELECT b.*,
         votes + CASE WHEN lead(bin) OVER (PARTITION BY file_id, hyp, voice_no ORDER BY bin)
                           = bin + 1
                      THEN lead(votes) OVER (PARTITION BY file_id, hyp, voice_no ORDER BY bin)
                      ELSE 0 END AS merged
  FROM bins b
), groups AS (
  SELECT file_id, hyp, voice_no, sum(votes) AS pairs, max(merged) AS best
  FROM merged GROUP BY file_id, hyp, voice_no
)
SELECT m.file_id, m.hyp, m.voice_no, m.bin, m.votes, m.q_min, m.q_max, m.span,
       g.pairs, e.extent, f.voices_hit
FROM merged m
JOIN groups g ON g.file_id = m.file_id AND g.hyp = m.hyp AND g.voice_no = m.voice_no
JOIN extents e ON e.file_id = m.file_id AND e.voice_no = m.voice_no
JOIN file_voices f ON f.file_id = m.file_id
WHERE g.best >= {min_votes}
ORDER BY m.file_id, m.voice_no, m.hyp, m.bin
"""

COLUMNS = (
    "file_id",
    "hyp",
    "voice_no",
    "bin",
    "votes",
    "q_min",
    "q_max",
    "span",
    "pairs",
    "extent",
    "voices_hit",
)


def render(dataset: str, registry: str) -> str:
    """The audit SQL over two row sources (a table name, or ``read_parquet(...)``)."""
    return AUDIT_SQL.format(
        dataset=dataset, registry=registry, offset_bin=OFFSET_BIN, min_votes=MIN_VOTES
    )
