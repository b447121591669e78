import pytest

from shared.text import clean_kana, clean_name, nfkc


def test_nfkc_unifies_widths_and_spaces() -> None:
    assert nfkc("ＡＢＣ　ｱｲｳ  x") == "ABC アイウ x"


@pytest.mark.parametrize("kana", ["やまだ たろう", "ヤマダ・タロウ", "ﾔﾏﾀﾞ ﾀﾛｰ", "ゝゞヽヾ"])
def test_kana_readings_are_accepted(kana: str) -> None:
    assert clean_kana(kana)


@pytest.mark.parametrize("bad", ["山田", "Yamada", "やまだ1", "やま🎤", "やま\u200bだ"])
def test_non_kana_readings_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="name_kana"):
        clean_kana(bad)


@pytest.mark.parametrize("bad", ["a\x07b", "a\u202eb", "声🎙", "\u3000", "a\u2028b", "a\u2029b"])
def test_names_refuse_controls_emoji_and_emptiness(bad: str) -> None:
    with pytest.raises(ValueError, match="name"):
        clean_name(bad, "name")


def test_a_file_may_be_named_as_people_name_files() -> None:
    from shared.voices.models import FileFacts

    facts = FileFacts(
        filename="C:\\録音\\声🎤.wav", size_bytes=10, content_type="audio/x-wav; codecs=1"
    )
    assert facts.filename == "声🎤.wav" and facts.content_type == "audio/x-wav"
    for joined in ("👩\u200d🎤.wav", "🏳\ufe0f\u200d🌈.mp3"):
        assert FileFacts(filename=joined, size_bytes=10, content_type="audio/wav").filename
    for bad in ("a\u202eb.wav", "a\x00.wav", "  ", "voice\u200d.wav", "\u200d"):
        with pytest.raises(ValueError, match="filename"):
            FileFacts(filename=bad, size_bytes=10, content_type="audio/wav")
