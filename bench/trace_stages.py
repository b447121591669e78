"""Where a distorted excerpt's registered triplets get lost, stage by stage (the diagnosis behind
the README's 0 dB figures). For 5 s excerpts of registered recordings (bench/corpus.py, the
speakers bench/trace_accuracy.py registers), the registry's own peaks and groups in the
excerpt's time range are looked for in the query made of the distorted excerpt:

- peaks: a registered peak is found when the query has a peak within ±1 frame and ±0.5
  semitone; a lost one is below the query's peak floor, a maximum of ±1 bin × ±1 frame but not
  of the picking neighbourhood, or not even that (and else thinned away);
- groups: registered groups whose three peaks are found; of those, the ones the query makes
  from the same three peaks (partner choice); of those, the ones one of whose probe keys equals
  the registered key (bins);
- keys: registered keys that a probe of the query holds at the anchor's frame (±2).

    .venv/bin/python bench/trace_stages.py [--excerpts 20] [--snr 0] [--seed 11]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402
from trace_accuracy import add_noise, excerpt  # noqa: E402

from shared.audio import fingerprint as fp  # noqa: E402
from shared.audio import keyed  # noqa: E402

SR = corpus.SR
FRAME = SR // fp.SAMPLE_RATE * fp.HOP  # samples of SR per spectrogram frame


def _semitones(hz: np.ndarray) -> np.ndarray:
    return 12 * np.log2(np.maximum(hz, 1.0) / fp.MIN_HZ)


def _found(reg: fp.Peaks, query: fp.Peaks) -> np.ndarray:
    """Per registered peak, the index of the query peak standing for it, or −1."""
    out = np.full(len(reg), -1)
    q_st, r_st = _semitones(query.hz), _semitones(reg.hz)
    for i in range(len(reg)):
        near = np.abs(query.frames - reg.frames[i]) + np.abs(q_st - r_st[i])
        ok = (np.abs(query.frames - reg.frames[i]) <= 1) & (np.abs(q_st - r_st[i]) <= 0.5)
        if ok.any():
            out[i] = int(np.argmin(np.where(ok, near, np.inf)))
    return out


def _why_lost(reg: fp.Peaks, spec: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """Counts of the lost registered peaks: below the floor, a maximum of ±1 × ±1 only, not
    even that, or still a maximum (thinned away)."""
    band = spec[:, fp._BAND]
    floor = band.mean(axis=1) + fp.RELATIVE_FLOOR_DB
    big = fp._max_filter(band)
    small = fp._running_max(fp._running_max(band, 1, 1), 1, 0)
    counts = np.zeros(4)
    bins = np.round(reg.hz / (fp.SAMPLE_RATE / fp.N_FFT)).astype(int) - fp._BAND[0]
    for f, b in zip(reg.frames[lost], bins[lost], strict=True):
        f = int(np.clip(f, 0, len(band) - 1))
        b = int(np.clip(b, 0, band.shape[1] - 1))
        level = band[f, b]
        kind = (
            0
            if level <= floor[f]
            else 3
            if level == big[f, b]
            else 1
            if level == small[f, b]
            else 2
        )
        counts[kind] += 1
    return counts


def _groups(reg: fp.Peaks, query: fp.Peaks, found: np.ndarray, last: int) -> np.ndarray:
    """Registered groups anchored before ``last``: [all three found, same partners in the
    query, same key among its probes, key found at the anchor's frame]."""
    rows = keyed.groups(reg)
    rows = rows[reg.frames[rows[:, 0]] < last]
    keys = keyed.pack(np.floor(keyed.coordinates(reg, rows)).astype(np.int64))
    made = {tuple(r) for r in keyed.groups(query, keyed.QUERY_NEAR).tolist()}
    probe_keys, probe_frames = keyed.query_keys(query)
    at: dict[int, list[int]] = {}
    for k, t in zip(probe_keys.tolist(), probe_frames.tolist(), strict=True):
        at.setdefault(k, []).append(t)
    out = np.zeros(4)
    for row, key in zip(rows, keys.tolist(), strict=True):
        hit = any(abs(t - reg.frames[row[0]]) <= 2 for t in at.get(key, []))
        out[3] += hit
        mapped = found[row]
        if (mapped >= 0).all():
            out[0] += 1
            if (int(mapped[0]), *sorted(mapped[1:].tolist())) in made:
                out[1] += 1
                out[2] += key in at
    return np.concatenate([[len(rows)], out])


def stages(peaks: fp.Peaks, clip: np.ndarray, start: int, distorted: np.ndarray) -> np.ndarray:
    """One excerpt's counts: registered peaks, found clean, found distorted, the four kinds of
    loss, then _groups for the clean and the distorted query."""
    first = start // FRAME
    frames = len(clip) // FRAME
    inside = (peaks.frames >= first + 4) & (peaks.frames < first + frames - 4)
    reg = fp.Peaks(peaks.frames[inside] - first, peaks.hz[inside])
    clean = fp.peaks_of(clip, SR)
    spec = fp.log_spectrogram(_at_8k(distorted))
    noisy = fp.peaks(spec)
    found_clean, found = _found(reg, clean), _found(reg, noisy)
    last = frames - 4 - keyed.MAX_DT
    return np.concatenate(
        [
            [len(reg), (found_clean >= 0).sum(), (found >= 0).sum()],
            _why_lost(reg, spec, found < 0),
            _groups(reg, clean, found_clean, last),
            _groups(reg, noisy, found, last),
        ]
    )


def _at_8k(samples: np.ndarray) -> np.ndarray:
    import soxr

    return soxr.resample(samples, SR, fp.SAMPLE_RATE, quality="HQ").astype(np.float32)


def report(total: np.ndarray, count: int, snr: float) -> None:
    n, clean, noisy = total[:3]
    lost = total[3:7] / n
    print(f"{count} excerpts of 5 s, white noise at {snr:g} dB SNR; registered peaks {n:.0f}")
    print(f"registered peaks found: clean {clean / n:.1%}, noisy {noisy / n:.1%}")
    print(
        f"lost in the noisy query: below the peak floor {lost[0]:.1%}, a maximum of ±1 × ±1 only "
        f"{lost[1]:.1%}, not even that {lost[2]:.1%}, still a maximum (thinned) {lost[3]:.1%}"
    )
    for name, g in (("clean", total[7:12]), ("noisy", total[12:17])):
        print(
            f"{name}: groups {g[0]:.0f}; all three peaks found {g[1] / g[0]:.1%}; of those, same "
            f"partners {g[2] / max(g[1], 1):.1%}; of those, same key {g[3] / max(g[2], 1):.1%}; "
            f"registered keys found at their frame {g[4] / g[0]:.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--excerpts", type=int, default=20)
    parser.add_argument("--snr", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    found = corpus.recordings()
    speakers = sorted(corpus.speakers(found))
    registered = [r for r in found if r.speaker not in speakers[3::4]]
    weights = np.array([r.duration_s for r in registered])
    rng = np.random.default_rng(args.seed)
    total, count = np.zeros(17), 0
    while count < args.excerpts:
        recording = registered[int(rng.choice(len(registered), p=weights / weights.sum()))]
        audio = recording.load(SR)
        picked = excerpt(audio, 5.0, rng)
        if picked is None:
            continue
        start = picked[1] // FRAME * FRAME  # whole frames: the registry's frames line up
        clip = audio[start : start + 5 * SR]
        peaks = fp.peaks_of(audio, SR)
        total += stages(peaks, clip, start, add_noise(clip, args.snr, rng))
        count += 1
    report(total, count, args.snr)


if __name__ == "__main__":
    main()
