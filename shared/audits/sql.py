"""The audit's one SQL text, for DuckDB (local stack, tests) and Athena (Trino) alike.

The join is read once (``pairs`` feeds only ``bins``; the other aggregates read ``bins``). It
joins the dataset's query hashes (every speed/tempo hypothesis, as the matcher hashes a
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
), registry_rows AS (
  SELECT voice_no, hash, t FROM {registry}
), voices AS (  -- integer keys: grouping millions of chance pairs by a string costs far more
  SELECT voice_no, row_number() OVER (ORDER BY voice_no) AS voice
  FROM (SELECT DISTINCT voice_no FROM registry_rows) names
), registry AS (
  SELECT v.voice, r.hash, r.t FROM registry_rows r JOIN voices v ON v.voice_no = r.voice_no
), pairs AS (
  SELECT d.file_id, d.hyp, r.voice, d.frame AS qt, r.t AS vt, d.span,
         CAST(floor(CAST(r.t - d.frame AS DOUBLE) / {offset_bin}) AS BIGINT) AS bin
  FROM dataset d JOIN registry r ON r.hash = d.hash
), bins AS (
  SELECT file_id, hyp, voice, bin, count(*) AS votes, min(qt) AS q_min, max(qt) AS q_max,
         max(span) AS span, max(vt) AS vt_max
  FROM pairs GROUP BY file_id, hyp, voice, bin
), file_voices AS (
  SELECT file_id, count(DISTINCT voice) AS voices_hit FROM bins GROUP BY file_id
), extents AS (
  SELECT file_id, voice, max(vt_max) AS extent FROM bins GROUP BY file_id, voice
), candidates AS (  -- two neighbouring bins reach min_votes only if one holds half of it
  SELECT DISTINCT file_id, hyp, voice FROM bins WHERE votes >= {half_votes}
), merged AS (
  SELECT b.*,
         b.votes + CASE
           WHEN lead(b.bin) OVER (PARTITION BY b.file_id, b.hyp, b.voice ORDER BY b.bin)
                = b.bin + 1
           THEN lead(b.votes) OVER (PARTITION BY b.file_id, b.hyp, b.voice ORDER BY b.bin)
           ELSE 0 END AS merged
  FROM bins b
  JOIN candidates c ON c.file_id = b.file_id AND c.hyp = b.hyp AND c.voice = b.voice
), groups AS (
  SELECT file_id, hyp, voice, sum(votes) AS pairs, max(merged) AS best
  FROM merged GROUP BY file_id, hyp, voice
)
SELECT m.file_id, m.hyp, n.voice_no, m.bin, m.votes, m.q_min, m.q_max, m.span,
       g.pairs, e.extent, f.voices_hit
FROM merged m
JOIN groups g ON g.file_id = m.file_id AND g.hyp = m.hyp AND g.voice = m.voice
JOIN extents e ON e.file_id = m.file_id AND e.voice = m.voice
JOIN file_voices f ON f.file_id = m.file_id
JOIN voices n ON n.voice = m.voice
WHERE g.best >= {min_votes}
ORDER BY m.file_id, n.voice_no, m.hyp, m.bin
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
        dataset=dataset,
        registry=registry,
        offset_bin=OFFSET_BIN,
        min_votes=MIN_VOTES,
        half_votes=-(-MIN_VOTES // 2),
    )
