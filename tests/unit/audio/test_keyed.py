"""The keyed experiment (shared/audio/keyed.py): keys survive level and speed changes, a chunked
fingerprint equals the one-shot one, and the matcher finds the right voice and no other."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from shared.audio import keyed, keyed_match
from shared.audio.fingerprint import Peaks, peaks_of
from tests.unit.audio.speechlike import speechlike

SR = 16000


@pytest.fixture(scope="module")
def index() -> tuple[keyed_match.MemoryIndex, dict[str, np.ndarray]]:
    memory = keyed_match.MemoryIndex()
    voices = {f"V{seed}": speechlike(40, SR, seed=seed) for seed in range(4)}
    for name, samples in voices.items():
        memory.add(name, *keyed.hashes_of(peaks_of(samples, SR)))
    return memory, voices


@pytest.mark.parametrize(
    "distort",
    [
        lambda x: x * 0.05,
        lambda x: soxr.resample(x, SR * 1.03, SR).astype(np.float32),
    ],
    ids=["gain -26 dB", "speed +3 %"],
)
def test_an_excerpt_matches_its_voice_only(index, distort) -> None:  # type: ignore[no-untyped-def]
    memory, voices = index
    clip = distort(voices["V2"][12 * SR : 17 * SR])
    found = keyed_match.match(peaks_of(clip, SR), memory.lookup)
    assert [m.voice_id for m in found] == ["V2"]
    # where the excerpt begins in the voice (a speed change moves the match by ≤ 3 % of 5 s)
    assert abs(found[0].voice_start_s - found[0].query_start_s - 12.0) < 0.3


def test_other_speech_matches_nothing(index) -> None:  # type: ignore[no-untyped-def]
    memory, _ = index
    clip = speechlike(5, SR, seed=99)
    assert keyed_match.match(peaks_of(clip, SR), memory.lookup) == []


def test_chunked_keys_equal_one_shot(monkeypatch: pytest.MonkeyPatch) -> None:
    found = peaks_of(speechlike(30, SR, seed=5), SR)
    whole = keyed.hashes_of(found)
    monkeypatch.setattr(keyed, "CHUNK_PEAKS", 200)
    chunked = keyed.hashes_of(Peaks(found.frames, found.hz))
    order_a, order_b = np.lexsort(whole[::-1]), np.lexsort(chunked[::-1])
    assert np.array_equal(whole[0][order_a], chunked[0][order_b])
    assert np.array_equal(whole[1][order_a], chunked[1][order_b])
