"""The SDK and the served OpenAPI document describe the same API."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from pydantic import BaseModel

from api.openapi import openapi_document
from client.routes import NOT_IN_SDK, OPERATIONS
from domain import api_models, enrollments, fleet, hooks, progress, requests, webhooks

_MODULES = (api_models, enrollments, fleet, hooks, progress, requests, webhooks)


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        operation["operationId"]: (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }


def test_every_api_operation_is_in_the_sdk_or_left_out_with_a_reason() -> None:
    served = _operations(openapi_document())
    in_sdk = {op.operation_id: (op.method, op.path) for op in OPERATIONS}

    assert set(served) == set(in_sdk) | set(NOT_IN_SDK)
    for operation_id, route in in_sdk.items():
        assert served[operation_id] == route, operation_id


def _model(name: str) -> type[BaseModel] | None:
    for module in _MODULES:
        candidate = getattr(module, name, None)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _family_request_schemas(document: dict[str, Any]) -> set[str]:
    """The device families' own request schemas: the SDK sends each as a ProvisionRequest."""
    start = document["paths"]["/api/v1/devices/{device_id}/provision"]["post"]
    refs = start["requestBody"]["x-devprov-family-requests"].values()
    return {ref["$ref"].rsplit("/", 1)[-1] for ref in refs} - {"ProvisionRequest"}


def test_every_schema_of_the_document_is_a_model_the_sdk_imports() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]

    missing = sorted(
        name
        for name in schemas
        if _model(name) is None and name not in _family_request_schemas(document)
    )

    # Enums and nested models are found through their parents' schemas.
    assert [name for name in missing if "properties" in schemas[name]] == []
    for name, schema in schemas.items():
        model = _model(name)
        if model is not None and "properties" in schema:
            assert set(schema["properties"]) == set(model.model_fields), name


def test_the_sdk_imports_none_of_the_servers_heavy_dependencies() -> None:
    code = (
        "import sys, client, client.api, client.coordinator, client.credentials, client.events; "
        "heavy = {'temporalio', 'aiohttp', 'bleak', 'bumble', 'zigpy', 'prometheus_client'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"
