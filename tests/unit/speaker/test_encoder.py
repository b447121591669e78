"""The speaker encoder: its features against librosa (the reference Resemblyzer calls), the
network's shapes and invariants, the checkpoint reader, and voices told apart on real speech."""

from __future__ import annotations

import io
import itertools
import pickle
import struct
import sys
import types

import librosa
import numpy as np
import pytest

from shared import speaker
from shared.speaker import convert, encoder, mel
from tests import realspeech
from tests.unit.audio.speechlike import speechlike


def test_mel_filterbank_matches_librosa() -> None:
    ours = mel.mel_filterbank()
    reference = librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)
    assert ours.shape == reference.shape == (40, 201)
    assert np.max(np.abs(ours - reference)) < 1e-6


def test_mel_spectrogram_matches_resemblyzers_librosa_call() -> None:
    wav = speechlike(3.0, 16000, seed=7).astype(np.float32)
    ours = mel.mel_spectrogram(wav)
    # resemblyzer/audio.py: wav_to_mel_spectrogram
    reference = librosa.feature.melspectrogram(
        y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40
    ).T
    assert ours.shape == reference.shape == (1 + len(wav) // 160, 40)
    assert np.max(np.abs(ours - reference)) <= 1e-4 * np.max(reference)


def test_partial_slices_cover_the_utterance_like_resemblyzer() -> None:
    wav_slices, mel_slices = encoder.partial_slices(16000 * 5)
    steps = [s.start for s in mel_slices]
    assert steps[0] == 0 and all(b - a == 77 for a, b in itertools.pairwise(steps))
    assert all(s.stop - s.start == 160 for s in mel_slices)
    assert wav_slices[-1].stop >= 16000 * 5 * 0.9
    # shorter than one partial: still one slice
    assert len(encoder.partial_slices(8000)[1]) == 1


def test_lstm_shapes_and_unit_embeddings() -> None:
    model = encoder.load_model()
    rng = np.random.default_rng(0)
    mels = rng.random((3, 160, 40), dtype=np.float32)
    hidden = encoder.lstm_last_hidden(model, mels)
    assert hidden.shape == (3, 256)
    assert np.all(np.abs(hidden) < 1)  # h = o * tanh(c)
    partials = encoder.embed_partials(model, mels)
    assert partials.shape == (3, 256)
    assert np.allclose(np.linalg.norm(partials, axis=1), 1, atol=1e-5)
    assert np.all(partials >= 0)  # ReLU before the normalisation
    # one utterance at a time or several together: the same embeddings
    one = encoder.embed_partials(model, mels[1:2])
    assert np.allclose(one[0], partials[1], atol=1e-6)


def test_lstm_matches_a_plain_reference_recurrence() -> None:
    """The optimised step (gate reordering, sigmoid through tanh, in-place buffers) computes the
    textbook LSTM of torch's documentation."""
    rng = np.random.default_rng(1)
    weights = {}
    for n in range(encoder.LAYERS):
        size_in = 40 if n == 0 else 256
        weights[f"lstm.weight_ih_l{n}"] = rng.normal(0, 0.1, (1024, size_in)).astype(np.float32)
        weights[f"lstm.weight_hh_l{n}"] = rng.normal(0, 0.1, (1024, 256)).astype(np.float32)
        weights[f"lstm.bias_ih_l{n}"] = rng.normal(0, 0.1, 1024).astype(np.float32)
        weights[f"lstm.bias_hh_l{n}"] = rng.normal(0, 0.1, 1024).astype(np.float32)
    weights["linear.weight"] = np.eye(256, dtype=np.float32)
    weights["linear.bias"] = np.zeros(256, dtype=np.float32)
    model = encoder.model_from_weights(weights)
    x = rng.random((2, 12, 40), dtype=np.float32)

    def sigmoid(v: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-v))

    seq = x.astype(np.float64)
    for n in range(encoder.LAYERS):
        h = np.zeros((2, 256))
        c = np.zeros((2, 256))
        out = []
        for t in range(seq.shape[1]):
            g = (
                seq[:, t] @ weights[f"lstm.weight_ih_l{n}"].T
                + weights[f"lstm.bias_ih_l{n}"]
                + h @ weights[f"lstm.weight_hh_l{n}"].T
                + weights[f"lstm.bias_hh_l{n}"]
            )
            i, f, gg, o = np.split(g, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(gg)
            h = sigmoid(o) * np.tanh(c)
            out.append(h)
        seq = np.stack(out, axis=1)
    assert np.max(np.abs(encoder.lstm_last_hidden(model, x) - seq[:, -1])) < 1e-5


def _legacy_checkpoint(tensors: dict[str, np.ndarray]) -> bytes:
    """A torch legacy-format file built by hand: the same structure torch.save wrote."""

    class Storage:
        def __init__(self, key: str) -> None:
            self.key = key

    class Rebuild:
        def __init__(self, key: str, shape: tuple[int, ...]) -> None:
            self.key, self.shape = key, shape

        def __reduce__(self):  # type: ignore[no-untyped-def]
            stride = tuple(int(np.prod(self.shape[i + 1 :])) for i in range(len(self.shape)))
            return (_rebuild, (Storage(self.key), 0, self.shape, stride, False, {}))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):  # type: ignore[no-untyped-def]
            if isinstance(obj, Storage):
                return ("storage", "FloatStorage", obj.key, "cpu", 0, None)
            return None

    out = io.BytesIO()
    for header in (
        convert.LEGACY_MAGIC,
        1001,
        {"protocol_version": 1001, "little_endian": True, "type_sizes": {}},
    ):
        pickle.dump(header, out, protocol=2)
    keys = [str(n) for n in range(len(tensors))]
    state = {
        name: Rebuild(key, array.shape)
        for key, (name, array) in zip(keys, tensors.items(), strict=True)
    }
    Pickler(out, protocol=2).dump({"step": 1, "model_state": state})
    pickle.dump(keys, out, protocol=2)
    for array in tensors.values():
        out.write(struct.pack("<q", array.size))
        out.write(array.astype("<f4").tobytes())
    return out.getvalue()


