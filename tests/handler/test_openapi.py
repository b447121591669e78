"""The OpenAPI document as a client generator and a fuzzer read it: valid 3.1, typed errors per
status, enums from the models, identifier patterns, examples that the API accepts, the presigned
upload step, pages typed as HTML and badges as SVG. And the one table of error statuses."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from functions.api import http
from shared import errors, ids, openapi
from shared.formats.uses import USE_CODES
from shared.labels.fairness import MESSAGES
from tests.http import Api


@pytest.fixture
def doc(app) -> dict[str, Any]:
    return openapi.document("test", "http://127.0.0.1:8000")


def operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return doc["paths"][path][method.lower()]


def schema(doc: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def test_the_served_document_is_valid_openapi_3_1_with_a_server(api: Api) -> None:
    served = api.get("/v1/openapi.json").json
    validate(served)  # raises on any violation of the 3.1 schema
    assert served["servers"] and served["servers"][0]["url"].startswith("http")


def test_errors_are_typed_per_status_with_the_problems_of_an_unfair_trade(doc) -> None:
    issue = operation(doc, "POST", "/v1/labels")["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422", "429", "503"} <= set(issue)
    unfair = issue["422"]["content"]["application/json"]["schema"][
        "anyOf"
    ]  # an unfair body is also a validation-error body
    bodies = [schema(doc, ref) for ref in unfair]
    problems = next(b for b in bodies if "problems" in b["properties"])
    assert "problems" in problems["required"]
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["properties"]["reason"]["enum"]) >= set(MESSAGES)
    # a shared, referenced response for the rest; the error model names code and message
    error = doc["components"]["responses"]["NotFound"]["content"]["application/json"]
    assert {"code", "message"} <= set(schema(doc, error["schema"])["required"])
    assert error["example"]["code"]


def test_statuses_uses_and_kinds_are_enums(doc) -> None:
    schemas = doc["components"]["schemas"]
    assert set(schemas["Voice"]["properties"]["status"]["enum"]) == {
        "awaiting_upload", "processing", "registered", "rejected", "conflict",
    }  # fmt: skip
    assert schemas["AiSystemSheet"]["properties"]["uses"]["items"]["enum"] == list(USE_CODES)
    assert set(schemas["AiSystemSheet"]["properties"]["kind"]["enum"]) >= {"tts", "singing"}
    assert "revoked" in schemas["LabelView"]["properties"]["status"]["enum"]
    assert set(schemas["Trace"]["properties"]["status"]["enum"]) >= {"done", "failed"}
    members = operation(doc, "GET", "/v1/members")["parameters"]
    assert next(p for p in members if p["name"] == "status")["schema"]["enum"]


def test_identifiers_have_their_pattern_and_an_example_that_the_api_reads(doc, api: Api) -> None:
    (voice_no,) = operation(doc, "GET", "/v1/voices/{voice_no}")["parameters"]
    pattern = re.compile(voice_no["schema"]["pattern"])
    for _ in range(50):
        assert pattern.match(ids.new_id("voice"))
    assert ids.normalize(voice_no["example"], "voice") == voice_no["example"]
    assert not pattern.match("V-7K3M-9Q2G-0".replace("V-", "A-"))
    reply = api.get(f"/v1/voices/{voice_no['example']}")
    assert reply.status == 404 and reply.json["code"] == "voice_not_found"  # well formed, unknown


def test_query_parameters_have_their_real_types(doc) -> None:
    log = {p["name"]: p for p in operation(doc, "GET", "/v1/log")["parameters"]}
    assert log["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
    chain = operation(doc, "GET", "/v1/log/checkpoints")["parameters"]
    assert next(p for p in chain if p["name"] == "chain")["schema"]["enum"] == ["public", "audit"]
    page = {p["name"]: p for p in operation(doc, "GET", "/verify/{label_no}")["parameters"]}
    assert page["lang"]["schema"]["enum"] == ["ja", "en"]


def test_request_examples_are_accepted_by_their_models(doc) -> None:
    from pydantic import BaseModel

    examples = 0
    for op in openapi.OPERATIONS:
        for example in op.examples.values():
            assert isinstance(op.body, type) and issubclass(op.body, BaseModel)
            op.body.model_validate_json(__import__("json").dumps(example))
            examples += 1
    assert examples >= 5


def test_the_presigned_upload_step_is_described(doc) -> None:
    register = operation(doc, "POST", "/v1/voices")
    upload = register["x-presigned-upload"]
    assert upload["content_type"] == "multipart/form-data" and upload["file_field"] == "file"
    assert upload["file_last"] is True
    created = register["responses"]["201"]
    assert created["links"]["voice"]["operationId"] == "voices.get"
    assert "upload.fields" in register["description"]


def test_pages_are_html_and_badges_svg_even_when_they_refuse(doc) -> None:
    page = operation(doc, "GET", "/verify/{label_no}")["responses"]
    assert set(page["200"]["content"]) == {"text/html"}
    assert set(page["404"]["content"]) == {"text/html"}
    assert set(page["400"]["content"]) == {"text/html"}
    badge = operation(doc, "GET", "/v1/labels/{label_no}/badge.svg")["responses"]
    assert badge["200"]["content"]["image/svg+xml"]["schema"] == {"type": "string"}
    assert "content" not in operation(doc, "HEAD", "/verify/{label_no}")["responses"]["200"]


def test_every_error_class_has_one_status_and_the_domain_none(api: Api) -> None:
    from shared.labels.service import Unfair

    assert http.status_of(errors.NotFound("x")) == 404
    assert http.status_of(Unfair([])) == 422
    assert http.status_of(errors.Unavailable("x")) == 503
    assert http.status_of(RuntimeError("x")) == 500
    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, errors.ApiError):
            assert not hasattr(cls, "status"), cls  # HTTP belongs to the edge
            assert 400 <= http.status_of(cls("x")) < 600
    for status, (name, _, _) in openapi.ERRORS.items():
        assert status == 429 or status in http.STATUSES.values(), name


def test_the_local_gateway_decodes_path_parameters_as_api_gateway_does() -> None:
    from infra.local_gateway import DecodingRouteMatcher

    # A generated client percent-encodes the check symbols * $ = of an identifier.
    matcher = DecodingRouteMatcher(["/v1/members/{member_id}", "/v1/members"])
    found = matcher.match_route("/v1/members/M-7K3M-9Q2D-%24?x=1")
    assert found.route == "/v1/members/{member_id}"
    assert found.captured == {"member_id": "M-7K3M-9Q2D-$"}
    assert ids.normalize(found.captured["member_id"], "member") == "M-7K3M-9Q2D-$"
