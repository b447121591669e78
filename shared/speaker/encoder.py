"""Resemblyzer's GE2E speaker encoder evaluated in numpy (no torch, no librosa).

The network and its features follow Resemblyzer 0.1.4 (``audio.py``, ``voice_encoder.py``,
``hparams.py``): 16 kHz mono, normalised up to -30 dBFS, long silences trimmed; a 40-band mel
power spectrogram (25 ms Hann window, 10 ms hop, ``n_fft`` 400, Slaney mel scale and
normalisation, centred frames — librosa's ``melspectrogram`` defaults; Resemblyzer feeds the
power mel, not its log); partial utterances of 160 frames (1.6 s) at 1.3 per second; a 3-layer
LSTM (hidden 256) whose last hidden state goes through a linear layer, ReLU and L2
normalisation; the utterance's embedding is the normalised mean of its partials' embeddings.

One deliberate difference: Resemblyzer trims silences with webrtcvad; here a 30 ms frame is
voiced when its level is within 40 dB of the loud frames and above -55 dBFS, then smoothed and
dilated exactly as Resemblyzer smooths webrtcvad's flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from shared.speaker.mel import HOP, SAMPLE_RATE, mel_spectrogram

WEIGHTS = Path(__file__).with_name("weights.npz")
MODEL_VERSION = "ge2e-resemblyzer-0.1.4"
HIDDEN = 256
LAYERS = 3
PARTIAL_FRAMES = 160
PARTIAL_RATE = 1.3
MIN_COVERAGE = 0.75
BATCH = 64  # partials per LSTM pass: bounds memory (64 x 160 x 1024 floats: 42 MB)
NORM_TARGET_DBFS = -30.0
VAD_WINDOW = SAMPLE_RATE * 30 // 1000
VAD_AVERAGE_WIDTH = 8
VAD_MAX_SILENCE = 6
VOICED_ABSOLUTE_DB = -55.0
VOICED_RELATIVE_DB = 40.0
INT16_MAX = 2**15 - 1


class WeightsMissing(RuntimeError):
    """The converted weights are absent: run ``make setup`` (python -m shared.speaker.convert)."""


@dataclass(frozen=True)
class Layer:
    """One LSTM layer, gates reordered from torch's (i, f, g, o) to (i, f, o, g) so that the
    three sigmoid gates are one contiguous slice."""

    w_ih: np.ndarray  # (in, 4H), transposed for x @ w
    w_hh: np.ndarray  # (H, 4H)
    bias: np.ndarray  # (4H,) b_ih + b_hh


@dataclass(frozen=True)
class Model:
    layers: tuple[Layer, ...]
    linear_w: np.ndarray  # (H, E)
    linear_b: np.ndarray  # (E,)


def _reorder(matrix: np.ndarray) -> np.ndarray:
    i, f, g, o = np.split(matrix, 4, axis=0)
    return np.concatenate([i, f, o, g], axis=0)


def model_from_weights(weights: dict[str, np.ndarray]) -> Model:
    layers = []
    for n in range(LAYERS):
        w_ih = _reorder(weights[f"lstm.weight_ih_l{n}"].astype(np.float32))
        w_hh = _reorder(weights[f"lstm.weight_hh_l{n}"].astype(np.float32))
        bias = _reorder(
            (weights[f"lstm.bias_ih_l{n}"] + weights[f"lstm.bias_hh_l{n}"]).astype(np.float32)
        )
        layers.append(
            Layer(np.ascontiguousarray(w_ih.T), np.ascontiguousarray(w_hh.T), bias.copy())
        )
    return Model(
        tuple(layers),
        np.ascontiguousarray(weights["linear.weight"].astype(np.float32).T),
        weights["linear.bias"].astype(np.float32),
    )


@cache
def load_model(path: Path = WEIGHTS) -> Model:
    if not path.exists():
        raise WeightsMissing(
            f"{path} is missing: run `make setup` (python -m shared.speaker.convert)"
        )
    with np.load(path) as archive:
        return model_from_weights({name: archive[name] for name in archive.files})


def lstm_last_hidden(model: Model, mels: np.ndarray) -> np.ndarray:
    """The last layer's final hidden state for a batch of (batch, frames, 40) mel inputs."""
    x = np.asarray(mels, dtype=np.float32)
    batch, frames, _ = x.shape
    h_size = HIDDEN
    gates = np.empty((batch, 4 * h_size), dtype=np.float32)
    for layer in model.layers:
        projected = (x.reshape(batch * frames, -1) @ layer.w_ih + layer.bias).reshape(
            batch, frames, 4 * h_size
        )
        h = np.zeros((batch, h_size), dtype=np.float32)
        c = np.zeros((batch, h_size), dtype=np.float32)
        outputs = np.empty((batch, frames, h_size), dtype=np.float32)
        for t in range(frames):
            np.matmul(h, layer.w_hh, out=gates)
            gates += projected[:, t]
            sig = gates[:, : 3 * h_size]
            # sigmoid(x) = (tanh(x/2) + 1) / 2: one tanh call for all three gates
            sig *= 0.5
            np.tanh(sig, out=sig)
            sig += 1.0
            sig *= 0.5
            cell = gates[:, 3 * h_size :]
            np.tanh(cell, out=cell)
            c *= sig[:, h_size : 2 * h_size]
            c += sig[:, :h_size] * cell
            np.tanh(c, out=h)
            h *= sig[:, 2 * h_size :]
            outputs[:, t] = h
        x = outputs
    return x[:, -1]


