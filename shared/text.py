"""Japanese text as a first-class citizen: NFKC normalisation and the checks that names get."""

from __future__ import annotations

import re
import unicodedata

# Hiragana, katakana, the long-vowel mark, iteration marks, the middle dot and spaces.
_KANA = re.compile(r"^[\u3041-\u3096\u309D-\u309F\u30A1-\u30FA\u30FC-\u30FF\u30FB\u3000 ]+$")


def nfkc(text: str) -> str:
    """NFKC (half-width kana to full width, full-width Latin to ASCII), spaces collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def has_control(text: str) -> bool:
    """Control, format, unassigned characters, and the line and paragraph separators (U+2028,
    U+2029): a name that breaks a line would put words of its own into a mail or a page."""
    return any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for c in text)


def has_emoji(text: str) -> bool:
    return any(unicodedata.category(c) == "So" or 0x1F000 <= ord(c) <= 0x1FAFF for c in text)


def clean_name(value: str, field: str) -> str:
    """A person's or organisation's name: NFKC, no control characters, no emoji."""
    if has_control(value):
        raise ValueError(f"{field} contains control or invisible characters")
    value = nfkc(value)
    if has_emoji(value):
        raise ValueError(f"{field} may not contain emoji or pictographs")
    if not value:
        raise ValueError(f"{field} is empty")
    return value


ZWJ = "\u200d"  # joins emoji into one (👩‍🎤): a format character, allowed only between two


def clean_filename(value: str, field: str = "filename") -> str:
    """A file's name as the sender's system wrote it: NFC, no control characters; emoji and
    pictographs are allowed (``声🎤.wav`` is a file people have), joined ones too."""
    joined = "".join(
        ""
        if c == ZWJ and 0 < i < len(value) - 1 and _pictographs(value[i - 1], value[i + 1])
        else c
        for i, c in enumerate(value)
    )
    if has_control(joined):
        raise ValueError(f"{field} contains control or invisible characters")
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise ValueError(f"{field} is empty")
    return value


def _pictographs(before: str, after: str) -> bool:
    """Both sides of a joiner are emoji (or the emoji-style selector after one)."""
    return (has_emoji(before) or before == "\ufe0f") and has_emoji(after)


def clean_kana(value: str, field: str = "name_kana") -> str:
    value = clean_name(value, field)
    if not _KANA.match(value):
        raise ValueError(f"{field} must be written in kana (hiragana or katakana)")
    return value


def clean_free_text(value: str, field: str) -> str:
    """Free text (notes, descriptions): NFKC, newlines and tabs allowed, other controls not."""
    if any(unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn") and c not in "\n\t" for c in value):
        raise ValueError(f"{field} contains control characters")
    return unicodedata.normalize("NFKC", value).strip()