def _rebuild(*args: object) -> None:
    raise AssertionError("never called: the reader maps it")


def test_checkpoint_reader_rebuilds_tensors_and_refuses_other_globals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pickled by reference as torch._utils._rebuild_tensor_v2, as torch.save wrote it
    fake_utils = types.ModuleType("torch._utils")
    fake_utils._rebuild_tensor_v2 = _rebuild  # type: ignore[attr-defined]
    _rebuild.__module__, _rebuild.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    monkeypatch.setitem(sys.modules, "torch._utils", fake_utils)
    tensors = {name: np.zeros(1, np.float32) for name in convert.NEEDED}
    tensors["linear.weight"] = np.arange(12, dtype=np.float32).reshape(3, 4)
    blob = _legacy_checkpoint(tensors)
    weights = convert.weights_from_pt(io.BytesIO(blob))
    assert np.array_equal(weights["linear.weight"], tensors["linear.weight"])

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("pwned",))

    hostile = io.BytesIO()
    for header in (convert.LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(header, hostile, protocol=2)
    pickle.dump({"model_state": Evil()}, hostile, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        convert.load_legacy_checkpoint(io.BytesIO(hostile.getvalue()))


def test_same_reader_is_closer_than_another_speaker_on_real_speech() -> None:
    reader = realspeech.reader_sentences()
    cards = realspeech.card_names()
    enrolled = speaker.embed_samples(realspeech.joined(reader[:3])).vector
    same = speaker.embed_samples(realspeech.joined(reader[3:])).vector  # other sentences
    other = speaker.embed_samples(realspeech.joined(cards)).vector
    assert float(enrolled @ same) > float(enrolled @ other) + 0.1


def test_silence_is_no_speech() -> None:
    with pytest.raises(speaker.NoSpeech):
        speaker.embed_samples(np.zeros(16000 * 3, np.float32))


def test_a_phone_line_is_told_from_clean_speech() -> None:
    from shared.speaker import channel

    clean = realspeech.joined(realspeech.reader_sentences()[:1])
    phone = channel.telephone(clean)
    assert len(phone) == len(clean)
    assert not channel.is_narrowband(clean)
    assert channel.is_narrowband(phone)
    # the reader heard through the phone line is still closer to itself than to the cards
    own = speaker.embed_samples(clean).vector
    other = speaker.embed_samples(realspeech.joined(realspeech.card_names())).vector
    heard = speaker.embed_samples(phone).vector
    assert float(heard @ own) > float(heard @ other)
