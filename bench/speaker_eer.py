"""Voice likeness on real speech: equal error rate, and false accepts / false rejects at the
operating threshold, for 3, 5 and 10 s queries, clean and through a telephone channel.

    .venv/bin/python bench/speaker_eer.py        # fetches the corpus once (bench/corpus.py)

Each speaker's first utterances are enrolled (up to 30 s, at most half their speech: the
voiceprint), queries are cut from later utterances (other words). Every query is scored against
every voiceprint of its fold: its own speaker's is a target trial, the others non-target trials.
Speakers are split in two folds, alternating within each source: fold A sets the threshold
(false accepts ≤ 1 % over A's trials, all lengths and channels) and fits the calibration (a
logistic curve on the cosine, classes weighted equally); the table reports fold B, whose
speakers never touched either. The swapped run (B sets, A reports) is printed below it.
Telephone: the query resampled to 8 kHz, band-passed 300-3400 Hz, G.711 µ-law coded, back to
16 kHz (the voiceprints stay clean, as registered voices are). Results: bench/out/speaker_eer.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
from scipy import signal  # the benchmark's effect (a librosa dependency), not the deployed path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import speakers as corpus_speakers  # noqa: E402

from shared.speaker import channel, encoder  # noqa: E402

LENGTHS = (3.0, 5.0, 10.0)
CHANNELS = ("clean", "telephone")
ENROL_S = 30.0
PER_LENGTH = 4
TARGET_FAR = 0.01
OUT = ROOT / "bench" / "out" / "speaker_eer{}.json"


def telephone(wav: np.ndarray, sr: int = 16000) -> np.ndarray:
    narrow = soxr.resample(wav, sr, 8000, quality="HQ")
    sos = signal.butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")
    narrow = np.clip(signal.sosfilt(sos, narrow), -1, 1)
    mu = 255.0
    coded = np.sign(narrow) * np.log1p(mu * np.abs(narrow)) / np.log1p(mu)
    coded = np.round(coded * 127) / 127  # 8-bit µ-law
    narrow = np.sign(coded) * ((1 + mu) ** np.abs(coded) - 1) / mu
    return soxr.resample(narrow.astype(np.float32), 8000, sr, quality="HQ")


def embed_all(wavs: list[np.ndarray]) -> np.ndarray:
    """Embeddings of many utterances, preprocessed as the service does, batched for speed."""
    return encoder.embed_utterances([encoder.preprocess(w) for w in wavs])


@dataclass
class Trials:
    cosine: np.ndarray
    target: np.ndarray  # bool
    length: np.ndarray
    channel: np.ndarray
    speaker: np.ndarray
    route: np.ndarray  # 0: clean voiceprint variant, 1: telephone variant


def trials_for(fold: list[str], prints: dict[str, np.ndarray], queries: list[dict]) -> Trials:
    rows = []
    names = [s for s in fold if s in prints]
    for q in queries:
        if q["speaker"] not in names:
            continue
        best = [similarity(prints[s], q["embedding"], q["route"]) for s in names]
        for name, cos in zip(names, best, strict=True):
            rows.append(
                (float(cos), name == q["speaker"], q["length"], q["channel"], name, q["route"])
            )
    return Trials(*(np.array(column) for column in zip(*rows, strict=True)))


def similarity(voiceprint: np.ndarray, query: np.ndarray, route: int = 0) -> float:
    """The cosine with the voiceprint's variant for the query's channel (row 0 clean, row 1
    telephone: a narrowband query meets the telephone variant, as the service does)."""
    return float(np.atleast_2d(voiceprint)[route] @ query)


def eer(cos: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the cosine where false accepts equal false rejects."""
    thresholds = np.unique(cos)
    far = np.array([(cos[~target] >= t).mean() for t in thresholds])
    frr = np.array([(cos[target] < t).mean() for t in thresholds])
    i = int(np.argmin(np.abs(far - frr)))
    return float((far[i] + frr[i]) / 2), float(thresholds[i])


def threshold_at_far(cos: np.ndarray, target: np.ndarray, far: float) -> float:
    """The lowest cosine whose false-accept rate on these trials is at most ``far``."""
    impostors = np.sort(cos[~target])
    k = int(np.floor(far * len(impostors)))
    return float(impostors[len(impostors) - k - 1] + 1e-6) if k < len(impostors) else 0.0


def fit_logistic(cos: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """score = 1 / (1 + exp(-(a·cos + b))), classes weighted equally (Newton's method)."""
    x = np.stack([cos, np.ones_like(cos)], axis=1)
    y = target.astype(float)
    w = np.where(target, 0.5 / target.sum(), 0.5 / (~target).sum())
    theta = np.zeros(2)
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ theta)))
        grad = x.T @ (w * (p - y))
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(theta[0]), float(theta[1])


