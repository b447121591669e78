"""Chalice's local API server, with API Gateway's unknown-route answer replaced by our 404 JSON
(in AWS the same is done by a GatewayResponse in the merge template), and path parameters
percent-decoded as API Gateway hands them to Lambda (a generated client sends the check symbol
``*`` of ``M-…-*`` as ``%2A``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from chalice.local import (
    ChaliceRequestHandler,
    LocalDevServer,
    LocalGateway,
    MatchResult,
    RouteMatcher,
    ThreadedHTTPServer,
)


class DecodingRouteMatcher(RouteMatcher):
    def match_route(self, url: str) -> MatchResult:
        route, captured, query = super().match_route(url)
        return MatchResult(route, {k: unquote(v) for k, v in captured.items()}, query)


class Gateway(LocalGateway):
    def __init__(self, app_object: Any, config: Any) -> None:
        super().__init__(app_object, config)
        self.event_converter._route_matcher = DecodingRouteMatcher(list(app_object.routes))

    def handle_request(self, method: str, path: str, headers: Any, body: Any) -> Any:
        try:
            self.event_converter._route_matcher.match_route(path.split("?")[0])
        except ValueError:
            return {
                "statusCode": 404,
                "headers": {"Content-Type": "application/json; charset=utf-8"},
                "multiValueHeaders": {},
                "body": json.dumps(
                    {"code": "not_found", "message": f"No route {method} {path.split('?')[0]}."}
                ),
            }
        return super().handle_request(method, path, headers, body)


class RequestHandler(ChaliceRequestHandler):
    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any
    ) -> None:
        self.local_gateway = Gateway(app_object, config)
        super(ChaliceRequestHandler, self).__init__(request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the app logs every request as structured JSON already

    def _send_http_response_with_body(self, code: int, headers: Any, body: Any) -> None:
        """A HEAD is answered with the headers alone: a body after them (our 404 JSON) was
        read by a keep-alive client as the start of its next response."""
        if self.command != "HEAD":
            super()._send_http_response_with_body(code, headers, body)
            return
        length = len(body if isinstance(body, bytes) else body.encode("utf-8"))
        self.send_response(code)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self._send_headers(headers)

    def __getattr__(self, name: str) -> Any:
        # a method no route takes (TRACE, PROPFIND, …): the API's 405 JSON, as API Gateway
        # answers, not http.server's 501 HTML page
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        self.close_connection = True  # its body (if any) is left unread: not a next request
        message = f"{self.command} is not a method of this API."
        body = json.dumps({"code": "method_not_allowed", "message": message}).encode()
        self.send_response(405)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Allow", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadedHTTPServer):
    """API Gateway takes many connections at once; socketserver's listen backlog of 5 reset
    one of 16 simultaneous requests (an outside check fires that many)."""

    request_queue_size = 128


def server(app_object: Any, config: Any, host: str, port: int) -> LocalDevServer:
    return LocalDevServer(
        app_object, config, host, port, handler_cls=RequestHandler, server_cls=Server
    )
