"""The audit's one SQL text, for DuckDB (local stack, tests) and Athena (Trino) alike.

It is keyed_match's vote, per dataset file instead of per 5 s query. The dataset's rows are a
file's distinct (probe key, anchor frame) pairs (what a trace looks up), the registry's the
export's distinct (key, anchor frame) postings per voice; keys holding ``cap`` postings or
more are left out, as the index stop-lists them. Two stages, both exact:

1. One pass over the join's pairs (repeats included, so counts are upper bounds), each pair
   counted in its cell and the one before: a bin pair's votes under a factor s have
   t_reg − c·t_query within 2·OFFSET_BIN + |s − c|·span of each other for any c, so with c
   the centre of a fan of neighbouring factors they fall in two neighbouring cells of that
   width. The same pass
   gives per (file, voice) its latest registered anchor and per file the voices voted for.
   A (file, voice) none of whose cell pairs could pass keyed_match.judge even at judge's
   lowest chance rate (``hopeful``) is dropped: at catalogue scale chance votes are sparse
   and almost every pair of the join ends here (bench/audit_scale.py).
2. For the (file, voice) pairs left: one vote per distinct (query anchor, registered anchor),
   the voice's votes in all (judge's least rate), and under every tempo factor s of
   ``TEMPOS`` (a VALUES list joined after the votes are made distinct, so the join itself is
   not multiplied by 13): offset bin = floor((t_reg − s·t_query) / OFFSET_BIN), in doubles
   as numpy computes it; each bin merged with the next one. Only factors with a bin that
   could pass, and of those only a best merged bin that could pass (``hopeful`` at the
   least rate, as keyed_match._hopeful), go on; per (file, voice, tempo): that bin (the
   lowest on a tie, as numpy's argmax), the BACKGROUND_BINS largest merged counts of the
   other bins save its two neighbours among the non-empty bins, and the votes of the best
   bin pair.

Only those rows leave the database; the decision is keyed_match.judge in Python (score.py), the
same function a trace calls. Sources are filled in per engine: ``render`` as one statement
(DuckDB runs each WITH query once), ``stages`` as three whose first two are stored as tables
(Trino, hence Athena, runs a WITH query again at every reference; ``inlined_runs``)."""

from __future__ import annotations

import math
import re

from shared.audio.keyed_match import (
    BACKGROUND_BINS,
    FALSE_ALARM,
    LEAST_RATE,
    MIN_VOTES,
    OFFSET_BIN,
    TEMPOS,
)
from shared.fingerprint_index import CAP

FAN_SIZE = 13  # tempo factors per fan of the shortcut: one fan, one row per pair (README)
# slack on the log scale for the exact filters below (rounding only: they are bounds already)
MARGIN = 1e-3


def hopeful(k: str, rate: str = "rate", logc: str = "logc") -> str:
    """SQL: can ``k`` votes in one bin pair pass keyed_match.judge at all? judge's log p is
    log P[Poisson(r) ≥ k] + ``logc`` (its corrections for bins, tempo factors and voices) with r
    at least ``rate``, and the tail grows with r; it is at least log P[X = k] = k·ln r − r −
    ln k!, and Stirling's bound makes ln k! no smaller. So a k for which even that is not below
    log FALSE_ALARM (inside ``logc``) cannot pass, nor can any smaller k: an exact filter."""
    k = f"CAST({k} AS DOUBLE)"
    stirling = f"({k} * ln({k}) - {k} + 0.5 * ln(2 * pi() * {k}) + 1.0 / (12 * {k}))"
    return f"({k} * ln({rate}) - {rate} - {stirling} + {logc} < {MARGIN})"


# the sources and the join: shared by stage 1 and stage 2
HEAD = """
dataset AS (
  SELECT file_id, hash, frame, span FROM {dataset}
), registry AS (  -- without the keys the index stop-lists (too common to be evidence)
  SELECT voice_no, hash, t FROM (
    SELECT voice_no, hash, t, count(*) OVER (PARTITION BY hash) AS postings FROM {registry}
  ) r
  WHERE postings < {cap}
), pairs AS (  -- every (query anchor, registered anchor) meeting on a key, repeats and all
  SELECT d.file_id, r.voice_no, d.frame AS qt, r.t AS vt
  FROM dataset d JOIN registry r ON r.hash = d.hash
), spans AS (
  SELECT file_id, max(span) AS span FROM dataset GROUP BY file_id
)"""

