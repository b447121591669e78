"""Trace latency on the real local stack (moto server, API, worker), as `make run` starts it.

Registers a few real recordings (bench/corpus.py) through the API, then traces 5 s excerpts of
them two ways and prints the wall time:
- upload: POST /v1/traces, the presigned upload, then GET /v1/traces/{id} every 20 ms until the
  trace is done; timed from the end of the upload (queue, decode, fingerprint, index read, match);
- fingerprint: POST /v1/traces/fingerprint with the peaks computed here (the `ailas audit` path).

    .venv/bin/python bench/trace_latency.py [--port 8103 --aws-port 5103] [--voices 3] [--snr 0]

``--snr`` adds white noise to the excerpts (bench/trace_accuracy.py's), so that the keyed test
misses some and the trace verifies its near misses on the voices' stored peaks (S3 reads).

(From the `audio` branch's tri-speech-2 round; split into functions.)
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402
from trace_accuracy import add_noise  # noqa: E402

from client.ailas.audit import fingerprint_query  # noqa: E402
from tests.http import http_api  # noqa: E402
from tests.scenario import Registry, voice_sheet  # noqa: E402

SR = corpus.SR


def wav(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, SR, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def upload(created: dict, data: bytes, name: str) -> None:
    form = created["upload"]
    reply = requests.post(
        form["url"], data=form["fields"], files={"file": (name, data, "audio/wav")}, timeout=120
    )
    reply.raise_for_status()


def start_stack(port: int, aws_port: int, token: str) -> subprocess.Popen:
    """`python -m infra.local_stack` on the given ports, once its health route answers."""
    env = {
        **os.environ,
        "PORT": str(port),
        "AILAS_AWS_PORT": str(aws_port),
        "AILAS_OPERATOR_TOKEN": token,
    }
    log = open("/tmp/ailas-trace-latency.log", "wb")  # noqa: SIM115 - the stack's lifetime
    stack = subprocess.Popen(
        [sys.executable, "-m", "infra.local_stack"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).ok:
                return stack
        except requests.ConnectionError:
            pass
        if stack.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the local stack did not start: see /tmp/ailas-trace-latency.log")
        time.sleep(0.2)


def register(registry: Registry, holder: Any, picked: list, seconds: float) -> dict:
    """Register each recording's first ``seconds`` through the API; voice_no → samples."""
    audio: dict[str, np.ndarray] = {}
    for recording in picked:
        samples = recording.load(SR)[: int(seconds * SR)]
        body = voice_sheet(title=recording.id)
        body["file"] = {
            "filename": "voice.wav",
            "size_bytes": len(wav(samples)),
            "content_type": "audio/wav",
        }
        created = registry.api.post("/v1/voices", body, token=holder.token).json
        upload(created, wav(samples), "voice.wav")
        while True:
            voice = registry.api.get(f"/v1/voices/{created['voice_no']}", token=holder.token)
            if voice.json.get("status") in ("registered", "rejected", "conflict"):
                break
            time.sleep(0.2)
        audio[created["voice_no"]] = samples
    return audio


def trace_once(registry: Registry, business: Any, data: bytes) -> tuple[float, float, list]:
    """One 5 s trace by upload and one by client fingerprint: (upload s, fingerprint s, matches)."""
    body = {"file": {"filename": "q.wav", "size_bytes": len(data), "content_type": "audio/wav"}}
    created = registry.api.post("/v1/traces", body, token=business.token).json
    upload(created, data, "q.wav")
    t0 = time.monotonic()
    while True:
        trace = registry.api.get(f"/v1/traces/{created['trace_id']}", token=business.token)
        if trace.json.get("status") in ("done", "failed"):
            break
        time.sleep(0.02)
    upload_s = time.monotonic() - t0
    path = Path("/tmp/ailas-trace-latency-q.wav")
    path.write_bytes(data)
    query = fingerprint_query(path)
    t0 = time.monotonic()
    reply = registry.api.post("/v1/traces/fingerprint", query, token=business.token)
    assert reply.status == 200, reply
    return upload_s, time.monotonic() - t0, trace.json.get("matches", [])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8103)))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AILAS_AWS_PORT", 5103)))
    parser.add_argument("--voices", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0, help="of each registered voice")
    parser.add_argument("--traces", type=int, default=10)
    parser.add_argument("--snr", type=float, default=None, help="white noise in the excerpts")
    args = parser.parse_args()
    token = "bench-operator-" + os.urandom(8).hex()
    stack = start_stack(args.port, args.aws_port, token)
    try:
        registry = Registry(http_api(f"http://127.0.0.1:{args.port}"), token)
        holder, business = registry.member("rights_holder"), registry.member("business")
        rng = np.random.default_rng(5)
        found = [r for r in corpus.recordings() if r.duration_s >= args.seconds + 5]
        picked = [found[i] for i in rng.choice(len(found), args.voices, replace=False)]
        began = time.monotonic()
        audio = register(registry, holder, picked, args.seconds)
        registered_s = time.monotonic() - began
        upload_s, fingerprint_s, hits, on_peaks = [], [], 0, 0
        for i in range(args.traces):
            voice_no = list(audio)[i % len(audio)]
            start = int(rng.integers(0, len(audio[voice_no]) - 5 * SR))
            clip = audio[voice_no][start : start + 5 * SR]
            if args.snr is not None:
                clip = np.clip(add_noise(clip, args.snr, rng), -1, 1)
            by_upload, by_peaks, matches = trace_once(registry, business, wav(clip))
            upload_s.append(by_upload)
            fingerprint_s.append(by_peaks)
            right = [m for m in matches if m["voice_no"] == voice_no]
            hits += bool(right)
            on_peaks += bool(right) and right[0].get("found_by") == "peaks"
        print(
            f"local stack: {len(audio)} voices of {args.seconds:.0f} s registered in "
            f"{registered_s:.0f} s ({registered_s / len(audio):.1f} s each on moto)"
        )
        print(f"{'5 s trace':34s} {'median':>8s} {'p90':>8s} {'max':>8s} {'≤ 1 s':>7s}")
        for name, values in (
            ("upload → done (after the upload)", upload_s),
            ("fingerprint query (POST)", fingerprint_s),
        ):
            within = f"{sum(v <= 1.0 for v in values)}/{len(values)}"
            print(
                f"{name:34s} {np.median(values):>7.2f}s {np.percentile(values, 90):>7.2f}s "
                f"{np.max(values):>7.2f}s {within:>7s}"
            )
        noise = "clean" if args.snr is None else f"white noise at {args.snr:g} dB SNR"
        print(f"found the right voice ({noise}): {hits}/{args.traces}, {on_peaks} on the peaks")
    finally:
        stack.terminate()
        try:
            stack.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stack.kill()


if __name__ == "__main__":
    main()
