"""bench/query_cost.py's model counts what the real index reader does on moto: at the sample's own
size, the items, postings and requests of every query and the write requests are the model's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.unit.audio.speechlike import speechlike

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import query_cost


@pytest.mark.parametrize("algorithm", sorted(query_cost.ENGINES))
def test_the_cost_model_matches_moto_at_small_size(aws: dict[str, str], algorithm: str) -> None:
    registered = [speechlike(12, query_cost.SR, seed=seed) for seed in range(3)]
    # two excerpts of registered voices (their keys are read) and one other voice
    queries = [registered[0][: 5 * 16000], registered[2][6 * 16000 : 11 * 16000]]
    queries.append(speechlike(5, query_cost.SR, seed=50))
    model = query_cost.Model(algorithm, registered, queries)
    measured = query_cost.measure_on_moto(model, registered)
    modelled = model.cost(model.hours, unseen=False)
    assert measured["postings_per_query"] > 0
    for name in ("items_per_query", "postings_per_query", "requests_per_query"):
        assert measured[name] == pytest.approx(modelled[name], rel=1e-6), name
    expected_writes = modelled["write_requests_per_hour"] * model.hours
    assert measured["write_requests"] == pytest.approx(expected_writes, abs=len(registered))