def embed_partials(model: Model, mels: np.ndarray) -> np.ndarray:
    """L2-normalised embeddings (batch, 256) of partial utterances (batch, 160, 40)."""
    # The recurrence is hundreds of small products in sequence: BLAS threads only fight over
    # the cores for them (measured 10x slower on a busy 2-core machine than one thread).
    with threadpool_limits(1, user_api="blas"):
        hidden = lstm_last_hidden(model, mels)
    raw = np.maximum(hidden @ model.linear_w + model.linear_b, 0.0)
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    return raw / np.maximum(norms, 1e-12)


def partial_slices(
    n_samples: int, rate: float = PARTIAL_RATE, min_coverage: float = MIN_COVERAGE
) -> tuple[list[slice], list[slice]]:
    """Resemblyzer's ``compute_partial_slices``: where the 1.6 s partials start (wav, mel)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    frame_step = round((SAMPLE_RATE / rate) / HOP)
    if not 0 < frame_step <= PARTIAL_FRAMES:
        raise ValueError(f"partial rate {rate} out of range")
    wav_slices, mel_slices = [], []
    steps = max(1, n_frames - PARTIAL_FRAMES + frame_step + 1)
    for i in range(0, steps, frame_step):
        mel_slices.append(slice(i, i + PARTIAL_FRAMES))
        wav_slices.append(slice(i * HOP, (i + PARTIAL_FRAMES) * HOP))
    last = wav_slices[-1]
    coverage = (n_samples - last.start) / (last.stop - last.start)
    if coverage < min_coverage and len(mel_slices) > 1:
        mel_slices, wav_slices = mel_slices[:-1], wav_slices[:-1]
    return wav_slices, mel_slices


def embed_utterance(
    wav: np.ndarray, model: Model | None = None, rate: float = PARTIAL_RATE
) -> np.ndarray:
    """The embedding (256,) of a preprocessed 16 kHz waveform, as Resemblyzer's
    ``VoiceEncoder.embed_utterance``."""
    return embed_utterances([wav], model, rate)[0]


def embed_utterances(
    wavs: list[np.ndarray],
    model: Model | None = None,
    rate: float = PARTIAL_RATE,
    batch: int = BATCH,
) -> np.ndarray:
    """Embeddings (n, 256) of several utterances: their partials go through the LSTM together
    (large batches use the matrix products far better than one short utterance does)."""
    model = model or load_model()
    mels, owners = [], []
    for n, wav in enumerate(wavs):
        wav = np.asarray(wav, dtype=np.float32)
        wav_slices, mel_slices = partial_slices(len(wav), rate)
        longest = wav_slices[-1].stop
        if longest >= len(wav):
            wav = np.pad(wav, (0, longest - len(wav)))
        mel = mel_spectrogram(wav)
        mels += [mel[s] for s in mel_slices]
        owners += [n] * len(mel_slices)
    stacked = np.stack(mels)
    partials = np.concatenate(
        [embed_partials(model, stacked[i : i + batch]) for i in range(0, len(stacked), batch)]
    )
    sums = np.zeros((len(wavs), partials.shape[1]), dtype=np.float64)
    np.add.at(sums, np.asarray(owners), partials)
    means = sums / np.bincount(owners, minlength=len(wavs))[:, None]
    return (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)


def normalize_volume(wav: np.ndarray, target_dbfs: float = NORM_TARGET_DBFS) -> np.ndarray:
    """Raise quiet audio to ``target_dbfs`` (never lowered: Resemblyzer's ``increase_only``)."""
    rms = float(np.sqrt(np.mean((wav.astype(np.float64) * INT16_MAX) ** 2)))
    if rms == 0.0:
        return wav
    change = target_dbfs - 20 * np.log10(rms / INT16_MAX)
    return wav if change < 0 else (wav * 10 ** (change / 20)).astype(np.float32)


def _moving_average(flags: np.ndarray, width: int) -> np.ndarray:
    padded = np.concatenate((np.zeros((width - 1) // 2), flags, np.zeros(width // 2)))
    total = np.cumsum(padded, dtype=float)
    total[width:] = total[width:] - total[:-width]
    return total[width - 1 :] / width


def voiced_mask(wav: np.ndarray) -> np.ndarray:
    """One flag per 30 ms window: voiced or not, smoothed and dilated as Resemblyzer does."""
    windows = len(wav) // VAD_WINDOW
    if windows == 0:
        return np.zeros(0, dtype=bool)
    frames = wav[: windows * VAD_WINDOW].reshape(windows, VAD_WINDOW).astype(np.float64)
    levels = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = float(np.percentile(levels, 95))
    flags = levels > max(VOICED_ABSOLUTE_DB, loud - VOICED_RELATIVE_DB)
    mask = np.round(_moving_average(flags.astype(float), VAD_AVERAGE_WIDTH)).astype(bool)
    # binary dilation by VAD_MAX_SILENCE + 1 windows (centred, as scipy's binary_dilation)
    kernel = np.ones(VAD_MAX_SILENCE + 1)
    return np.convolve(mask.astype(float), kernel, mode="same") > 0.5


def preprocess(wav: np.ndarray) -> np.ndarray:
    """Resemblyzer's ``preprocess_wav`` for 16 kHz audio: normalise, trim long silences."""
    wav = normalize_volume(np.asarray(wav, dtype=np.float32))
    wav = wav[: len(wav) - len(wav) % VAD_WINDOW]
    mask = voiced_mask(wav)
    return wav[np.repeat(mask, VAD_WINDOW)]
