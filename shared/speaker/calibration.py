"""From a cosine between speaker embeddings to a decision and a probability.

Set by ``bench/speaker_eer.py`` on real speech (fold A of its speakers; the figures it reports
come from the other fold): the operating threshold keeps false accepts at or below 1 %, and the
score is a logistic curve on the cosine fitted with same- and different-speaker trials weighted
equally (so it reads as the probability of the same speaker at even prior odds).
"""

from __future__ import annotations

import math

# bench/speaker_eer.py, 24 speakers / 14 languages (fold A: 12 speakers, 2,256 trials)
THRESHOLD = 0.767  # cosine; score 0.89 there
LOGISTIC_A = 29.15
LOGISTIC_B = -20.29


def score(similarity: float) -> float:
    """The calibrated probability that the two voices are one speaker."""
    return 1.0 / (1.0 + math.exp(-(LOGISTIC_A * similarity + LOGISTIC_B)))


def is_match(similarity: float) -> bool:
    return similarity >= THRESHOLD
