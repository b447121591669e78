"""Identifiers that people read and type: Crockford base32, random (never sequential), grouped
by four, ending in a check symbol (ISO 7064 mod 37-style, as Crockford specifies) so a typo is
caught before any lookup.

    V-7K3M-9Q2D-X   a voice (登録認証番号)      A-...   an AI system
    M-...           a member                    L-...   a label
    C-...           a contract                  T-...   a trace
    S-...           a voice-likeness screen    D-...   a dataset audit
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"
_DECODE = {c: i for i, c in enumerate(ALPHABET)} | {"O": 0, "I": 1, "L": 1}
KINDS = {
    "voice": "V",
    "ai": "A",
    "member": "M",
    "label": "L",
    "contract": "C",
    "trace": "T",
    "screen": "S",
    "dataset_audit": "D",
}
_SHAPE = re.compile(r"^([A-Z])-([0-9A-Z]{4})-([0-9A-Z]{4})-([0-9A-Z*~$=U])$")


def check_symbol(body: str) -> str:
    value = 0
    for char in body:
        value = value * 32 + _DECODE[char]
    return CHECK_SYMBOLS[value % 37]


def new_id(kind: str) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{KINDS[kind]}-{body[:4]}-{body[4:]}-{check_symbol(body)}"


def normalize(text: str, kind: str) -> str | None:
    """The canonical form of a typed identifier, or None when it is malformed or mistyped.

    Accepts lower case, missing dashes and the look-alikes O/I/L for 0/1/1.
    """
    compact = re.sub(r"[\s-]", "", text.strip().upper())
    prefix = KINDS[kind]
    if len(compact) != 10 or compact[0] != prefix:
        return None
    # the look-alikes read the same in the check position too (0 and 1 are check symbols)
    read = "".join("0" if c == "O" else "1" if c in "IL" else c for c in compact[1:])
    body, check = read[:8], read[8]
    if any(c not in ALPHABET for c in body) or check not in CHECK_SYMBOLS:
        return None
    if check_symbol(body) != check:
        return None
    candidate = f"{prefix}-{body[:4]}-{body[4:]}-{check}"
    return candidate if _SHAPE.match(candidate) else None
