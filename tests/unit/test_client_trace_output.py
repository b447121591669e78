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