# stage 1: one pass over the pairs, a chain (each step read once: Trino runs a WITH query
# again at every reference) → the (file, voice, fan) that could pass, with judge's inputs
STAGE1 = """, fans AS (  -- neighbouring tempo factors, sheared by their centre; reach: max |s − c|
  SELECT * FROM (VALUES {fans}) AS f (fan, centre, reach)
), cells AS (  -- each pair counted in its cell and the one before: a cell's n is its pair's
  SELECT h.file_id, h.voice_no, f.fan, s.span, {cell} - x.d AS cell, count(*) AS n,
         max(h.vt) AS extent
  FROM pairs h JOIN spans s ON s.file_id = h.file_id CROSS JOIN fans f
  CROSS JOIN (VALUES (0), (1)) AS x (d)
  GROUP BY h.file_id, h.voice_no, f.fan, s.span, {cell} - x.d
), tallies AS (  -- per (file, voice, fan): the fullest cell pair, the voice's latest anchor
  SELECT file_id, voice_no, fan, span, max(n) AS n2, max(extent) AS extent
  FROM cells GROUP BY file_id, voice_no, fan, span
), corrections AS (  -- judge's log corrections (bins, factors, voices) less log FALSE_ALARM
  SELECT file_id, voice_no, fan, span, n2, extent, voices_hit, extent + 2 * span AS frames,
         ln(greatest(1.0, (extent + 2 * span) / {width}))
           + ln({tempo_count} * greatest(1, voices_hit)) - ln({false_alarm}) AS logc
  FROM (
    SELECT t.*, max(voice_rank) OVER (PARTITION BY file_id) AS voices_hit FROM (
      SELECT t.*, dense_rank() OVER (PARTITION BY file_id ORDER BY voice_no) AS voice_rank
      FROM tallies t) t
  ) t
), live_fans AS (  -- numbered: one integer key per (file, voice)
  SELECT l.*, dense_rank() OVER (ORDER BY file_id, voice_no) AS g FROM (
    SELECT DISTINCT file_id, voice_no, fan, span, extent, voices_hit, frames, logc
    FROM corrections c WHERE c.n2 >= {min_votes} AND {hopeful_n2}
  ) l
)"""

# stage 2: one vote per distinct anchor pair, for the live (file, voice) only
STAGE2 = """, live_voices AS (
  SELECT DISTINCT g, file_id, voice_no FROM live_fans
), live AS (
  SELECT DISTINCT l.g, h.qt, h.vt
  FROM pairs h
  JOIN live_voices l ON l.file_id = h.file_id AND l.voice_no = h.voice_no
)"""

