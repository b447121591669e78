"""Labels inside the audio: the cost of writing and checking a C2PA label, per format and length
(signing with a test certificate, reading with c2pa's Reader, judging the label token), and the
bytes the manifest adds. No registry needed: the token is signed here with a local key.

    .venv/bin/python bench/c2pa_label.py
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "client"))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from ailas import c2pa_label  # noqa: E402
from shared.formats import jws, provenance  # noqa: E402
from shared.labels import keys  # noqa: E402


class LocalSigner:
    """Signs label tokens here, as KMS does for the registry."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = keys.jwk_of(self.key.public_key())
        self.kid = self.jwk["kid"]

    def sign_der(self, message: bytes) -> bytes:
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))


def audio(fmt: str, seconds: float) -> bytes:
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal(int(seconds * 16000)) * 0.1).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format=fmt, subtype="PCM_16" if fmt == "WAV" else None)
    return buffer.getvalue()


def timed(run, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    signer = LocalSigner()
    token = jws.sign({"label_no": "L-0000-0000-0", "ai_no": "A-0000-0000-0"}, signer)
    label = {"label_no": "L-0000-0000-0", "token": token, "verify_url": "http://x/verify/L"}
    cawg = provenance.merged_cawg([], [])
    jwks = {"keys": [signer.jwk]}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        cert = c2pa_label.dev_cert(work / "cert", "Bench")
        chain, key = cert.cert.read_bytes(), cert.key.read_bytes()
        print("| format | length | file | manifest adds | sign | read + judge |")
        print("|---|---|---|---|---|---|")
        for fmt, suffix in (("WAV", "wav"), ("MP3", "mp3")):
            for seconds in (10, 60, 300):
                source = work / f"in.{suffix}"
                source.write_bytes(audio(fmt, seconds))
                out = work / f"out.{suffix}"

                def sign(source: Path = source, out: Path = out) -> None:
                    c2pa_label.label_file(source, out, label, cawg, chain, key)

                def check(out: Path = out) -> None:
                    result = provenance.judge(
                        provenance.read_bytes(out.read_bytes()), jwks, lambda n: {"status": "valid"}
                    )
                    assert result.ok, result

                sign_s, check_s = timed(sign), timed(check)
                added = out.stat().st_size - source.stat().st_size
                print(
                    f"| {fmt} | {seconds} s | {source.stat().st_size / 1e6:.2f} MB | "
                    f"{added / 1024:.1f} KiB | {sign_s * 1000:.0f} ms | {check_s * 1000:.0f} ms |"
                )


if __name__ == "__main__":
    main()
