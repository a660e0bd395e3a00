"""The published contract: response models and error responses on every operation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.access import rule_for
from api.schemas import ErrorBody

ERROR_REF = "#/components/schemas/ErrorBody"


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_declares_its_success_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    untyped = []
    for method, path, operation in _operations(spec):
        success = [v for k, v in operation["responses"].items() if k.startswith("2")]
        assert success, (method, path)
        contents = success[0].get("content", {})
        schemas = [c.get("schema", {}) for c in contents.values()]
        typed = any(s.get("$ref") or s.get("items", {}).get("$ref") for s in schemas)
        binary = ("application/vnd.mapbox-vector-tile", "application/vnd.oai.openapi+json")
        files = any(c.startswith(("text/html", "application/zip", *binary)) for c in contents)
        if not (typed or files):
            untyped.append(f"{method} {path}")
    assert untyped == []


def test_error_responses_use_the_real_error_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["properties"]["detail"]["type"] == "string"
    assert set(error["required"]) == {"error", "detail"}
    for method, path, operation in _operations(spec):
        rule = rule_for(method, path)
        assert rule is not None
        codes = set(operation["responses"])
        if rule.kind != "public":
            assert "401" in codes, (method, path)
        if rule.needs_token:
            assert {"401", "403"} <= codes, (method, path)
            assert operation["security"] == [{"bearer": []}]
        if method == "GET" and "{" in path:
            assert "404" in codes, (method, path)
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, code)
    uploads = [p for m, p, _ in _operations(spec) if p.endswith(("/import", "/tracks"))]
    for path in uploads:
        assert "413" in spec["paths"][path]["post"]["responses"], path


def test_error_bodies_match_the_published_schema(client: TestClient) -> None:
    bodies = [
        client.get("/v1/grids", params={"level": "planet"}),  # 422 with details
        client.get("/v1/events"),  # 401
        client.get("/v1/no-such-thing"),  # 404
    ]
    for response in bodies:
        body = ErrorBody.model_validate(response.json())
        assert isinstance(body.detail, str) and body.detail
    assert isinstance(bodies[0].json()["details"], list)


def test_published_examples_are_valid_bodies() -> None:
    from pydantic import BaseModel

    import api.schemas as schemas

    checked = 0
    for model in vars(schemas).values():
        if isinstance(model, type) and issubclass(model, BaseModel) and model is not BaseModel:
            for example in model.model_json_schema().get("examples", []):
                model.model_validate(example)
                checked += 1
    assert checked >= 4
