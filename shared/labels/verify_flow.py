"""What the public ``/verify`` pages answer (the handlers only wrap it in HTTP): the lookup form,
a typed label number, and an uploaded audio file whose C2PA label is checked."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from shared.clock import now_iso
from shared.formats import provenance
from shared.labels import keyring, page, service, verification

UPLOAD_MAX_BYTES = 4 * 1024 * 1024
LIMIT_MB = UPLOAD_MAX_BYTES // 2**20


def lookup(lang: str, typed: str) -> tuple[str, int, str | None]:
    """(html, status, redirect location): the form when nothing was typed, a redirect to the
    label's page for a well-formed number, else the page saying what is wrong with it."""
    if not typed:
        return page.render_lookup_page(lang, LIMIT_MB), 200, None
    number = verification.classify(typed)
    if number.canonical:
        suffix = "?lang=en" if lang == "en" else ""
        return "", 303, f"/verify/{number.canonical}{suffix}"
    result = verification.Verification(number, number.problem)  # type: ignore[arg-type]
    return page.render_verify_page(result, lang=lang, checked_at=now_iso()), 400, None


def check_upload(lang: str, content_type: str, body: bytes | str) -> tuple[str, int]:
    """(html, status) for a multipart form carrying ``file``: the file's label checked."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > UPLOAD_MAX_BYTES + 64 * 1024:
        return page.render_form_error(lang, LIMIT_MB, _too_large(lang)), 413
    filename, data = uploaded_file(content_type, raw)
    if data is None:
        message = "ファイルを選んでください。" if lang == "ja" else "Choose a file to check."
        return page.render_form_error(lang, LIMIT_MB, message), 400
    if len(data) > UPLOAD_MAX_BYTES:
        return page.render_form_error(lang, LIMIT_MB, _too_large(lang)), 413
    try:
        manifest = provenance.read_bytes(data)
    except provenance.Unsupported:
        message = (
            "WAVまたはMP3のファイルを選んでください。"
            if lang == "ja"
            else "Only WAV and MP3 files can be checked."
        )
        return page.render_form_error(lang, LIMIT_MB, message), 415
    token = provenance.token_of(manifest)  # a key published since the cache was read counts
    keys = keyring.jwks_for(token) if token else keyring.jwks()
    check = provenance.judge(manifest, keys, _live_view, _consent)
    return page.render_file_page(check, lang, filename=filename), 200


def _too_large(lang: str) -> str:
    if lang == "ja":
        return f"ファイルが大きすぎます（{LIMIT_MB} MBまで）。"
    return f"The file is too large (up to {LIMIT_MB} MB)."


def _live_view(label_no: str) -> dict[str, Any] | None:
    label = service.get(label_no)
    return service.public_view(label) if label else None


def _consent(label_no: str) -> dict[str, Any] | None:
    """What the label's performers allow now (the registry's CAWG statement)."""
    label = service.get(label_no)
    return verification.training_mining(label)["data"] if label else None


def uploaded_file(content_type: str, raw: bytes) -> tuple[str, bytes | None]:
    """The form field ``file`` of a multipart/form-data body (filename, bytes)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return "", None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        return "", None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            name = part.get_filename() or ""
            return name, payload if isinstance(payload, bytes) and payload else None
    return "", None
