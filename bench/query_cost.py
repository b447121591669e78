"""The fingerprint index's cost at catalogue scale, modelled from the measured key distribution of
real speech (bench/corpus.py), and checked on moto at the sample's own size.

A registry of H hours is simulated from the corpus's registered recordings (h hours): a key seen
c times holds c·H/h postings in expectation (unbiased for every key seen; keys never seen share
the Good–Turing unseen mass, singletons / postings, spread over the rest of the key space).
Queries are 5 s excerpts of speakers outside the sample. Two layouts (shared/fingerprint_index.py):

- per-voice (lm-speech-1, before): one item per (key, voice), one Query per distinct query key
  reading one 1 MB page; a partition past one page is read truncated;
- keyed (tri-speech-3, deployed): one item per key, BatchGetItem of 100 keys; a key holding
  CAP postings is stop-listed (read as a marker, no postings) and counts as truncated.

Printed per registry size: items_per_query (DynamoDB items read), postings_per_query (index
entries the matcher gets), requests_per_query, truncated_fraction (share of the query's keys
read truncated or stop-listed), write_requests_per_hour (BatchWriteItem of 25 puts, or
TransactWriteItems of 100 updates, sent again without the stop-listed keys, plus a marker for a
key that fills up) and
storage_gb_per_1000h.

    .venv/bin/python bench/query_cost.py [--algorithm tri-speech-3]   # 1 h … 100,000 h
    .venv/bin/python bench/query_cost.py --hours 1000 --json
    .venv/bin/python bench/query_cost.py --moto                          # model against moto
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from shared import fingerprint_index  # noqa: E402
from shared.audio import fingerprint as fp  # noqa: E402
from shared.audio import keyed, keyed_match  # noqa: E402
from shared.audio import match as lm_match  # noqa: E402

SR = 16000
SIZES = (1, 10, 100, 1_000, 10_000, 100_000)
VOICE_NO_BYTES = 13  # "V-XXXX-XXXX-C"
PAGE = 1_000_000  # a Query page
CAP = fingerprint_index.CAP


@dataclass(frozen=True)
class Engine:
    registry: Callable[[fp.Peaks], tuple[np.ndarray, np.ndarray]]
    query: Callable[[fp.Peaks], np.ndarray]  # the distinct keys a query looks up
    keyed: bool
    key_bits: int


def _lm_query(found: fp.Peaks) -> np.ndarray:
    per = lm_match.query_hashes(found)
    return np.unique(np.concatenate([h for _, h, _ in per])) if per else np.zeros(0, np.int64)


ENGINES = {
    fp.LM_VERSION: Engine(fp.hashes_of, _lm_query, False, 20),
    keyed.ALGORITHM_VERSION: Engine(
        keyed.hashes_of,
        lambda found: np.unique(keyed_match.query_hashes(found)[0]),
        True,
        sum(keyed.BITS[k] for k in keyed.KINDS),
    ),
}


class Model:
    """Key statistics of registered speech and the keys of 5 s queries of other speech."""

    def __init__(self, algorithm: str, registered: list[np.ndarray], queries: list[np.ndarray]):
        self.algorithm, self.engine = algorithm, ENGINES[algorithm]
        keys, owners, times = [], [], []
        for number, samples in enumerate(registered):
            hashes, frames = self.engine.registry(fp.peaks_of(samples, SR))
            keys.append(hashes.astype(np.int64))
            owners.append(np.full(len(hashes), number))
            times.append(frames.astype(np.int64))
        self.hours = sum(len(s) for s in registered) / SR / 3600
        k, owner, t = np.concatenate(keys), np.concatenate(owners), np.concatenate(times)
        # a posting is a distinct (key, voice, time); an item of the per-voice layout a (key, voice)
        entries = np.unique(np.stack([k, owner, t], axis=1), axis=0)
        self.keys, self.postings = np.unique(entries[:, 0], return_counts=True)
        pairs = np.unique(entries[:, :2], axis=0)
        self.voice_items = np.unique(pairs[:, 0], return_counts=True)[1]
        self.distinct_per_hour = len(pairs) / self.hours
        self.postings_per_hour = len(entries) / self.hours
        n = float(len(entries))
        self.renyi2_bits = float(
            -np.log2((self.postings * (self.postings - 1.0)).sum() / (n * n - n))
        )
        # the same, counting collisions between different recordings only: a speaker's repeated
        # phrase is not chance (the matcher's offset test tells it apart)
        per_voice = np.bincount(entries[:, 1], minlength=len(registered)).astype(float)
        pair_sizes = np.unique(entries[:, :2], axis=0, return_counts=True)[1].astype(float)
        cross = float((self.postings.astype(float) ** 2).sum() - (pair_sizes**2).sum())
        cross /= n * n - float((per_voice**2).sum())
        self.cross_bits = float(-np.log2(max(cross, 1e-300)))
        self.queries = [self.engine.query(fp.peaks_of(q, SR)) for q in queries]

    def expected(
        self, query: np.ndarray, hours: float, unseen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected postings and per-voice items of each query key at ``hours``."""
        at = np.minimum(np.searchsorted(self.keys, query), len(self.keys) - 1)
        seen = self.keys[at] == query
        share = 0.0
        if unseen:  # Good–Turing: the unseen keys share the mass of the singletons
            singletons = float((self.postings == 1).sum())
            share = singletons / max(1.0, float(1 << self.engine.key_bits) - len(self.keys))
        scale = hours / self.hours
        postings = np.where(seen, self.postings[at], share) * scale
        return postings, np.where(seen, self.voice_items[at], share) * scale

    def cost(self, hours: float, unseen: bool = True) -> dict[str, float]:
        rows = [self._query_cost(q, hours, unseen) for q in self.queries]
        out = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
        return {"hours": hours, **out, **self._write_and_storage(hours)}

    def _query_cost(self, query: np.ndarray, hours: float, unseen: bool) -> dict[str, float]:
        postings, items = self.expected(query, hours, unseen)
        if self.engine.keyed:
            stopped = postings >= CAP
            return {
                "items_per_query": float(np.minimum(1.0, postings).sum()),
                "postings_per_query": float(postings[~stopped].sum()),
                "requests_per_query": float(-(-len(query) // fingerprint_index.BATCH_GET)),
                "truncated_fraction": float(stopped.mean()) if len(query) else 0.0,
            }
        item_bytes = 60 + 4 * postings / np.maximum(items, 1e-9)
        page_items = PAGE / item_bytes
        return {
            "items_per_query": float(np.minimum(items, page_items).sum()),
            "postings_per_query": float(np.minimum(postings, page_items * 4).sum()),
            "requests_per_query": float(len(query)),
            "truncated_fraction": float((items > page_items).mean()) if len(query) else 0.0,
        }

    def _write_and_storage(self, hours: float) -> dict[str, float]:
        at_1000 = self.postings * 1000 / self.hours
        if not self.engine.keyed:
            items_1000 = self.distinct_per_hour * 1000
            return {
                "write_requests_per_hour": round(self.distinct_per_hour / fingerprint_index.BATCH),
                "storage_gb_per_1000h": round((items_1000 * 60 + at_1000.sum() * 4) / 1e9, 3),
            }
        # share of a registered hour's keys that are stop-listed at this size: their updates
        # cancel the transaction, which is sent again without them; a key that fills up in this
        # hour also gets its stop marker (one UpdateItem)
        now = self.postings * hours / self.hours >= CAP
        before = self.postings * (hours - 1) / self.hours >= CAP
        stop = float(self.postings[now].sum()) / float(self.postings.sum())
        batches = self.distinct_per_hour / fingerprint_index.TRANSACT
        retried = 1 - (1 - stop) ** fingerprint_index.TRANSACT
        markers = float((now & ~before).sum())
        # storage at 1,000 h: live postings (string-set elements) and one item per key present
        _, share = self.expected(np.array([-1]), 1000)
        unseen_keys = max(0.0, float(1 << self.engine.key_bits) - len(self.keys))
        items = float(np.minimum(1.0, at_1000).sum()) + unseen_keys * min(1.0, float(share[0]))
        total = self.postings_per_hour * 1000
        stopped_1000 = float(self.postings[at_1000 >= CAP].sum()) / float(self.postings.sum())
        storage = total * (1 - stopped_1000) * (VOICE_NO_BYTES + 6) + items * 40
        return {
            "write_requests_per_hour": round(batches * (1 + retried) + markers),
            "storage_gb_per_1000h": round(storage / 1e9, 3),
        }


def corpus_sample(recordings: int, queries: int, seed: int = 3) -> tuple[list, list]:
    """Registered recordings of three quarters of the corpus's speakers; 5 s queries of the
    others (bench/corpus.py, cached in ~/.cache/ailas-corpus)."""
    import corpus

    rng = np.random.default_rng(seed)
    found = corpus.recordings()
    speakers = sorted(corpus.speakers(found))
    held_out = {s for i, s in enumerate(speakers) if i % 4 == 3}
    registered = [r for r in found if r.speaker not in held_out]
    rng.shuffle(registered)  # type: ignore[arg-type]
    others = [r for r in found if r.speaker in held_out]
    excerpts: list[np.ndarray] = []
    while len(excerpts) < queries:
        samples = others[int(rng.integers(len(others)))].load(SR)
        if len(samples) >= 6 * SR:
            start = int(rng.integers(0, len(samples) - 5 * SR))
            excerpts.append(samples[start : start + 5 * SR])
    return [r.load(SR) for r in registered[:recordings]], excerpts


def measure_on_moto(model: Model, registered: list[np.ndarray]) -> dict[str, float]:
    """Write ``registered`` into the fingerprint table (moto must be running, provisioned) with
    the algorithm's layout, run the model's queries through the real index reader and count."""
    algorithm, writes, stats = model.algorithm, 0, []
    for number, samples in enumerate(registered):
        hashes, times = model.engine.registry(fp.peaks_of(samples, SR))
        write = fingerprint_index.write_keyed if model.engine.keyed else fingerprint_index.write
        writes += write(f"V-{number:04d}", algorithm, hashes, times).requests
    for query in model.queries:
        index = (
            fingerprint_index.KeyedIndex if model.engine.keyed else fingerprint_index.DynamoIndex
        )(algorithm)
        postings = len(set(index.lookup(query)))
        stats.append((index.stats.items, postings, index.stats.requests))
    items, postings, requests = np.mean(stats, axis=0)
    return {
        "items_per_query": float(items),
        "postings_per_query": float(postings),
        "requests_per_query": float(requests),
        "write_requests": writes,
    }


def check_on_moto(algorithm: str, recordings: int = 3, seconds: float = 40.0) -> None:
    from moto import mock_aws

    import infra.moto_server  # noqa: F401 - the stack's partition-only Query
    from infra.provision import Provisioner
    from shared.aws import reset_all
    from shared.settings import reset_settings

    registered, queries = corpus_sample(recordings, 10)
    registered = [s[: int(seconds * SR)] for s in registered]
    model = Model(algorithm, registered, queries)
    with mock_aws():
        reset_settings()
        reset_all()
        Provisioner(None, "ap-northeast-1", "local").run()  # type: ignore[arg-type]
        measured = measure_on_moto(model, registered)
        reset_all()
    modelled = model.cost(model.hours, unseen=False)
    print(f"{algorithm} on moto: {recordings} recordings, {model.hours * 60:.1f} min registered")
    for name in ("items_per_query", "postings_per_query", "requests_per_query"):
        print(f"  {name}: measured {measured[name]:,.1f}, model {modelled[name]:,.1f}")
    print(
        f"  write requests: measured {measured['write_requests']}, model "
        f"{modelled['write_requests_per_hour'] * model.hours:,.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--algorithm", choices=sorted(ENGINES), default=fp.ALGORITHM_VERSION)
    parser.add_argument("--hours", type=float, action="append", help="registry size (repeatable)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--moto", action="store_true", help="check the model on moto")
    parser.add_argument("--recordings", type=int, default=120, help="corpus recordings sampled")
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    if args.moto:
        check_on_moto(args.algorithm)
        return
    model = Model(args.algorithm, *corpus_sample(args.recordings, args.queries))
    rows = [model.cost(h) for h in (args.hours or SIZES)]
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=1))
        return
    print(
        f"{args.algorithm}: {model.hours:.2f} h of real speech sampled, "
        f"{model.postings_per_hour:,.0f} postings/h, {len(model.keys):,} distinct keys; collision "
        f"entropy {model.renyi2_bits:.1f} bits ({model.cross_bits:.1f} between recordings)"
    )
    print(
        f"{'hours':>8} {'items/query':>12} {'postings':>10} {'requests':>9} {'truncated':>10} "
        f"{'writes/h':>10} {'GB/1000h':>9}"
    )
    for r in rows:
        print(
            f"{r['hours']:>8,.0f} {r['items_per_query']:>12,.0f} {r['postings_per_query']:>10,.0f} "
            f"{r['requests_per_query']:>9.1f} {100 * r['truncated_fraction']:>9.1f}% "
            f"{r['write_requests_per_hour']:>10,} {r['storage_gb_per_1000h']:>9.2f}"
        )


if __name__ == "__main__":
    main()
