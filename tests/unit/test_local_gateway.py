"""The local API server takes many connections at once, as API Gateway does: its listen backlog
holds 32 clients connecting before it accepts any (socketserver's default of 5 left the rest
waiting, and an outside check's 16 simultaneous requests saw a reset)."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler

from infra.local_gateway import Server


def test_thirty_two_clients_connect_before_the_server_accepts_one() -> None:
    server = Server(("127.0.0.1", 0), BaseHTTPRequestHandler)  # listening, never accepting
    clients = []
    try:
        for _ in range(32):
            client = socket.socket()
            client.settimeout(1.0)
            client.connect(server.server_address)  # done by the kernel, within the backlog
            clients.append(client)
    except TimeoutError:
        pass
    finally:
        for client in clients:
            client.close()
        server.server_close()
    assert len(clients) == 32
