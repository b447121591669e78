"""The ingest path's hook: a voice's speaker embedding, kept for its performer's voiceprint.

Called once the upload is decoded; a failure here never fails the registration (the voice is
still fingerprinted and registered; only its voiceprint contribution is missing, logged).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from shared.logging import logger
from shared.screens import voiceprints


def add_from_file(voice: dict[str, Any], path: str | Path | BinaryIO) -> bool:
    """Embed the speech of a voice with exactly one member performer; True when kept."""
    if voiceprints.sole_performer(voice) is None:
        return False
    from shared import speaker

    try:
        embedding = speaker.embed_file(path)
    except (speaker.NoSpeech, speaker.WeightsMissing, RuntimeError, ValueError) as error:
        logger.warning(
            "no speaker embedding for voice",
            extra={"voice_no": voice.get("voice_no"), "reason": str(error)},
        )
        return False
    return voiceprints.put_voice_embedding(
        voice, embedding.vector, embedding.speech_s, embedding.model
    )
