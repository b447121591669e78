"""One error model for the whole API: a machine-readable ``code``, a human ``message`` and
``details``. The class says what kind of refusal it is; the HTTP status belongs to the edge
(``functions/api/http.py:STATUSES``), so the domain never speaks HTTP."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(ApiError):
    """The request cannot be read (malformed value, bad cursor, bad time)."""

    code = "bad_request"


class ValidationFailed(ApiError):
    """A readable request whose fields break a rule."""

    code = "validation_error"


class Unauthorized(ApiError):
    """No credentials, or credentials that do not resolve."""

    code = "unauthorized"


class Forbidden(ApiError):
    """Known caller, not allowed."""

    code = "forbidden"


class NotFound(ApiError):
    code = "not_found"


class Conflict(ApiError):
    """The request contradicts the current state (a transition that is not allowed)."""

    code = "conflict"


class PayloadTooLarge(ApiError):
    code = "payload_too_large"


class UnsupportedMedia(ApiError):
    code = "unsupported_media_type"


class Unavailable(ApiError):
    """A dependency failed; the same request may succeed later."""

    code = "unavailable"
