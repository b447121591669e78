"""``ailas trace`` for people: a match found on the voice's peaks says so; one found by the keys,
or from a server that does not say, reads as before."""

from __future__ import annotations

from ailas.cli import match_line

MATCH = {
    "voice_no": "V-AAAA-BBBB-C",
    "score": 1.0,
    "query_start_s": 0.6,
    "voice_start_s": 70.63,
    "duration_s": 4.2,
    "title": "fillets nl",
}


def test_a_match_says_when_it_was_found_on_the_peaks() -> None:
    keys = match_line({**MATCH, "found_by": "keys"})
    assert keys == match_line(MATCH)
    assert keys.startswith("V-AAAA-BBBB-C  score 1.000  query 0.6s  voice 70.6s  for 4.2s")
    assert "peaks" not in keys
    assert match_line({**MATCH, "found_by": "peaks"}) == keys + "  (found on the voice's peaks)"


def test_a_label_reason_names_only_what_it_is_about() -> None:
    """`ailas verify` printed a revoked label's reason as "… (*, None)"."""
    from ailas.cli import _reason_line

    revoked = {"reason": "false_attestation", "message_en": "False attestation.", "use": "*",
               "voice_no": None}  # fmt: skip
    assert _reason_line(revoked) == "False attestation."
    missing = {"reason": "contract_missing", "message_en": "No contract.", "use": "tts",
               "voice_no": "V-AAAA-BBBB-C"}  # fmt: skip
    assert _reason_line(missing) == "No contract. (tts, V-AAAA-BBBB-C)"


def test_a_match_on_a_voice_in_conflict_says_so() -> None:
    """Plain output hid what --json said (`voice_status`): two holders claim the recording."""
    assert "in conflict" in match_line({**MATCH, "voice_status": "conflict"})
    assert "in conflict" not in match_line({**MATCH, "voice_status": "registered"})
