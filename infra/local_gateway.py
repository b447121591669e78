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


class Server(ThreadedHTTPServer):
    """API Gateway takes many connections at once; socketserver's listen backlog of 5 reset
    one of 16 simultaneous requests (an outside check fires that many)."""

    request_queue_size = 128


def server(app_object: Any, config: Any, host: str, port: int) -> LocalDevServer:
    return LocalDevServer(
        app_object, config, host, port, handler_cls=RequestHandler, server_cls=Server
    )
