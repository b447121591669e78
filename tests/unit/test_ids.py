import itertools

from shared import ids


def test_new_ids_are_random_well_formed_and_self_checking() -> None:
    made = {ids.new_id("voice") for _ in range(2000)}
    assert len(made) == 2000
    for voice_no in itertools.islice(made, 200):
        assert voice_no.startswith("V-") and len(voice_no) == 13
        assert ids.normalize(voice_no, "voice") == voice_no


def test_every_single_character_typo_is_caught() -> None:
    voice_no = ids.new_id("voice")
    body = voice_no.replace("-", "")[1:9]
    for position, char in itertools.product(range(8), ids.ALPHABET):
        if body[position] == char:
            continue
        typo = body[:position] + char + body[position + 1 :]
        assert ids.normalize(f"V{typo}{voice_no[-1]}", "voice") is None


def test_adjacent_transpositions_are_caught() -> None:
    for _ in range(200):
        voice_no = ids.new_id("voice")
        body = voice_no.replace("-", "")[1:9]
        for i in range(7):
            if body[i] != body[i + 1]:
                swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :]
                assert ids.normalize(f"V{swapped}{voice_no[-1]}", "voice") is None


def test_typing_is_forgiving_about_case_dashes_and_lookalikes() -> None:
    voice_no = ids.new_id("voice")
    typed = voice_no.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert ids.normalize(typed, "voice") == voice_no
    assert ids.normalize(voice_no, "member") is None
    assert ids.normalize("V-" + "Z" * 40, "voice") is None


def test_look_alikes_read_the_same_in_the_check_position() -> None:
    # 0 and 1 are check symbols too: "o" and "l" typed there must read as them
    found = {}
    while len(found) < 2:
        voice_no = ids.new_id("voice")
        if voice_no[-1] in "01":
            found[voice_no[-1]] = voice_no
    for check, voice_no in found.items():
        typed = voice_no[:-1] + {"0": "o", "1": "l"}[check]
        assert ids.normalize(typed, "voice") == voice_no
        assert ids.normalize(voice_no[:-1] + ("I" if check == "1" else "O"), "voice") == voice_no
