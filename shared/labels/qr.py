"""A printable QR code of a label's verify URL (segno: pure Python, no dependencies)."""

from __future__ import annotations

import io

import segno


def qr_svg(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=4, border=4, dark="#000", light="#fff", xmldecl=False
    )
    return buffer.getvalue().decode()