def report(trials: Trials, thresholds: dict[int, float]) -> list[dict]:
    """Per condition; each trial is decided by the threshold of its route."""
    rows = []
    for condition in CHANNELS:
        for length in LENGTHS:
            sel = (trials.length == length) & (trials.channel == condition)
            cos, tgt = trials.cosine[sel], trials.target[sel]
            if tgt.sum() == 0:
                continue
            threshold = np.array([thresholds[r] for r in trials.route[sel]])
            rate, _ = eer(cos, tgt)
            rows.append(
                {
                    "channel": condition,
                    "length_s": length,
                    "eer": rate,
                    "far": float((cos[~tgt] >= threshold[~tgt]).mean()),
                    "frr": float((cos[tgt] < threshold[tgt]).mean()),
                    "targets": int(tgt.sum()),
                    "impostors": int((~tgt).sum()),
                }
            )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| query | channel | EER | false accepts | false rejects | target / impostor trials |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['length_s']:.0f} s | {r['channel']} | {r['eer']:.1%} | {r['far']:.2%} | "
            f"{r['frr']:.1%} | {r['targets']} / {r['impostors']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-length", type=int, default=PER_LENGTH)
    parser.add_argument(
        "--channel-prints",
        action="store_true",
        help="enrol each voice clean and through the telephone channel; a query takes the best",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    everyone = corpus_speakers.speakers()
    prints: dict[str, np.ndarray] = {}
    queries: list[dict] = []
    sources: dict[str, str] = {}
    languages: dict[str, str] = {}
    for spk in everyone.values():
        cut = corpus_speakers.split(spk, ENROL_S, LENGTHS, args.per_length)
        if cut is None or not any(cut.queries.values()):
            print(f"  left out {spk.id}: {spk.seconds:.1f} s of speech", file=sys.stderr)
            continue
        enrolments = [cut.enrolment] + (
            [channel.telephone(cut.enrolment)] if args.channel_prints else []
        )
        wavs, meta = list(enrolments), [None] * len(enrolments)
        for length, reels in cut.queries.items():
            for reel in reels:
                wavs += [reel, telephone(reel)]
                meta += [(length, "clean"), (length, "telephone")]
        embedded = embed_all(wavs)
        prints[spk.id] = embedded[: len(enrolments)]
        n = len(enrolments)
        for vector, m in zip(embedded[n:], meta[n:], strict=True):
            queries.append(
                {"speaker": spk.id, "length": m[0], "channel": m[1], "embedding": vector}
            )
        for q, wav in zip(queries[len(queries) - len(wavs) + n :], wavs[n:], strict=True):
            q["route"] = int(args.channel_prints and channel.is_narrowband(wav))
        sources[spk.id], languages[spk.id] = spk.source, spk.language
        print(f"  {spk.id}: {len(wavs) - n} queries", file=sys.stderr)

    ordered = sorted(prints, key=lambda s: (sources[s], s))
    by_source: dict[str, list[str]] = {}
    for s in ordered:
        by_source.setdefault(sources[s], []).append(s)
    fold_a = [s for group in by_source.values() for s in group[0::2]]
    fold_b = [s for group in by_source.values() for s in group[1::2]]

    results = {}
    for name, setting, held_out in (("B", fold_a, fold_b), ("A", fold_b, fold_a)):
        fit = trials_for(setting, prints, queries)
        calibration = {}
        for route in sorted(set(fit.route.tolist())):
            sel = fit.route == route
            threshold = threshold_at_far(fit.cosine[sel], fit.target[sel], TARGET_FAR)
            a, b = fit_logistic(fit.cosine[sel], fit.target[sel])
            calibration[route] = {
                "threshold": threshold,
                "logistic": {"a": a, "b": b},
                "score_at_threshold": 1 / (1 + np.exp(-(a * threshold + b))),
                "trials": int(sel.sum()),
            }
        thresholds = {r: c["threshold"] for r, c in calibration.items()}
        rows = report(trials_for(held_out, prints, queries), thresholds)
        results[name] = {"calibration": calibration, "rows": rows, "speakers": held_out}

    main_run = results["B"]
    langs = sorted({languages[s] for s in prints})
    print(
        f"\n{len(prints)} speakers ({len(fold_a)} set the threshold, {len(fold_b)} reported), "
        f"{len(langs)} languages ({', '.join(langs)}); "
        f"voiceprints from up to {ENROL_S:.0f} s of each speaker's first utterances.\n"
    )
    print(table(main_run["rows"]))
    kinds = ("clean", "narrowband") if args.channel_prints else ("all",)
    for route, c in main_run["calibration"].items():
        print(
            f"\n{kinds[route]} queries ({c['trials']} trials on fold A): "
            f"operating threshold cosine ≥ {c['threshold']:.3f} "
            f"(score ≥ {c['score_at_threshold']:.2f}); "
            f"score = 1 / (1 + exp(-({c['logistic']['a']:.2f}·cos "
            f"{c['logistic']['b']:+.2f})))"
        )
    swapped = results["A"]
    set_by_b = ", ".join(f"{c['threshold']:.3f}" for c in swapped["calibration"].values())
    print(
        f"\nswapped folds (B sets cosine ≥ {set_by_b}, A reports): "
        + "; ".join(
            f"{r['length_s']:.0f} s {r['channel']} EER {r['eer']:.1%} FA {r['far']:.2%} "
            f"FR {r['frr']:.1%}"
            for r in swapped["rows"]
        )
    )
    ja = [s for s in prints if languages[s] == "ja"]
    for s in ja:
        own = [q for q in queries if q["speaker"] == s and q["channel"] == "clean"]
        others = [prints[o] for o in prints if o != s]
        for q in own:
            print(
                f"Japanese ({s}): {q['length']:.0f} s query vs own voiceprint "
                f"{similarity(prints[s], q['embedding'], q['route']):.3f}, best other "
                f"{max(similarity(o, q['embedding'], q['route']) for o in others):.3f}"
            )
    print(f"\n({time.perf_counter() - started:.0f} s)")
    out = Path(str(OUT).format("_channel_prints" if args.channel_prints else ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "speakers": {s: {"source": sources[s], "language": languages[s]} for s in prints},
                "folds": {"A": fold_a, "B": fold_b},
                "results": results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
