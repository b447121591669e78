"""Decoding: every accepted format, and every kind of file that must be refused, by code."""

from __future__ import annotations

import contextlib
import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shared.audio import AudioRejected, decode
from tests.unit.audio.speechlike import speechlike


def _file(
    tmp_path: Path, name: str, samples: np.ndarray, sr: int, fmt: str, subtype: str | None = None
) -> Path:
    path = tmp_path / name
    sf.write(str(path), samples, sr, format=fmt, subtype=subtype)
    return path


@pytest.mark.parametrize(
    ("fmt", "subtype", "sr", "channels"),
    [
        ("WAV", "PCM_16", 8000, 1),
        ("WAV", "PCM_24", 44100, 2),
        ("WAV", "FLOAT", 192000, 8),
        ("FLAC", "PCM_16", 48000, 2),
        ("OGG", "VORBIS", 22050, 1),
        ("OGG", "OPUS", 48000, 1),
        ("MP3", "MPEG_LAYER_III", 44100, 2),
    ],
)
def test_accepted_formats(tmp_path: Path, fmt: str, subtype: str, sr: int, channels: int) -> None:
    mono = speechlike(5, sr, seed=sr + channels)
    samples = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
    decoded = decode(_file(tmp_path, f"a.{fmt.lower()}", samples, sr, fmt, subtype))
    assert decoded.sample_rate == sr and decoded.channels == channels
    assert abs(decoded.duration_s - 5) < 0.1
    assert decoded.format.startswith(fmt)
    assert len(decoded.hashes) > 200 and decoded.active_s > 2


def test_pcm_hash_is_the_same_for_wav_and_flac(tmp_path: Path) -> None:
    x = (speechlike(4, 16000, seed=9) * 32767).astype(np.int16)  # the same integers in both
    wav = decode(_file(tmp_path, "a.wav", x, 16000, "WAV", "PCM_16"))
    flac = decode(_file(tmp_path, "a.flac", x, 16000, "FLAC", "PCM_16"))
    assert wav.pcm_sha256 == flac.pcm_sha256


def _code(source) -> str:
    with pytest.raises(AudioRejected) as rejected:
        decode(source)
    assert rejected.value.message
    return rejected.value.code


