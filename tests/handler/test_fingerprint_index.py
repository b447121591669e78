"""The keyed index layout on moto: what a voice writes is what a query reads, in batches of
100 keys, and a key too common to be evidence is stop-listed."""

from __future__ import annotations

import numpy as np
import pytest

from shared import fingerprint_index

ALGORITHM = "test-keyed"


def _voice(seed: int, keys: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 1 << 36, keys, dtype=np.int64), rng.integers(0, 5000, keys)


def _read(keys: np.ndarray) -> tuple[set[tuple[int, str, int]], fingerprint_index.LookupStats]:
    index = fingerprint_index.KeyedIndex(ALGORITHM)
    return set(index.lookup(keys)), index.stats


def test_a_query_reads_back_every_posting_in_batches_of_100(aws: dict[str, str]) -> None:
    keys_a, times_a = _voice(1, 250)
    keys_b, times_b = _voice(2, 120)
    keys_b[:40], times_b[:40] = keys_a[:40], times_a[:40] + 7  # 40 keys both voices have
    writes_a = fingerprint_index.write_keyed("VA", ALGORITHM, keys_a, times_a)
    fingerprint_index.write_keyed("VB", ALGORITHM, keys_b, times_b)
    assert writes_a.requests == -(-len(np.unique(keys_a)) // 100)
    query = np.concatenate([keys_a[:150], keys_b[100:], _voice(3, 30)[0]])
    found, stats = _read(query)
    expected = {
        (int(k), voice, int(t))
        for voice, keys, times in (("VA", keys_a, times_a), ("VB", keys_b, times_b))
        for k, t in zip(keys, times, strict=True)
        if k in set(query.tolist())
    }
    assert found == expected
    assert stats.requests == -(-len(np.unique(query)) // 100)
    assert stats.items == len({k for k, _, _ in expected})


def test_writing_a_voice_again_adds_nothing_twice(aws: dict[str, str]) -> None:
    keys, times = _voice(4, 60)
    fingerprint_index.write_keyed("VA", ALGORITHM, keys, times)
    first, _ = _read(keys)
    fingerprint_index.write_keyed("VA", ALGORITHM, keys, times)
    assert _read(keys)[0] == first and len(first) == len(set(zip(keys, times, strict=True)))


def test_a_key_that_reaches_the_cap_is_stop_listed(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fingerprint_index, "CAP", 3)
    common = np.array([5, 6], dtype=np.int64)
    for voice in range(5):
        keys = np.array([5, 100 + voice], dtype=np.int64)
        fingerprint_index.write_keyed(f"V{voice}", ALGORITHM, keys, np.array([voice, 1]))
    found, stats = _read(np.concatenate([common, np.arange(100, 105)]))
    assert stats.truncated == 1  # key 5 had more voices than the cap: read as stop-listed
    assert {k for k, _, _ in found} == set(range(100, 105))
    assert {v for k, v, _ in found} == {f"V{i}" for i in range(5)}
