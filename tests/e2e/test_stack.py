"""The local stack as a newcomer meets it: health, docs, errors, membership over HTTP."""

from __future__ import annotations

import concurrent.futures
import json

from tests.e2e.conftest import Stack
from tests.http import Api
from tests.scenario import Registry


def test_health_docs_and_unknown_routes(api: Api) -> None:
    assert api.get("/v1/health").json["status"] == "ok"
    assert api.get("/docs").status == 200
    assert "/v1/members" in api.get("/v1/openapi.json").json["paths"]
    missing = api.get("/v1/nothing-here")
    assert missing.status == 404 and missing.json["code"] == "not_found"


def test_membership_over_http(registry: Registry) -> None:
    performer = registry.member("performer")
    me = registry.api.get(f"/v1/members/{performer.member_id}", token=performer.token)
    assert me.status == 200 and me.json["status"] == "active"
    log = registry.api.get("/v1/log?limit=200").json
    assert performer.member_id in json.dumps(log)


def test_concurrent_approvals_exactly_one_wins(registry: Registry) -> None:
    member_id = registry.apply("business")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(
                lambda _: registry.api.post(
                    f"/v1/members/{member_id}/approve", token=registry.operator
                ),
                range(8),
            )
        )
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] + [409] * 7, replies
    tokens = [r.json["token"] for r in replies if r.status == 200]
    assert registry.api.get(f"/v1/members/{member_id}", token=tokens[0]).status == 200
    audit = registry.api.get(f"/v1/audit?entity=member:{member_id}", token=registry.operator).json[
        "entries"
    ]
    assert [e["action"] for e in audit].count("member.approved") == 1


def test_intent_events_reach_their_handler_through_the_stream(registry: Registry) -> None:
    import time

    performer = registry.member("performer")
    path = f"/v1/performers/{performer.member_id}/intent"
    written = registry.api.put(path, {"uses": {"voice_conversion": "deny"}}, token=performer.token)
    assert written.status == 200
    entries = registry.api.get(
        f"/v1/audit?entity=performer:{performer.member_id}", token=registry.operator
    ).json["entries"]
    seq = entries[0]["seq"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = registry.api.get("/v1/health").json.get("events") or {}
        if events.get("last_delivered_seq", 0) >= seq:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"event {seq} was not delivered: {events}")
    found = registry.api.get("/v1/intents?use=voice_conversion&value=deny").json["intents"]
    assert performer.member_id in {i["performer_id"] for i in found}


def test_head_and_unknown_methods_keep_the_connection_and_the_json_shape(stack: Stack) -> None:
    """A HEAD on an unknown route wrote the 404 JSON after its headers, which a keep-alive
    client read as the start of its next response; TRACE, PROPFIND … got http.server's 501
    HTML page, a 5xx to an outside checker."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(stack.base_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        connection.request("HEAD", "/v1/labels/../../etc/passwd/badge.svg")
        head = connection.getresponse()
        assert head.status == 404 and head.read() == b""
        connection.request("GET", "/v1/health")  # the same connection, next response intact
        health = connection.getresponse()
        assert health.status == 200 and json.loads(health.read())["status"] == "ok"
    finally:
        connection.close()
    for method in ("TRACE", "PROPFIND", "FOO"):  # each closes its connection (body unread)
        odd_one = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
        try:
            odd_one.request(method, "/v1/health", body=b"<propfind/>")
            odd = odd_one.getresponse()
            assert odd.status == 405, method
            assert json.loads(odd.read())["code"] == "method_not_allowed"
        finally:
            odd_one.close()
