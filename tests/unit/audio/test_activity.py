"""Speech activity judged against the file's own level: quiet speech is speech; DC, tones and
steady noise are not, however loud."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from shared.audio import AudioRejected, decode
from tests.unit.audio.speechlike import speechlike

SR = 16000


def _wav(samples: np.ndarray, subtype: str = "PCM_16") -> io.BytesIO:
    buffer = io.BytesIO()
    sf.write(buffer, samples.astype(np.float32), SR, format="WAV", subtype=subtype)
    buffer.seek(0)
    return buffer


def _code(samples: np.ndarray) -> str:
    with pytest.raises(AudioRejected) as rejected:
        decode(_wav(samples))
    return rejected.value.code


@pytest.mark.parametrize("gain_db", [0, -20, -40])
def test_quiet_speech_is_speech(gain_db: int) -> None:
    speech = speechlike(6, SR, seed=21)
    speech = speech / np.abs(speech).max() * 0.5
    loud = decode(_wav(speech))
    quiet = decode(_wav(speech * 10 ** (gain_db / 20)))
    assert quiet.active_s >= 2.0
    assert abs(quiet.active_s - loud.active_s) <= 0.5  # the same frames, at any level


def test_speech_in_equal_noise_is_speech() -> None:
    speech = speechlike(6, SR, seed=22)
    noise = np.random.default_rng(3).standard_normal(len(speech))
    noise *= np.sqrt(np.mean(speech**2) / np.mean(noise**2))  # 0 dB SNR
    assert decode(_wav(0.4 * (speech + noise))).active_s >= 2.0


def test_signals_that_are_not_speech_get_their_codes() -> None:
    t = np.arange(8 * SR) / SR
    assert _code(np.full(8 * SR, 0.3)) == "constant_signal"
    assert _code(np.full(8 * SR, -0.001)) == "constant_signal"
    assert _code(np.zeros(8 * SR)) == "no_speech"
    assert _code(0.5 * np.sin(2 * np.pi * 440 * t)) == "pure_tone"
    assert _code(0.001 * np.sin(2 * np.pi * 1000 * t)) == "pure_tone"  # quiet tones too
    beeps = 0.5 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    assert _code(beeps) == "pure_tone"
    hiss = np.random.default_rng(4).standard_normal(8 * SR) * 0.1
    assert _code(hiss) == "no_speech"
    hum = 0.3 * sum(np.sin(2 * np.pi * f * t) for f in (50, 100, 150, 200))
    assert _code(hum) in ("no_speech", "pure_tone", "no_fingerprint")


def test_a_little_speech_in_a_long_silent_file_counts() -> None:
    speech = speechlike(4, SR, seed=23)
    mostly_silent = np.concatenate([np.zeros(60 * SR), 0.5 * speech, np.zeros(30 * SR)])
    assert decode(_wav(mostly_silent)).active_s >= 2.0


def test_a_clip_of_sound_too_short_to_judge_is_no_speech_not_dc() -> None:
    # one second of speech: its frames' means move (low voices), which once read as a DC offset
    second = 0.5 * speechlike(1, SR, seed=24)
    with pytest.raises(AudioRejected) as rejected:
        decode(_wav(second))
    assert rejected.value.code == "no_speech"
    assert "at least 2 s of speech" in rejected.value.message
