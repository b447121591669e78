"""How long a screen takes on the local stack: from the end of the upload to ``done``.

    .venv/bin/python bench/screen_latency.py

Starts the local stack on free ports (as the end-to-end tests do), registers two real voices
(pocketsphinx-testdata: a LibriVox reader, a card-name speaker) and screens a 10 s clip of the
reader's other sentences several times over HTTP (presigned POST), polling every 50 ms.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import requests  # noqa: E402

from tests import realspeech  # noqa: E402
from tests.audiofiles import wav_bytes  # noqa: E402
from tests.e2e.conftest import start_stack, stop_stack  # noqa: E402
from tests.http import http_api  # noqa: E402
from tests.scenario import Registry, voice_sheet  # noqa: E402

REPEATS = 5


def upload(url: str, fields: dict, data: bytes) -> None:
    reply = requests.post(
        url, data=fields, files={"file": ("a.wav", data, "audio/wav")}, timeout=60
    )
    reply.raise_for_status()


def main() -> None:
    reader, cards = realspeech.reader_sentences(), realspeech.card_names()
    query = realspeech.joined(reader[3:])
    query = np.concatenate([query, realspeech.joined(reader[:1])])[: 10 * 16000]  # 10 s
    with tempfile.TemporaryDirectory() as folder:
        stack = start_stack(Path(folder))
        try:
            registry = Registry(http_api(stack.base_url), stack.operator_token)
            holder = registry.member("rights_holder")
            performers = []
            for paths in (reader[:3], cards[:4]):
                performer = registry.member("performer")
                body = voice_sheet([performer.member_id])
                data = wav_bytes(realspeech.joined(paths), 16000)
                body["file"] = {
                    "filename": "v.wav",
                    "size_bytes": len(data),
                    "content_type": "audio/wav",
                }
                created = registry.api.post("/v1/voices", body, token=holder.token).json
                upload(created["upload"]["url"], created["upload"]["fields"], data)
                performers.append(performer)
            for performer in performers:
                path = f"/v1/performers/{performer.member_id}/voiceprint"
                while registry.api.get(path, token=performer.token).json["status"] != "active":
                    time.sleep(0.2)
            member = registry.member("business")
            data = wav_bytes(query, 16000)
            times = []
            for _ in range(REPEATS):
                file = {"filename": "q.wav", "size_bytes": len(data), "content_type": "audio/wav"}
                created = registry.api.post("/v1/screens", {"file": file}, token=member.token).json
                upload(created["upload"]["url"], created["upload"]["fields"], data)
                uploaded = time.perf_counter()
                while True:
                    screen = registry.api.get(
                        f"/v1/screens/{created['screen_id']}", token=member.token
                    ).json
                    if screen["status"] in ("done", "failed"):
                        break
                    time.sleep(0.05)
                times.append(time.perf_counter() - uploaded)
                assert screen["status"] == "done", screen
        finally:
            stop_stack(stack)
    print("| measure | value | goal |")
    print("|---|---|---|")
    print(
        f"| 10 s screen, upload finished → done (median of {REPEATS}) | "
        f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}) | ≤ 2 s |"
    )


if __name__ == "__main__":
    main()
