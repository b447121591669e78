"""`ailas trace` and `ailas audit` on files longer than one query's peaks: windows within the
API's limit, matches merged with the file's own times."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from ailas.audit import OVERLAP_PEAKS, match_fingerprint
from shared.traces.models import MAX_QUERY_PEAKS


class Recorder:
    def __init__(self) -> None:
        self.windows: list[np.ndarray] = []

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert path == "/v1/traces/fingerprint"
        frames = np.frombuffer(base64.b64decode(body["frames"]), dtype="<u4")
        self.windows.append(frames)
        # every window finds V-1 at the same alignment (a match in the overlap: one match),
        # and V-2 at its own start (three alignments: three matches)
        start = float(frames[0]) * 0.016
        return {
            "matches": [
                {
                    "voice_no": "V-1",
                    "score": 0.9 + 0.01 * len(self.windows),
                    "query_start_s": 100.0,
                    "voice_start_s": 10.0,
                    "duration_s": 5.0,
                },
                {
                    "voice_no": "V-2",
                    "score": 0.95,
                    "query_start_s": start,
                    "voice_start_s": 0.0,
                    "duration_s": 5.0,
                },
            ],
            "cost": {"requests": 3},
        }


def test_long_fingerprints_are_sent_in_windows_and_merged() -> None:
    peaks = 2 * MAX_QUERY_PEAKS + 5_000
    frames = np.arange(peaks, dtype="<u4") * 2
    hz = np.full(peaks, 440.0, dtype="<f4")
    query = {
        "algorithm": "lm-speech-1",
        "frames": base64.b64encode(frames.tobytes()).decode(),
        "hz": base64.b64encode(hz.tobytes()).decode(),
    }
    client = Recorder()
    result = match_fingerprint(client, query)  # type: ignore[arg-type]
    assert all(len(w) <= MAX_QUERY_PEAKS for w in client.windows)
    covered = np.unique(np.concatenate(client.windows))
    assert np.array_equal(covered, frames)  # every peak sent, in order
    assert len(client.windows) == 3
    assert all(
        len(np.intersect1d(a, b)) == OVERLAP_PEAKS
        for a, b in zip(client.windows, client.windows[1:], strict=False)
    )
    assert result["peaks"] == peaks and result["cost"] == {"requests": 9}
    v1 = [m for m in result["matches"] if m["voice_no"] == "V-1"]
    assert len(v1) == 1 and v1[0]["score"] == 0.93  # the best of the three windows
    assert len([m for m in result["matches"] if m["voice_no"] == "V-2"]) == 3