def test_rejections_by_code(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    assert _code(io.BytesIO(b"")) == "empty"
    assert _code(io.BytesIO(rng.bytes(40_000))) in ("unsupported_format", "corrupt_audio")
    silent = _file(tmp_path, "silence.wav", np.zeros(16000 * 30, np.float32), 16000, "WAV")
    assert _code(silent) == "no_speech"
    faint = _file(
        tmp_path,
        "faint.wav",
        (rng.standard_normal(16000 * 30) * 1e-4).astype(np.float32),
        16000,
        "WAV",
    )
    assert _code(faint) == "no_speech"
    ftyp = struct.pack(">I", 24) + b"ftypM4A \x00\x00\x02\x00M4A mp42" + bytes(2000)
    with pytest.raises(AudioRejected) as m4a:
        decode(io.BytesIO(ftyp))
    assert m4a.value.code == "unsupported_format" and "FLAC" in m4a.value.message
    speech = io.BytesIO()
    sf.write(speech, speechlike(6, 16000, seed=1), 16000, format="WAV", subtype="PCM_16")
    assert _code(io.BytesIO(speech.getvalue()[: len(speech.getvalue()) // 2])) == "corrupt_audio"
    nine = _file(tmp_path, "nine.wav", np.zeros((1600, 9), np.float32), 16000, "WAV")
    assert _code(nine) == "unsupported_format"


def test_too_long_is_refused_from_the_header_and_while_streaming(tmp_path: Path) -> None:
    x = speechlike(12, 16000, seed=2)
    path = _file(tmp_path, "long.wav", x, 16000, "WAV", "PCM_16")
    with pytest.raises(AudioRejected) as rejected:
        decode(path, max_duration_s=10)
    assert rejected.value.code == "too_long"
    assert rejected.value.message == "The file lasts 0:00:12; the limit is 0:00:10."
    # an Ogg stream's length is unknown until read: the limit holds while streaming too
    ogg = _file(tmp_path, "long.ogg", x, 16000, "OGG", "VORBIS")
    with pytest.raises(AudioRejected) as streamed:
        decode(ogg, max_duration_s=10)
    assert streamed.value.code == "too_long"


def _with_chunk_before_data(wav: bytes, chunk: bytes, body: bytes) -> bytes:
    """A WAV with a metadata chunk (LIST, bext, iXML …) between ``fmt `` and ``data``, as
    broadcast and DAW files have them; the RIFF size follows."""
    data_at = wav.index(b"data")
    extra = chunk + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)
    joined = wav[:data_at] + extra + wav[data_at:]
    return joined[:4] + struct.pack("<I", len(joined) - 8) + joined[8:]


def test_a_truncated_wav_is_refused_when_metadata_puts_its_data_past_the_first_kilobytes() -> None:
    speech = io.BytesIO()
    sf.write(speech, speechlike(12, 16000, seed=4), 16000, format="WAV", subtype="PCM_16")
    whole = _with_chunk_before_data(speech.getvalue(), b"LIST", b"INFOISFT" + bytes(6000))
    assert decode(io.BytesIO(whole)).duration_s == pytest.approx(12, abs=0.01)
    assert _code(io.BytesIO(whole[: len(whole) // 2])) == "corrupt_audio"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_samples_that_are_not_numbers_are_corrupt_audio(tmp_path: Path, bad: float) -> None:
    x = speechlike(12, 16000, seed=5).astype(np.float32)
    x[100_000:100_100] = bad  # 100 samples at 6.25 s, the rest is speech
    with pytest.raises(AudioRejected) as rejected:
        decode(_file(tmp_path, "nan.wav", x, 16000, "WAV", "FLOAT"))
    assert rejected.value.code == "corrupt_audio"
    assert "from 6.25 s" in rejected.value.message


@pytest.mark.parametrize("gain", [1e4, 1e19, 1e30])
def test_float_samples_far_beyond_full_scale_are_corrupt_audio(tmp_path: Path, gain: float) -> None:
    """Speech × 1e19 in a float WAV was registered, and its speaker embedding, overflowing
    float32, came out NaN and replaced its performer's voiceprint."""
    x = speechlike(12, 16000, seed=5).astype(np.float64) * gain
    with pytest.raises(AudioRejected) as rejected:
        decode(_file(tmp_path, "loud.wav", x, 16000, "WAV", "DOUBLE"))
    assert rejected.value.code == "corrupt_audio" and "above full scale" in rejected.value.message


def test_float_samples_a_little_past_full_scale_are_audio(tmp_path: Path) -> None:
    x = speechlike(12, 16000, seed=5).astype(np.float32)
    x *= 8.0 / np.abs(x).max()  # +18 dBFS peaks: a float mix with headroom left to the player
    assert decode(_file(tmp_path, "hot.wav", x, 16000, "WAV", "FLOAT")).duration_s > 11


def test_a_damaged_embedding_is_no_part_of_a_voiceprint() -> None:
    from shared.screens.voiceprints import DIMENSIONS, weighted_mean

    good = [1.0] + [0.0] * (DIMENSIONS - 1)
    assert weighted_mean([(good, 5.0), ([float("nan")] * DIMENSIONS, 9.0)]) == good
    assert weighted_mean([([float("nan")] * DIMENSIONS, 9.0)]) is None


def test_channels_in_opposite_phase_are_speech_not_silence(tmp_path: Path) -> None:
    """A stereo file with one channel wired in opposite phase: the mean of the channels
    cancels, so the loudest channel is taken instead — the same fingerprint as the mono
    recording, which a trace of either finds."""
    from shared import speaker

    mono = speechlike(8, 16000, seed=6)
    inverted = _file(tmp_path, "inv.wav", np.stack([mono, -mono], axis=1), 16000, "WAV", "FLOAT")
    plain = decode(_file(tmp_path, "mono.wav", mono, 16000, "WAV", "FLOAT"))
    decoded = decode(inverted)
    assert decoded.active_s == pytest.approx(plain.active_s, abs=0.1)
    assert np.array_equal(decoded.hashes, plain.hashes)
    loaded = speaker.load_16k(inverted)
    assert np.sqrt(np.mean(loaded**2)) > 0.5 * np.sqrt(np.mean(mono**2))
    # an ordinary stereo mix (one voice, channels at different levels) is still their mean
    mix = decode(_file(tmp_path, "mix.wav", np.stack([mono, 0.5 * mono], axis=1), 16000, "WAV"))
    assert mix.active_s == pytest.approx(plain.active_s, abs=0.1)


def test_a_pipe_is_refused_not_a_traceback(tmp_path: Path) -> None:
    """`ailas trace <(cat clip.wav)`: the registry's checks read the file again from its start."""
    import os
    import threading

    speech = io.BytesIO()
    sf.write(speech, speechlike(4, 16000, seed=7), 16000, format="WAV", subtype="PCM_16")
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError):  # the reader stops after its first block
            fifo.write_bytes(speech.getvalue())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    assert _code(fifo) == "unsupported_format"
    writer.join(timeout=10)


def _vbr_mp3_without_xing(samples: np.ndarray, sr: int) -> bytes:
    """A VBR MP3 whose Xing/Info frame was dropped (streaming encoders and cutters write
    such files): libsndfile then estimates its length from the first frame's bit rate."""
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", sr, 1, format="MP3", subtype="MPEG_LAYER_III",
                      bitrate_mode="VARIABLE", compression_level=0.9) as f:  # fmt: skip
        f.write(samples)
    data = buffer.getvalue()
    tag = data.find(b"Xing") if b"Xing" in data else data.find(b"Info")
    start = data.rfind(b"\xff", 0, tag)
    while data[start + 1] & 0xE0 != 0xE0:
        start = data.rfind(b"\xff", 0, start)
    after = data.find(b"\xff", tag)
    while not (data[after + 1] & 0xE0 == 0xE0 and data[after + 1] & 0x06):
        after = data.find(b"\xff", after + 1)
    return data[:start] + data[after:]


def test_a_vbr_mp3_without_its_length_header_is_read_to_its_end() -> None:
    """Its quiet first frame made the estimate 13.8 s for 12 s of audio: refused as cut."""
    x = speechlike(12, 44100, seed=9).astype(np.float32)
    x[: 2 * 44100] = 0  # the lowest bit rate first
    data = _vbr_mp3_without_xing(x, 44100)
    assert sf.info(io.BytesIO(data)).duration > 12.5  # the estimate is off
    assert decode(io.BytesIO(data)).duration_s == pytest.approx(12, abs=0.1)


@pytest.mark.parametrize(
    ("fmt", "subtype"), [("OGG", "OPUS"), ("OGG", "VORBIS"), ("RF64", "PCM_16")]
)
def test_a_file_cut_short_is_corrupt_audio_not_a_shorter_recording(fmt: str, subtype: str) -> None:
    buffer = io.BytesIO()
    sf.write(buffer, speechlike(12, 48000, seed=4), 48000, format=fmt, subtype=subtype)
    whole = buffer.getvalue()
    assert decode(io.BytesIO(whole)).duration_s == pytest.approx(12, abs=0.05)
    with pytest.raises(AudioRejected) as rejected:
        decode(io.BytesIO(whole[: int(len(whole) * 0.4)]))
    assert rejected.value.code == "corrupt_audio" and "truncated" in rejected.value.message


def test_a_wav_with_many_chunks_before_its_data_is_still_checked_for_a_cut() -> None:
    speech = io.BytesIO()
    sf.write(speech, speechlike(12, 16000, seed=4), 16000, format="WAV", subtype="PCM_16")
    whole = speech.getvalue()
    for n in range(70):
        whole = _with_chunk_before_data(whole, b"junk", bytes(8 + n % 3))
    assert decode(io.BytesIO(whole)).duration_s == pytest.approx(12, abs=0.01)
    assert _code(io.BytesIO(whole[: int(len(whole) * 0.4)])) == "corrupt_audio"


def _id3_tag(size: int) -> bytes:
    """An ID3v2.3 tag of ``size`` bytes of padding (cover art makes tags this long)."""
    syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x03\x00\x00" + syncsafe + bytes(size)


def test_a_cut_mp3_behind_a_long_id3_tag_is_still_corrupt_audio() -> None:
    """The length header was looked for in the first 4 KiB only: behind an 8 KiB tag a cut
    MP3 passed as a shorter recording."""
    buffer = io.BytesIO()
    sf.write(buffer, speechlike(20, 44100, seed=3), 44100, format="MP3")
    whole = _id3_tag(8192) + buffer.getvalue()
    assert decode(io.BytesIO(whole)).duration_s == pytest.approx(20, abs=0.1)
    assert _code(io.BytesIO(whole[: len(whole) // 2])) == "corrupt_audio"


def test_an_rf64_file_cut_inside_its_header_is_refused_not_a_crash() -> None:
    buffer = io.BytesIO()
    sf.write(buffer, speechlike(4, 16000, seed=3), 16000, format="RF64", subtype="PCM_16")
    for cut in (24, 30):
        assert _code(io.BytesIO(buffer.getvalue()[:cut])) in ("corrupt_audio", "unsupported_format")


def test_an_ogg_file_with_a_long_tail_appended_is_read_as_before() -> None:
    buffer = io.BytesIO()
    sf.write(buffer, speechlike(8, 48000, seed=3), 48000, format="OGG", subtype="VORBIS")
    padded = buffer.getvalue() + bytes(70_000)  # no page in the last 64 KiB
    assert decode(io.BytesIO(padded)).duration_s == pytest.approx(8, abs=0.05)


def test_a_wav_with_more_chunks_before_its_data_than_any_real_one_is_refused() -> None:
    speech = io.BytesIO()
    sf.write(speech, speechlike(3, 16000, seed=4), 16000, format="WAV", subtype="PCM_16")
    whole = speech.getvalue()
    data_at = whole.index(b"data")
    junk = (b"junk" + struct.pack("<I", 0)) * 1100
    crowded = whole[:data_at] + junk + whole[data_at:]
    crowded = crowded[:4] + struct.pack("<I", len(crowded) - 8) + crowded[8:]
    with pytest.raises(AudioRejected) as rejected:
        decode(io.BytesIO(crowded))
    assert rejected.value.code == "corrupt_audio" and "chunks" in rejected.value.message
