"""Trace accuracy: recall per distortion on 5 s excerpts, and false positives on unregistered
speech. Nothing is committed: real recordings come from Debian's codec2-examples (about ten
English speakers, 8 kHz) and synthetic voices from espeak-ng (several languages, Japanese kana
included); both are installed by `apt-get install codec2-examples espeak-ng`.

    .venv/bin/python bench/trace_accuracy.py [--quick]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.audio.fingerprint import fingerprint, peaks_of  # noqa: E402
from shared.audio.match import MemoryIndex, match, query_hashes  # noqa: E402

SR = 16000
CODEC2 = Path("/usr/share/codec2/raw")
# real speech (8 kHz, 16-bit raw, and one 16 kHz WAV); left out: the modem/sine test files
# (700d_end_over is a FreeDV modem waveform, not speech: its level varies by 0.4 dB), hts1/hts2
# (the two halves of hts), f2400/m2400 (forig/morig through a codec) and ve9qrp (hts's
# sentences again, over the air)
CODEC2_SPEECH = [
    "hts.raw",
    "cq_ref.raw",
    "vk5qi.raw",
    "kristoff.raw",
    "mmt1.raw",
    "g3plx.raw",
    "big_dog.raw",
    "cross.raw",
    "morig.raw",
    "forig.raw",
    "speech_orig_16k.wav",
]
TEXTS = {
    "en": [
        "The quick brown fox jumps over the lazy dog while the radio plays softly.",
        "Every morning the market opens early and the fishermen bring their catch.",
        "Please remember to bring your passport and two photographs to the office.",
        "The committee will publish its findings after the summer holidays end.",
    ],
    "ja": [
        "きょうは いい てんき です ね。 こうえん に さんぽ に いきましょう。",
        "あたらしい えき の まえ に おおきな ほんや が できました。",
        "まいにち あさ はやく おきて ラジオ たいそう を します。",
        "こども たち は かわ で さかな を つかまえて あそびました。",
    ],
    "de": [
        "Der Zug nach Berlin fährt heute zwanzig Minuten später ab.",
        "Im Sommer wandern wir gern durch die Berge und Wälder.",
    ],
    "fr": [
        "Le petit café au coin de la rue ouvre tous les matins à sept heures.",
        "Nous avons visité le musée et mangé au bord de la rivière.",
    ],
}


def espeak(text: str, voice: str, speed: int) -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return soxr.resample(samples, rate, SR).astype(np.float32)


def codec2(name: str) -> np.ndarray:
    if name.endswith(".wav"):
        samples, rate = sf.read(CODEC2 / name, dtype="float32")
        return soxr.resample(samples, rate, SR).astype(np.float32)
    raw = np.fromfile(CODEC2 / name, dtype="<i2").astype(np.float32) / 32768
    return soxr.resample(raw, 8000, SR).astype(np.float32)


def corpus(quick: bool) -> tuple[dict[str, np.ndarray], list[np.ndarray], str]:
    """Registered voices, unregistered speech, and a description."""
    registered: dict[str, np.ndarray] = {}
    unregistered: list[np.ndarray] = []
    real = [n for n in CODEC2_SPEECH if (CODEC2 / n).exists()]
    for i, name in enumerate(real):
        audio = codec2(name)
        if len(audio) < 4 * SR:
            continue
        half = len(audio) // 2
        if i % 3 == 2:  # a third of the speakers stay unregistered
            unregistered.append(audio)
        else:
            registered[f"codec2:{name}"] = audio[:half] if len(audio) > 40 * SR else audio
            if len(audio) > 40 * SR:
                unregistered.append(audio[half:])
    variants = ["", "+m3", "+f2", "+f4"] if not quick else ["", "+f2"]
    for lang, texts in TEXTS.items():
        for v, variant in enumerate(variants):
            for t, text in enumerate(texts):
                speech = espeak(text, lang + variant, 150 + 10 * v)
                # unregistered speech says other sentences: the same sentence in a near-identical
                # synthetic voice is the same audio, and finding it would be right
                if t < max(1, len(texts) // 2):
                    registered[f"espeak:{lang}{variant}:{t}"] = speech
                else:
                    unregistered.append(speech)
    description = (
        f"{sum(k.startswith('codec2') for k in registered)} real recordings "
        f"(codec2-examples) and {sum(k.startswith('espeak') for k in registered)} "
        f"espeak-ng utterances registered, "
        f"{sum(len(a) for a in registered.values()) / SR / 60:.1f} min in all"
    )
    return registered, unregistered, description


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    power = np.mean(x**2) + 1e-12
    return x + rng.standard_normal(len(x)).astype(np.float32) * np.sqrt(power / 10 ** (snr_db / 10))


# libsndfile's LAME encoder at a constant bitrate: compression level → kb/s at 16 kHz mono
# (measured: 0.81 → 32, 0.92 → 16, 0.97 → 8; the bitrate is printed from the encoded size)
MP3_LEVEL = {32: 0.81, 16: 0.92, 8: 0.97}
mp3_bits: dict[int, list[float]] = {}


def mp3(x: np.ndarray, kbps: int) -> np.ndarray:
    buffer = io.BytesIO()
    sf.write(
        buffer, x, SR, format="MP3", compression_level=MP3_LEVEL[kbps], bitrate_mode="CONSTANT"
    )
    mp3_bits.setdefault(kbps, []).append(len(buffer.getvalue()) * 8 / (len(x) / SR) / 1000)
    buffer.seek(0)
    return sf.read(buffer, dtype="float32")[0]


def telephone(x: np.ndarray) -> np.ndarray:
    narrow = soxr.resample(x, SR, 8000)
    spectrum = np.fft.rfft(narrow)
    freqs = np.fft.rfftfreq(len(narrow), 1 / 8000)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    return np.fft.irfft(spectrum, len(narrow)).astype(np.float32), 8000


def tempo(x: np.ndarray, rate: float) -> np.ndarray:
    import librosa  # the benchmark's effect, not the deployed path

    return librosa.effects.time_stretch(x, rate=rate)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    registered, unregistered, description = corpus(args.quick)
    index = MemoryIndex()
    for voice_id, audio in registered.items():
        index.add(voice_id, *fingerprint(audio, SR))
    conditions = {
        "clean": lambda x: (x, SR),
        "white noise 10 dB": lambda x: (add_noise(x, 10, rng), SR),
        "white noise 0 dB": lambda x: (add_noise(x, 0, rng), SR),
        "MP3 32 kb/s CBR": lambda x: (mp3(x, 32), SR),
        "MP3 16 kb/s CBR": lambda x: (mp3(x, 16), SR),
        "MP3 8 kb/s CBR (extreme)": lambda x: (mp3(x, 8), SR),
        "gain -20 dB": lambda x: (x * 0.1, SR),
        "telephone band": telephone,
        "tempo +5 %": lambda x: (tempo(x, 1.05), SR),
        "speed +3 %": lambda x: (soxr.resample(x, SR * 1.03, SR).astype(np.float32), SR),
    }
    per_condition = 20 if args.quick else 60
    voices = sorted(registered)
    rows = []
    cpu_ms = []
    for name, distort in {**conditions, "3 s excerpt": None}.items():
        hits = 0
        for _ in range(per_condition):
            voice = voices[rng.integers(len(voices))]
            audio = registered[voice]
            length = 3 * SR if distort is None else 5 * SR
            length = min(length, len(audio))
            start = int(rng.integers(0, len(audio) - length + 1))
            clip, rate = (
                (audio[start : start + length], SR)
                if distort is None
                else distort(audio[start : start + length])
            )
            peaks = peaks_of(np.asarray(clip, dtype=np.float32), rate)
            began = time.process_time()
            found = match(peaks, index.lookup)
            cpu_ms.append((time.process_time() - began) * 1000)
            hits += bool(found) and found[0].voice_id == voice
        rows.append((name, hits, per_condition))
    false_positives, queries = 0, 0
    while queries < (60 if args.quick else 240):
        audio = unregistered[queries % len(unregistered)]
        length = min(5 * SR, len(audio))
        start = int(rng.integers(0, len(audio) - length + 1))
        found = match(peaks_of(audio[start : start + length], SR), index.lookup)
        false_positives += bool(found)
        queries += 1
    lookups = [
        len(
            np.unique(
                np.concatenate(
                    [h for _, h, _ in query_hashes(peaks_of(registered[v][: 5 * SR], SR))]
                )
            )
        )
        for v in voices[:10]
    ]
    print(f"speech: {description}")
    print(f"{'condition (5 s excerpts unless said)':40s} recall")
    for name, hits, total in rows:
        print(f"{name:40s} {hits}/{total} = {100 * hits / total:.0f} %")
    for kbps, bits in sorted(mp3_bits.items()):
        print(f"MP3 {kbps} kb/s: measured {np.mean(bits):.1f} kb/s")
    print(f"{'unregistered speech: false positives':40s} {false_positives}/{queries}")
    print(f"{'matching CPU per query (median)':40s} {np.median(cpu_ms):.1f} ms")
    print(f"{'index lookups per 5 s query (median)':40s} {int(np.median(lookups))}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
