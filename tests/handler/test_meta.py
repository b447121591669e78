"""Health, OpenAPI, docs and the error model, through the Chalice test client."""

import re

from tests.http import Api


def test_health_reports_ok_and_versions(api: Api) -> None:
    reply = api.get("/v1/health")
    assert reply.status == 200
    assert reply.json["status"] == "ok"
    assert "python" not in reply.json  # no runtime details for an attacker


def test_openapi_lists_every_registered_route_with_its_models(api: Api, app) -> None:
    doc = api.get("/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {(path, method) for path, methods in app.routes.items() for method in methods}
    assert documented == served
    apply = doc["paths"]["/v1/members"]["post"]
    schema_ref = apply["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][schema_ref.split("/")[-1]]
    assert {"kind", "name", "name_kana", "display_name", "email", "terms_version"} <= set(
        body["required"]
    )


def test_docs_page_is_swagger_ui_served_by_the_app(api: Api) -> None:
    reply = api.get("/docs")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    page = reply.body.decode()
    assert "https://" not in page and "http://" not in page  # nothing from a CDN
    scripts = re.findall(r'<script src="([^"]+)"', page) + re.findall(r'href="([^"]+)"', page)
    assert scripts and all(s.startswith("/docs/") for s in scripts)
    for asset in scripts:
        served = api.get(asset)
        assert served.status == 200 and len(served.body) > 20, asset
    assert b"/v1/openapi.json" in api.get("/docs/init.js").body
    assert b"SwaggerUIBundle" in api.get("/docs/swagger-ui-bundle.js").body
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert api.get("/docs/..%2F..%2Fetc%2Fpasswd").status == 404
    assert api.get("/docs/index.j2").status == 404


def test_malformed_json_is_a_400_with_a_code(api: Api) -> None:
    reply = api.request("POST", "/v1/members", raw=b'{"kind": ')
    assert reply.status == 400
    assert reply.json["code"] == "invalid_json"
    assert reply.json["request_id"]


def test_validation_errors_name_the_field(api: Api) -> None:
    reply = api.post("/v1/members", {"kind": "performer"})
    assert reply.status == 422
    fields = {d["field"] for d in reply.json["details"]}
    assert {"name", "email", "name_kana"} <= fields


def test_oversized_body_is_refused_before_parsing(api: Api) -> None:
    reply = api.request("POST", "/v1/members", raw=b'{"name": "' + b"a" * 300_000 + b'"}')
    assert reply.status == 413
    assert reply.json["code"] == "body_too_large"


def test_unexpected_errors_are_json_500_without_internals(api: Api, monkeypatch) -> None:
    from shared.members import service

    def explode(*_a, **_k):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(service, "list_members", explode)
    from shared.members.operators import create_operator

    _, token = create_operator("Op", "op2@example.org")
    reply = api.get("/v1/members", token=token)
    assert reply.status == 500
    assert reply.json["code"] == "internal_error"
    assert "secret" not in reply.body.decode()
    assert reply.json["request_id"] not in ("", "-")


def test_bad_bearer_token_is_401(api: Api) -> None:
    reply = api.get("/v1/members", token="ailas_nope0000_" + "x" * 43)
    assert reply.status == 401
    assert reply.json["code"] == "invalid_token"
    assert api.get("/v1/members").status == 401
    reply = api.get("/v1/members", headers={"Authorization": "Basic abc"})
    assert reply.status == 401
