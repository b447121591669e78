"""What keys of more peaks would give: the deployed triplets (keyed.GROUP = 3) against groups of
``--group`` peaks (the anchor and GROUP - 1 of its nearest partners; every further peak adds a
log-frequency step and a time ratio to the key), measured with the two benches that measure
the deployed keys: query_cost.py (collision entropy, index cost at 1 h … 100,000 h) and
trace_accuracy.py (recall on real speech, false positives). Only this process's ``keyed``
module is changed, before either bench imports it; nothing deployed reads this.

    .venv/bin/python bench/key_group.py --group 4 cost [query_cost.py options]
    .venv/bin/python bench/key_group.py --group 4 [--min-votes 3] accuracy [its options]
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from shared.audio import keyed, keyed_match  # noqa: E402

BENCHES = {"cost": "query_cost.py", "accuracy": "trace_accuracy.py"}


def use_group(size: int) -> None:
    """Keys of ``size`` peaks: the registry's and the query's groups, numbers and packing."""
    keyed.GROUP = size
    keyed.KINDS = ("F", *("d",) * (size - 1), *("r",) * (size - 2), "T")
    keyed.LIMITS = np.array(
        [keyed.R_BINS - 1 if k == "r" else (1 << keyed.BITS[k]) - 1 for k in keyed.KINDS],
        dtype=np.int64,
    )
    if sum(keyed.BITS[k] for k in keyed.KINDS) > 62:
        raise SystemExit(f"a key of {size} peaks does not fit an int64")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", type=int, default=keyed.GROUP, help="peaks per key (3 deployed)")
    parser.add_argument(
        "--min-votes", type=int, default=keyed_match.MIN_VOTES, help="the decision's least votes"
    )
    parser.add_argument("bench", choices=sorted(BENCHES))
    args, rest = parser.parse_known_args()
    if args.group < 2:
        parser.error("--group must be at least 2")
    use_group(args.group)
    keyed_match.MIN_VOTES = args.min_votes
    bits = sum(keyed.BITS[k] for k in keyed.KINDS)
    print(f"keys of {args.group} peaks ({bits} bits), MIN_VOTES {args.min_votes}", flush=True)
    sys.argv = [BENCHES[args.bench], *rest]
    runpy.run_path(str(ROOT / "bench" / BENCHES[args.bench]), run_name="__main__")


if __name__ == "__main__":
    main()
