"""The fingerprint engine against librosa (the reference), streaming against one-shot, and
matching on speech-like audio under the distortions the registry must survive."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import soxr

from shared.audio import fingerprint as fp
from shared.audio.match import MemoryIndex, match
from tests.unit.audio.speechlike import speechlike

SR = 16000


def test_log_spectrogram_matches_librosa() -> None:
    x = soxr.resample(speechlike(4, SR, seed=3), SR, fp.SAMPLE_RATE)
    ours = fp.log_spectrogram(x)
    reference = librosa.stft(x, n_fft=fp.N_FFT, hop_length=fp.HOP, window="hann", center=False)
    reference_db = 20 * np.log10(np.abs(reference).T / (fp.N_FFT / 4) + 1e-6)
    assert ours.shape == reference_db.shape
    loud = reference_db > -60  # compare where there is signal (the floors differ by design)
    assert np.max(np.abs(ours[loud] - reference_db[loud])) < 0.05


def test_peaks_are_local_maxima_like_a_reference_peak_picker() -> None:
    x = soxr.resample(speechlike(6, SR, seed=4), SR, fp.SAMPLE_RATE)
    spec = fp.log_spectrogram(x)
    found = fp.peaks(spec)
    assert 20 <= len(found) / 6 <= 32  # density close to PEAKS_PER_SECOND
    bins = np.round(found.hz / (fp.SAMPLE_RATE / fp.N_FFT)).astype(int)
    # librosa's peak picker on each peak's spectrum row agrees it is a local maximum
    for frame, b in zip(found.frames[:50], bins[:50], strict=False):
        row = spec[frame]
        window = row[max(0, b - fp.NEIGHBOURHOOD_F) : b + fp.NEIGHBOURHOOD_F + 1]
        assert row[b] == window.max()
        picked = librosa.util.peak_pick(
            row,
            pre_max=fp.NEIGHBOURHOOD_F,
            post_max=fp.NEIGHBOURHOOD_F + 1,
            pre_avg=0,
            post_avg=1,
            delta=0.0,
            wait=0,
        )
        assert b in picked or row[b - 1] == row[b] or row[b + 1] == row[b]


def test_streaming_equals_one_shot() -> None:
    x = soxr.resample(speechlike(75, SR, seed=5), SR, fp.SAMPLE_RATE)
    hashes, times = fp.fingerprint(x)
    printer = fp.Fingerprinter()
    for start in range(0, len(x), 7777):
        printer.feed(x[start : start + 7777])
    streamed_hashes, streamed_times = printer.finish()
    assert np.array_equal(hashes, streamed_hashes)
    assert np.array_equal(times, streamed_times)


@pytest.fixture(scope="module")
def index() -> tuple[MemoryIndex, dict[str, np.ndarray]]:
    memory = MemoryIndex()
    voices = {}
    for seed in range(12):
        x = speechlike(40, SR, seed=seed)
        voices[f"V{seed}"] = x
        memory.add(f"V{seed}", *fp.fingerprint(x, SR))
    return memory, voices


def _noisy(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    power = np.mean(x**2)
    return (x + rng.standard_normal(len(x)) * np.sqrt(power / 10 ** (snr_db / 10))).astype(
        np.float32
    )


@pytest.mark.parametrize(
    ("condition", "distort"),
    [
        ("clean", lambda x: x),
        ("noise 10 dB", lambda x: _noisy(x, 10, 1)),
        ("gain -20 dB", lambda x: (x * 0.1).astype(np.float32)),
        ("speed +3 %", lambda x: soxr.resample(x, SR * 1.03, SR).astype(np.float32)),
        ("speed -3 %", lambda x: soxr.resample(x, SR * 0.97, SR).astype(np.float32)),
    ],
)
def test_excerpts_are_found_at_the_right_voice_and_offset(index, condition, distort) -> None:
    memory, voices = index
    for seed, start_s in [(2, 7.0), (7, 21.5), (11, 30.0)]:
        clip = voices[f"V{seed}"][int(start_s * SR) : int((start_s + 5) * SR)]
        found = match(fp.peaks_of(distort(clip), SR), memory.lookup)
        assert found, condition
        best = found[0]
        assert best.voice_id == f"V{seed}"
        assert abs((best.voice_start_s - best.query_start_s) - start_s) < 0.25, best


def test_unregistered_speech_matches_nothing(index) -> None:
    memory, _ = index
    for seed in range(500, 530):
        assert match(fp.peaks_of(speechlike(5, SR, seed=seed), SR), memory.lookup) == []


def test_voice_hashes_are_the_index_entries_with_their_algorithm() -> None:
    from shared.audio import ALGORITHM_VERSION, decode_array, voice_hashes
    from shared.audio.fingerprint import peaks_of

    samples = speechlike(8, 16000, seed=4)
    hashes, frames, algorithm = voice_hashes(peaks_of(samples, 16000))
    decoded = decode_array(samples, 16000)  # what ingest writes to the index
    expected_hashes, expected_frames = decoded.hashes, decoded.times
    assert algorithm == ALGORITHM_VERSION == decoded.algorithm
    assert len(hashes) == len(frames) > 0
    assert np.array_equal(hashes, expected_hashes) and np.array_equal(frames, expected_frames)


def test_a_denser_peak_list_keeps_the_registry_density_as_its_strongest() -> None:
    # bench/trace_accuracy.py --verify-peaks: the query's peaks at another density; each block
    # keeps its strongest, so the registry's 30 a second are among any denser list
    x = soxr.resample(speechlike(6, SR, seed=4), SR, fp.SAMPLE_RATE)
    spec = fp.log_spectrogram(x)
    usual, dense = fp.peaks(spec), fp.peaks(spec, per_second=2 * fp.PEAKS_PER_SECOND)
    assert len(dense) > 1.3 * len(usual)
    assert set(zip(usual.frames, usual.hz, strict=True)) <= set(
        zip(dense.frames, dense.hz, strict=True)
    )
    per_block = np.bincount(dense.frames // fp.BLOCK_FRAMES)
    assert per_block.max() <= 2 * fp.PEAKS_PER_SECOND
    assert np.array_equal(fp.peaks_of(x, per_second=2 * fp.PEAKS_PER_SECOND).frames, dense.frames)
