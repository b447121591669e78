"""The label badge (SVG): "AILAS" and the live status in Japanese and English, coloured. Every
state has one, an unknown or mistyped number included: a shop page shows "unknown", never a
broken image."""

from __future__ import annotations

import unicodedata
from html import escape

from shared.labels.page import STATUS


def _width(text: str) -> int:
    """Approximate rendered width at 11 px: wide (CJK) characters count double."""
    return sum(11 if unicodedata.east_asian_width(c) in "WF" else 7 for c in text) + 12


def render_badge(status: str, label_no: str) -> str:
    known = STATUS.get(status, STATUS["unknown"])
    left, right = "AILAS", f"{known.ja} {known.en}"
    lw, rw = _width(left), _width(right)
    title = escape(f"AILAS label {label_no}: {known.en}")
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{lw + rw}" height="20" role="img" \
aria-label="{title}" data-status="{escape(status)}">
<title>{title}</title>
<rect width="{lw}" height="20" fill="#24292f"/>
<rect x="{lw}" width="{rw}" height="20" fill="{known.colour}"/>
<g fill="#fff" font-family="system-ui,'Hiragino Sans','Noto Sans JP',sans-serif" font-size="11">
<text x="{lw / 2}" y="14" text-anchor="middle">{left}</text>
<text x="{lw + rw / 2}" y="14" text-anchor="middle">{escape(right)}</text>
</g>
</svg>
"""
