"""The audio engine of the deployed path: numpy, soundfile and soxr only (librosa's JIT costs
13-15 s on a cold start and its dependencies exceed Lambda's 250 MB)."""

from .decode import ACCEPTED, AudioRejected, DecodedAudio, decode, decode_array
from .engine import voice_hashes
from .fingerprint import ALGORITHM_VERSION, HOP_S

__all__ = [
    "ACCEPTED",
    "ALGORITHM_VERSION",
    "HOP_S",
    "AudioRejected",
    "DecodedAudio",
    "decode",
    "decode_array",
    "voice_hashes",
]
