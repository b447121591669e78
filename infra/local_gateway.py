"""Chalice's local API server, with API Gateway's unknown-route answer replaced by our 404 JSON
(in AWS the same is done by a GatewayResponse in the merge template)."""

from __future__ import annotations

import json
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalDevServer, LocalGateway


class Gateway(LocalGateway):
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


def server(app_object: Any, config: Any, host: str, port: int) -> LocalDevServer:
    return LocalDevServer(app_object, config, host, port, handler_cls=RequestHandler)
