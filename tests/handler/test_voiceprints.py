"""Voiceprints follow the voices they rest on (through the audit stream, as deployed), a
performer sees theirs, and a screen compares against them with the performer's intent."""

from __future__ import annotations

import numpy as np

from shared.screens import service as screens
from shared.screens import voiceprints
from shared.speaker import MODEL_VERSION
from shared.voices import service as voices


def unit(seed: int) -> np.ndarray:
    v = np.abs(np.random.default_rng(seed).standard_normal(256)).astype(np.float32)
    return v / np.linalg.norm(v)


def test_voiceprint_is_the_speech_weighted_mean_of_registered_voices(
    registry, registered_voice, deliver_events
) -> None:
    performer = registry.member("performer", display_name="声優 一")
    holder = registry.member("rights_holder")
    short, long = (
        registered_voice(holder, [performer.member_id]),
        registered_voice(holder, [performer.member_id]),
    )
    for voice_no, seed, seconds in ((short, 1, 10.0), (long, 2, 30.0)):
        assert voiceprints.put_voice_embedding(
            voices.require(voice_no), unit(seed), seconds, MODEL_VERSION
        )
    deliver_events()
    path = f"/v1/performers/{performer.member_id}/voiceprint"
    view = registry.api.get(path, token=performer.token)
    assert view.status == 200 and view.json["status"] == "active"
    assert view.json["speech_s"] == 40.0
    assert {v["voice_no"] for v in view.json["voices"]} == {short, long}
    expected = 10 * unit(1) + 30 * unit(2)
    stored = np.array(voiceprints.vector_of(voiceprints.get(performer.member_id)["vector"]))
    assert np.allclose(stored, expected / np.linalg.norm(expected), atol=1e-6)
    # the operator may look; another performer may not
    assert registry.api.get(path, token=registry.operator).status == 200
    assert registry.api.get(path, token=registry.member("performer").token).status == 403

    # a screen of a clip like the long voice finds this performer, with their intent
    matches, compared = screens.compare(unit(2))
    assert compared >= 1
    assert [m["performer_id"] for m in matches] == [performer.member_id]
    assert matches[0]["display_name"] == "声優 一"
    assert matches[0]["intent"] == {
        "tts": "contract",
        "voice_conversion": "contract",
        "singing": "contract",
    }
    assert screens.compare(unit(7))[0] == []  # another voice: cosine about 0.64

    # a voice in conflict leaves the voiceprint; with no registered voice left, there is none
    voices.transition(
        long, to="conflict", allowed_from=("registered",), actor="test", action="voice.conflict"
    )
    deliver_events()
    assert registry.api.get(path, token=performer.token).json["speech_s"] == 10.0
    voices.transition(
        short, to="rejected", allowed_from=("registered",), actor="test", action="voice.rejected"
    )
    deliver_events()
    assert registry.api.get(path, token=performer.token).json["status"] == "none"
    assert screens.compare(unit(2))[0] == []


def test_a_voice_of_several_performers_gives_no_voiceprint(registry, registered_voice) -> None:
    one, two = registry.member("performer"), registry.member("performer")
    holder = registry.member("rights_holder")
    duet = registered_voice(holder, [one.member_id, two.member_id])
    assert not voiceprints.put_voice_embedding(voices.require(duet), unit(3), 20.0, MODEL_VERSION)
    assert voiceprints.voice_embeddings(one.member_id) == []
