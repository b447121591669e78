"""One small HTTP interface over both Chalice's in-process test client and a real server, so the
same scenario (e.g. the access table) runs in handler tests and end-to-end."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.body[:300]!r}>"


class Api:
    def __init__(self, send: Any) -> None:
        self._send = send

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw: bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        body = (
            raw
            if raw is not None
            else (
                json.dumps(json_body, ensure_ascii=False).encode() if json_body is not None else b""
            )
        )
        return self._send(method, path, sent, body)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PUT", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)


def chalice_api(client: Any) -> Api:
    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        response = client.http.request(method, path, headers=headers, body=body)
        return Reply(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.body
        )

    return Api(send)


def http_api(base_url: str) -> Api:
    session = requests.Session()

    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        response = session.request(method, base_url + path, headers=headers, data=body, timeout=60)
        return Reply(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )

    return Api(send)
