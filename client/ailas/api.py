"""A small client of the AILAS HTTP API (../API.md), with friendly errors."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import requests

DEFAULT_API = "http://127.0.0.1:8000"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status, self.code, self.message, self.details = status, code, message, details


class Client:
    def __init__(
        self, base_url: str | None = None, token: str | None = None, timeout: float = 60.0
    ) -> None:
        # the local stack's port when nothing else is said (make run honours PORT too)
        port = os.environ.get("PORT")
        default = f"http://127.0.0.1:{port}" if port else DEFAULT_API
        self.base_url = (base_url or os.environ.get("AILAS_API") or default).rstrip("/")
        self.token = token or os.environ.get("AILAS_TOKEN")
        self.timeout = timeout
        self.session = requests.Session()

    def request(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            reply = self.session.request(
                method, self.base_url + path, json=body, headers=headers, timeout=self.timeout
            )
        except (
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidURL,
        ):
            raise ApiError(
                0,
                "invalid_api_url",
                f"{self.base_url!r} is not a registry URL: give it with its scheme, e.g. "
                "http://127.0.0.1:8000 (--api or AILAS_API).",
            ) from None
        except requests.Timeout:
            raise ApiError(
                0, "timeout", f"{self.base_url} did not answer within {self.timeout:g} s."
            ) from None
        except requests.ConnectionError:
            raise ApiError(
                0,
                "unreachable",
                f"Cannot reach {self.base_url}. Is the registry "
                "running (make run), or is --api/AILAS_API right?",
            ) from None
        if reply.status_code == 401 and not self.token:
            raise ApiError(
                401,
                "unauthorized",
                "This needs your member token: give it with --token or AILAS_TOKEN "
                "(create one in the portal, /portal/tokens).",
            )
        if reply.status_code >= 400:
            try:
                error = reply.json()
            except ValueError:
                error = {"code": "http_error", "message": reply.text[:200]}
            raise ApiError(
                reply.status_code,
                error.get("code", "error"),
                error.get("message", ""),
                error.get("details") or error.get("problems"),
            )
        return reply.json() if reply.content else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body)


class MultipartBody:
    """A presigned-POST body streamed from disk with a known length (S3 needs Content-Length),
    reporting progress as it is read."""

    def __init__(
        self,
        fields: dict[str, str],
        path: Path,
        content_type: str,
        progress: Callable[[int], None] = lambda n: None,
    ) -> None:
        self.boundary = "ailas" + os.urandom(12).hex()
        disposition = '--{}\r\nContent-Disposition: form-data; name="{}"\r\n\r\n{}\r\n'
        head = b"".join(disposition.format(self.boundary, k, v).encode() for k, v in fields.items())
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        self.parts: list[bytes | Path] = [head, path, f"\r\n--{self.boundary}--\r\n".encode()]
        self.length = len(head) + path.stat().st_size + len(self.parts[2])  # type: ignore[arg-type]
        self.progress = progress

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
                continue
            with open(part, "rb") as handle:
                yield from _chunks(handle, self.progress)


def _chunks(handle: BinaryIO, progress: Callable[[int], None]) -> Iterator[bytes]:
    while chunk := handle.read(1024 * 1024):
        progress(len(chunk))
        yield chunk


def presigned_post(
    upload: dict[str, Any],
    path: Path,
    content_type: str,
    progress: Callable[[int], None] = lambda n: None,
) -> None:
    body = MultipartBody(upload["fields"], path, content_type, progress)
    reply = requests.post(
        upload["url"],
        data=body,  # iterable with a length: streamed, with Content-Length (S3 needs it)
        headers={"Content-Type": body.content_type},
        timeout=3600,
    )
    if reply.status_code >= 300:
        raise ApiError(
            reply.status_code,
            "upload_failed",
            f"The storage refused the upload: {reply.text[:300]}",
        )