# stage 3: the tempo grid over the live votes (small: nothing here reads the sources)
STAGE3 = """, tempos AS (
  SELECT * FROM (VALUES {tempos}) AS k (tempo_id, tempo, fan)
), totals AS (  -- the voice's votes in all, and judge's least chance rate
  SELECT t.g, t.pairs,
         greatest(t.pairs * {width} / greatest(v.frames, {width}), {least_rate}) AS rate
  FROM (SELECT g, count(*) AS pairs FROM live GROUP BY g) t
  JOIN (SELECT DISTINCT g, frames FROM live_fans) v ON v.g = t.g
), factor_groups AS (  -- (file, voice, tempo factor) as one integer: cheaper to group by
  SELECT f.g * {tempo_count} + k.tempo_id AS gt, f.g, f.file_id, f.voice_no, k.tempo_id,
         k.tempo, o.rate, f.logc, o.pairs, f.extent, f.span, f.voices_hit
  FROM live_fans f
  JOIN totals o ON o.g = f.g
  JOIN tempos k ON k.fan = f.fan
), bins AS (  -- the tempo grid: nearly a group per row; INTEGER halves its key's width
  SELECT k.gt, {bin} AS bin, CAST(count(*) AS INTEGER) AS votes
  FROM live l JOIN factor_groups k ON k.g = l.g
  GROUP BY k.gt, {bin}
), candidates AS (  -- a bin pair holds at most twice its larger bin's votes
  SELECT DISTINCT b.gt FROM bins b JOIN factor_groups k ON k.gt = b.gt
  WHERE b.votes >= {half_votes} AND {hopeful_twice}
), candidate_bins AS (
  SELECT b.gt, b.bin, b.votes FROM bins b JOIN candidates c ON c.gt = b.gt
), merged AS (  -- each bin merged with the next one (a join: cheaper than a sort by bin)
  SELECT b.gt, b.bin, b.votes + coalesce(n.votes, 0) AS merged
  FROM candidate_bins b LEFT JOIN candidate_bins n ON n.gt = b.gt AND n.bin = b.bin + 1
), best_votes AS (  -- keyed_match._hopeful: the best bin pair passes at the least rate
  SELECT m.gt, max(m.merged) AS merged FROM merged m JOIN factor_groups k ON k.gt = m.gt
  GROUP BY m.gt, k.rate, k.logc HAVING max(m.merged) >= {min_votes} AND {hopeful_best}
), tops AS (  -- the best bin: the lowest of those holding the most votes, as numpy's argmax
  SELECT m.gt, min(m.bin) AS bin, max(m.merged) AS merged
  FROM merged m JOIN best_votes v ON v.gt = m.gt AND v.merged = m.merged
  GROUP BY m.gt
), neighbours AS (  -- the non-empty bins just before and after it (keyed_match: rows ± 1)
  SELECT t.gt, t.bin, coalesce(max(CASE WHEN m.bin < t.bin THEN m.bin END), t.bin) AS before,
         coalesce(min(CASE WHEN m.bin > t.bin THEN m.bin END), t.bin) AS after
  FROM merged m JOIN tops t ON t.gt = m.gt
  GROUP BY t.gt, t.bin
), others AS (
  SELECT m.gt, m.merged, row_number() OVER (PARTITION BY m.gt ORDER BY m.merged DESC) AS place
  FROM merged m JOIN neighbours n ON n.gt = m.gt
  WHERE m.bin < n.before OR m.bin > n.after
), background AS (
  SELECT gt, {background} FROM others WHERE place <= {background_bins} GROUP BY gt
), best AS (  -- the votes of the best bin pair, binned again for the few groups that reach it
  SELECT t.gt, l.qt, l.vt
  FROM tops t
  JOIN factor_groups k ON k.gt = t.gt
  JOIN live l ON l.g = k.g
  WHERE {bin} IN (t.bin, t.bin + 1)
)
SELECT k.file_id, k.voice_no, k.tempo_id, t.merged AS votes, k.pairs, k.extent, k.span,
       k.voices_hit, {background_columns}, b.qt, b.vt
FROM tops t
JOIN factor_groups k ON k.gt = t.gt
JOIN best b ON b.gt = t.gt
LEFT JOIN background g ON g.gt = t.gt
ORDER BY k.file_id, k.voice_no, k.tempo_id, b.qt, b.vt
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


def fans() -> list[tuple[int, float, float]]:
    """TEMPOS in runs of FAN_SIZE neighbouring factors: (fan, centre, reach), reach rounded up
    so that every factor of the fan lies within it of the centre."""
    out, size = [], FAN_SIZE
    for fan, start in enumerate(range(0, len(TEMPOS), size)):
        run = TEMPOS[start : start + size]
        centre = round((run[0] + run[-1]) / 2, 6)
        reach = math.ceil(max(abs(t - centre) for t in run) * 1e6 + 1) / 1e6
        out.append((fan, centre, reach))
    return out


def _fill(text: str, dataset: str = "", registry: str = "") -> str:
    tempos = ", ".join(
        f"({i}, CAST({s!r} AS DOUBLE), {i // FAN_SIZE})" for i, s in enumerate(TEMPOS)
    )
    fan_rows = ", ".join(
        f"({fan}, CAST({centre!r} AS DOUBLE), CAST({reach!r} AS DOUBLE))"
        for fan, centre, reach in fans()
    )
    # the cell width: a bin pair's votes spread by under 2·OFFSET_BIN + reach·span
    width = f"(CAST(ceil(s.span * f.reach) AS BIGINT) + {2 * OFFSET_BIN + 1})"
    return text.format(
        bin=f"CAST(floor((CAST(l.vt AS DOUBLE) - k.tempo * CAST(l.qt AS DOUBLE)) / {OFFSET_BIN})"
        " AS INTEGER)",  # frames of one voice and file: far inside INTEGER's range
        cell=f"CAST(floor((CAST(h.vt AS DOUBLE) - f.centre * CAST(h.qt AS DOUBLE)) / {width})"
        " AS BIGINT)",
        dataset=dataset,
        registry=registry,
        cap=CAP,
        tempos=tempos,
        fans=fan_rows,
        tempo_count=len(TEMPOS),
        width=f"CAST({2 * OFFSET_BIN} AS DOUBLE)",
        least_rate=f"CAST({LEAST_RATE} AS DOUBLE)",
        false_alarm=FALSE_ALARM,
        hopeful_n2=hopeful("c.n2", f"CAST({LEAST_RATE} AS DOUBLE)", "c.logc"),
        hopeful_twice=hopeful("2 * b.votes", "k.rate", "k.logc"),
        hopeful_best=hopeful("max(m.merged)", "k.rate", "k.logc"),
        min_votes=MIN_VOTES,
        half_votes=-(-MIN_VOTES // 2),
        background_bins=BACKGROUND_BINS,
        background=", ".join(
            f"max(CASE WHEN place = {i + 1} THEN merged END) AS {name}"
            for i, name in enumerate(BACKGROUND)
        ),
        background_columns=", ".join(f"g.{name}" for name in BACKGROUND),
    )


def render(dataset: str, registry: str) -> str:
    """The audit SQL over two row sources (a table name, or ``read_parquet(...)``), as one
    statement: for an engine that runs each WITH query once (DuckDB)."""
    return _fill("\nWITH " + HEAD + STAGE1 + STAGE2 + STAGE3, dataset, registry)


def stages(dataset: str, registry: str, live_fans: str, live: str) -> tuple[str, str, str]:
    """The same audit as three statements, for an engine that runs a WITH query again at every
    reference (Trino: Athena): stage 1's rows to be stored as table ``live_fans``, stage 2's
    as table ``live`` (e.g. CREATE TABLE … AS), then the result rows, which read only those
    two small tables. Each statement reads each source at most twice."""
    one = _fill("\nWITH " + HEAD + STAGE1 + "\nSELECT * FROM live_fans", dataset, registry)
    stored = f"live_fans AS (SELECT * FROM {live_fans})"  # noqa: S608 - a table name
    two = _fill(f"\nWITH {HEAD}, {stored}{STAGE2}\nSELECT * FROM live", dataset, registry)
    three = _fill(f"\nWITH {stored}, live AS (SELECT * FROM {live})" + STAGE3)  # noqa: S608
    return one, two, three


def inlined_runs(sql: str) -> dict[str, int]:
    """How many times each CTE runs when every reference is inlined, as Trino (Athena) does
    (it does not materialise a WITH query: trinodb/trino#18421): the paths to it from the final
    SELECT."""
    starts = list(re.finditer(r"(?:WITH|\),)\s+(\w+) AS \(", sql))
    final = sql.index("\n)\nSELECT")
    bodies = {
        m.group(1): sql[m.end() : starts[i + 1].start() if i + 1 < len(starts) else final]
        for i, m in enumerate(starts)
    }
    runs = dict.fromkeys(bodies, 0)

    def visit(text: str, name: str) -> None:
        for ref in re.findall(r"(?:FROM|JOIN)\s+(\w+)", text):
            if ref in bodies and ref != name:
                runs[ref] += 1
                visit(bodies[ref], ref)

    visit(sql[final:], "")
    return runs
