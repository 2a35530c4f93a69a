"""The OpenAPI document as a client generator and /docs's "Authorize" read it."""

from __future__ import annotations

import re
from typing import Any

import httpx

# Public names: clients generated from the document call these. Renaming one is a
# breaking change for every generated client, so this list changes on purpose only.
OPERATION_IDS = {
    ("POST", "/extract"): "extract",
    ("GET", "/job/{job_id}"): "getJob",
    ("DELETE", "/job/{job_id}"): "cancelJob",
    ("GET", "/job/{job_id}/result"): "getJobResult",
    ("GET", "/jobs"): "listJobs",
    ("POST", "/batch/extract"): "extractBatch",
    ("POST", "/webhook/endpoints"): "createEndpoint",
    ("GET", "/webhook/endpoints"): "listEndpoints",
    ("GET", "/webhook/endpoints/{endpoint_id}"): "getEndpoint",
    ("PATCH", "/webhook/endpoints/{endpoint_id}"): "updateEndpoint",
    ("DELETE", "/webhook/endpoints/{endpoint_id}"): "deleteEndpoint",
    ("GET", "/webhook/endpoints/{endpoint_id}/secret"): "getEndpointSecret",
    ("POST", "/webhook/endpoints/{endpoint_id}/rotate-secret"): "rotateEndpointSecret",
    ("POST", "/webhook/endpoints/{endpoint_id}/test"): "sendTestEvent",
    ("POST", "/webhook/endpoints/{endpoint_id}/enable"): "enableEndpoint",
    ("POST", "/webhook/endpoints/{endpoint_id}/disable"): "disableEndpoint",
    ("POST", "/webhook/endpoints/{endpoint_id}/recover"): "recoverEndpoint",
    ("GET", "/webhook/event-types"): "listEventTypes",
    ("GET", "/webhook/messages"): "listMessages",
    ("GET", "/webhook/messages/{message_id}"): "getMessage",
    ("POST", "/webhook/messages/{message_id}/resend"): "resendMessage",
    ("GET", "/job/{job_id}/audit"): "getJobAudit",
    ("POST", "/webhook"): "createPortalLink",
    ("GET", "/healthz"): "healthz",
    ("GET", "/readyz"): "readyz",
}
ERROR_REF = "#/components/schemas/ErrorResponse"


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }


def error_schema(operation: dict[str, Any], status: int) -> str | None:
    response = operation["responses"].get(str(status))
    if response is None:
        return None
    ref: str = response["content"]["application/json"]["schema"]["$ref"]
    return ref


async def test_every_operation_has_its_stable_unique_operation_id_and_a_tag(
    api: httpx.AsyncClient,
) -> None:
    spec = (await api.get("/openapi.json")).json()
    found = {key: op["operationId"] for key, op in operations(spec).items()}

    assert {key: found.get(key) for key in OPERATION_IDS} == OPERATION_IDS
    # A route added later without its own gets its function's name in camelCase, never
    # FastAPI's default (e.g. get_job_job__job_id__get).
    assert all(re.fullmatch(r"[a-z][A-Za-z]*", name) for name in found.values()), found
    assert len(set(found.values())) == len(found)
    assert all(op.get("tags") for op in operations(spec).values())


async def test_the_document_declares_both_ways_to_send_a_key(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()

    assert spec["components"]["securitySchemes"] == {
        "ApiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "Your API key",
        },
        "Bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "Your API key as a Bearer token",
        },
    }
    ops = operations(spec)
    # Either scheme alone is enough (two requirement objects, not one with both).
    assert ops[("GET", "/job/{job_id}")]["security"] == [{"ApiKey": []}, {"Bearer": []}]
    assert "security" not in ops[("GET", "/healthz")]


async def test_routes_list_their_real_error_responses_with_the_error_body(
    api: httpx.AsyncClient,
) -> None:
    spec = (await api.get("/openapi.json")).json()
    ops = operations(spec)

    expected = {
        ("POST", "/extract"): {400, 401, 409, 413, 415, 429},
        ("GET", "/job/{job_id}"): {401, 404, 429},
        ("GET", "/job/{job_id}/result"): {401, 404, 409, 429},
        ("GET", "/jobs"): {400, 401, 422, 429},
        ("POST", "/webhook/endpoints"): {400, 401, 409, 422, 429},
        ("POST", "/webhook"): {401, 429},
    }
    for key, statuses in expected.items():
        for status in statuses:
            assert error_schema(ops[key], status) == ERROR_REF, (key, status)
    # FastAPI's own 422 body is not what pagewire sends: it is gone from the document.
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    envelope = spec["components"]["schemas"]["ErrorResponse"]
    assert envelope["required"] == ["error"]
    info = spec["components"]["schemas"]["ErrorInfo"]
    assert set(info["required"]) == {"code", "message", "details"}


async def test_a_real_404_matches_the_documented_error_body(
    api: httpx.AsyncClient, tenant: Any
) -> None:
    spec = (await api.get("/openapi.json")).json()
    info = spec["components"]["schemas"]["ErrorInfo"]

    response = await api.get("/job/job_missing", headers=tenant.headers)

    assert response.status_code == 404
    assert set(response.json()) == {"error"}
    assert set(response.json()["error"]) == set(info["properties"])
