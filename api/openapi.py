"""The OpenAPI 3.2 document of the API: pydantic schemas plus paths written once here.

No maintained aiohttp OpenAPI generator supports aiohttp 3.14 with pydantic v2 (the
aiohttp-apispec/aiohttp-pydantic lines are unmaintained or pydantic-v1 only), so the
paths are described by hand below and the schemas come from the models themselves;
a test checks that every route of the application appears here. The request model of
each device family the API serves (`DeviceFamily.request_model`) is among the schemas,
so a family installed as a plugin shows in the document of the API that loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api.routes_runs import FILTER_VALUE_PATTERN
from domain.api_models import (
    API_PREFIX,
    FLEET_SSE_EVENT,
    PROBLEM_CONTENT_TYPE,
    PROGRESS_SSE_EVENT,
    ConsoleConfig,
    DecommissionStatus,
    DeviceList,
    DeviceSelection,
    DeviceTransfer,
    DeviceView,
    FleetStatus,
    Problem,
    RunList,
    RunStatus,
    StartedDecommission,
    StartedFleet,
    StartedRun,
    StrategyInfo,
    StrategyMatch,
    StrategyQuery,
    StreamAccess,
)
from domain.enrollments import (
    GROUP_ID,
    EnrollmentImport,
    GroupEnrollment,
    GroupEnrollmentCreate,
    GroupEnrollmentList,
    GroupEnrollmentPatch,
    IndividualEnrollment,
    IndividualEnrollmentCreate,
    IndividualEnrollmentList,
    IndividualEnrollmentPatch,
    TenantSettings,
    TenantSettingsUpdate,
)
from domain.fleet import FLEET_ID_PATTERN, FleetRequest, FleetSnapshot
from domain.hooks import PreProvisioningHook, PreProvisioningHookCreated, PreProvisioningHookSet
from domain.identifiers import DEVICE_ID, TENANT
from domain.progress import ProgressEvent, ProgressSnapshot, StreamedEvent
from domain.registry import CURSOR_MAX_LENGTH, CURSOR_PATTERN, DeviceState
from domain.requests import ClientBleReport, NetworkCredentials, ProvisionRequest
from domain.states import VisibleState
from domain.webhooks import (
    EVENT_ID,
    WEBHOOK_ID,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookList,
    WebhookSecretRotated,
    WebhookSecretRotation,
    WebhookUpdate,
)
from strategies.family import DeviceFamily, installed_families

_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (ProvisionRequest, "validation"),
    (NetworkCredentials, "validation"),
    (ClientBleReport, "validation"),
    (ProgressSnapshot, "serialization"),
    (ProgressEvent, "serialization"),
    (StreamedEvent, "serialization"),
    (RunStatus, "serialization"),
    (StartedRun, "serialization"),
    (StrategyInfo, "serialization"),
    (Problem, "serialization"),
    (FleetRequest, "validation"),
    (DeviceSelection, "validation"),
    (DeviceTransfer, "validation"),
    (FleetStatus, "serialization"),
    (FleetSnapshot, "serialization"),
    (StartedFleet, "serialization"),
    (RunList, "serialization"),
    (StrategyQuery, "validation"),
    (StrategyMatch, "serialization"),
    (ConsoleConfig, "serialization"),
    (StreamAccess, "serialization"),
    (DeviceView, "serialization"),
    (DeviceList, "serialization"),
    (StartedDecommission, "serialization"),
    (DecommissionStatus, "serialization"),
    (IndividualEnrollmentCreate, "validation"),
    (IndividualEnrollmentPatch, "validation"),
    (IndividualEnrollment, "serialization"),
    (IndividualEnrollmentList, "serialization"),
    (EnrollmentImport, "serialization"),
    (GroupEnrollmentCreate, "validation"),
    (GroupEnrollmentPatch, "validation"),
    (GroupEnrollment, "serialization"),
    (GroupEnrollmentList, "serialization"),
    (TenantSettingsUpdate, "validation"),
    (TenantSettings, "serialization"),
    (WebhookCreate, "validation"),
    (WebhookCreated, "serialization"),
    (Webhook, "serialization"),
    (WebhookList, "serialization"),
    (WebhookDelivery, "serialization"),
    (WebhookDeliveryList, "serialization"),
    (WebhookUpdate, "validation"),
    (WebhookSecretRotation, "validation"),
    (WebhookSecretRotated, "serialization"),
    (PreProvisioningHookSet, "validation"),
    (PreProvisioningHook, "serialization"),
    (PreProvisioningHookCreated, "serialization"),
]

JsonObject = dict[str, Any]


def _content(media_type: str, schema: JsonObject) -> JsonObject:
    return {"content": {media_type: {"schema": schema}}}


def _event_stream(event: str, payload: JsonObject) -> JsonObject:
    """`text/event-stream` content, the OpenAPI 3.2 way: `itemSchema` is one event.

    Each event is `event: <name>`, `id: <sequence>` and one `data` line: the payload's
    JSON, described with `contentMediaType` and `contentSchema` so that a validator
    (schemathesis) checks the JSON inside, not only that `data` is a string.
    """
    return {
        "content": {
            "text/event-stream": {
                "itemSchema": {
                    "type": "object",
                    "required": ["event", "id", "data"],
                    "properties": {
                        "event": {"const": event},
                        "id": {
                            "type": "string",
                            "pattern": "^[1-9][0-9]*$",
                            "description": "The sequence; send it back as `Last-Event-ID`.",
                        },
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": payload,
                        },
                    },
                    "additionalProperties": False,
                }
            }
        }
    }


class _Builder:
    def __init__(self, families: Sequence[DeviceFamily]) -> None:
        self.families = families
        models = list(_MODELS)
        for family in families:
            if all(model is not family.request_model for model, _ in models):
                models.append((family.request_model, "validation"))
        refs, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
        self.schemas: JsonObject = top.get("$defs", {})
        self._refs = {model: refs[(model, mode)] for model, mode in models}

    def ref(self, model: type[BaseModel]) -> JsonObject:
        return dict(self._refs[model])

    def body(self, model: type[BaseModel]) -> JsonObject:
        return {"required": True, **_content("application/json", self.ref(model))}

    def ok(self, description: str, model: type[BaseModel]) -> JsonObject:
        return {"description": description, **_content("application/json", self.ref(model))}

    def problem(self, description: str) -> JsonObject:
        return {"description": description, **_content(PROBLEM_CONTENT_TYPE, self.ref(Problem))}


_DEVICE_ID = {
    "name": "device_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": DEVICE_ID.pattern},
}
_LAST_EVENT_ID = [
    {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
        "description": "Resume after this event sequence.",
    },
    {
        "name": "last_event_id",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
        "description": "Same as the `Last-Event-ID` header (for curl and browsers).",
    },
]


def _run_paths(b: _Builder) -> JsonObject:
    base = f"{API_PREFIX}/devices/{{device_id}}/provision"
    not_found = b.problem("No run for this device (RUN_NOT_FOUND).")
    stream_errors = {
        "400": b.problem("`Last-Event-ID` is not a sequence number (INVALID_REQUEST)."),
        "429": b.problem("This key follows too many runs at once (TOO_MANY_STREAMS)."),
    }
    finished = b.problem(
        "The run has finished (RUN_ALREADY_FINISHED) or is busy (RUN_NOT_WAITING)."
    )
    unavailable = b.problem("Temporal is unreachable (TEMPORAL_UNAVAILABLE).")
    body_errors = {
        "400": b.problem("Malformed JSON (MALFORMED_JSON)."),
        "413": b.problem("Body too large (PAYLOAD_TOO_LARGE)."),
        "415": b.problem("Body is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
    }
    started = {
        "description": "Run started; `Location` is its status URL.",
        "headers": {"Location": {"schema": {"type": "string"}}},
        **_content("application/json", b.ref(StartedRun)),
    }
    family_requests = {family.name: b.ref(family.request_model) for family in b.families}
    return {
        base: {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "startProvisioning",
                "summary": "Start provisioning a device",
                "parameters": [IDEMPOTENCY_KEY],
                "description": (
                    "`device.device_id` may be left out: the path's is used. Once the "
                    "strategy is selected, the body must also fit the request schema of "
                    "its device family (`x-devprov-family-requests`, and `request_schema` "
                    "in `GET /strategies`), else 422 INVALID_REQUEST. A device in service "
                    "is provisioned again only with `reprovision` `reset` (decommission, "
                    "then provision, in one run) or `migrate` (a new network and/or, with an "
                    "admin key, `tenant`), if its strategy supports the policy "
                    "(`reprovision` in `GET /strategies`)."
                ),
                "requestBody": {
                    **b.body(ProvisionRequest),
                    "x-devprov-family-requests": family_requests,
                },
                "responses": {
                    "202": started,
                    **body_errors,
                    "403": b.problem(
                        "`tenant` (a migration to another tenant) with a key that is not an "
                        "admin key (FORBIDDEN). " + NOT_ENROLLED
                    ),
                    "404": b.problem(
                        "The registry holds the device for another tenant: it is not found, "
                        "as an unknown one (NOT_FOUND)."
                    ),
                    "409": b.problem(
                        "A run for this device is in flight (RUN_IN_PROGRESS), the device "
                        "is in service and `reprovision` is `never` (DEVICE_IN_SERVICE, with a "
                        "link to its record), or a migration to another tenant names a device "
                        "not in service (DEVICE_NOT_IN_SERVICE)." + KEY_IN_USE
                    ),
                    "422": b.problem(
                        "Invalid request (INVALID_REQUEST), no strategy serves the device "
                        "(UNSUPPORTED_DEVICE, STRATEGY_DISABLED, UNKNOWN_STRATEGY), with reasons, "
                        "or its strategy does not support the `reprovision` policy "
                        "(REPROVISION_POLICY_UNSUPPORTED, with `supported`) or the `transport` "
                        "(TRANSPORT_UNSUPPORTED, with `supported`)." + KEY_REUSED
                    ),
                    "503": unavailable,
                },
            },
            "get": {
                "operationId": "getProvisioning",
                "summary": "Progress snapshot of the device's run",
                "responses": {
                    "200": b.ok("The snapshot and the execution status.", RunStatus),
                    "404": not_found,
                    "503": unavailable,
                },
            },
        },
        f"{base}/events": {
            "parameters": [_DEVICE_ID, *_LAST_EVENT_ID],
            "get": {
                "operationId": "streamProvisioningEvents",
                "summary": "Server-Sent Events of the run's progress",
                "description": (
                    "Each event: `id` = sequence, `event: progress`, `data` = JSON with "
                    "workflow_id, device_id, strategy, sequence, state, step, message, "
                    "updated_at, attempt, error_code, details, terminal. The stream ends "
                    "after the terminal event."
                ),
                "responses": {
                    "200": {
                        "description": "The event stream; each `data` is a StreamedEvent.",
                        **_event_stream(PROGRESS_SSE_EVENT, b.ref(StreamedEvent)),
                    },
                    **stream_errors,
                    "404": not_found,
                    "503": unavailable,
                },
            },
        },
        f"{base}/ws": {
            "parameters": [_DEVICE_ID, *_LAST_EVENT_ID[1:]],
            # The upgrade's request headers are described, not listed as parameters: they
            # belong to the connection, and a client that sends them must speak WebSocket
            # afterwards (a generic HTTP client such as schemathesis cannot).
            "get": {
                "operationId": "streamProvisioningWebSocket",
                "summary": "WebSocket of the run's progress (same payloads as SSE)",
                "description": (
                    "A WebSocket opening handshake (RFC 6455): `Connection: Upgrade`, "
                    "`Upgrade: websocket`, `Sec-WebSocket-Version: 13` and a "
                    "`Sec-WebSocket-Key`. After the 101, each text message is one "
                    "StreamedEvent as JSON, oldest first; the server closes the socket "
                    "after the terminal event. `last_event_id` resumes as on the SSE route."
                ),
                "responses": {
                    "101": {
                        "description": "Switching to WebSocket; JSON text messages.",
                        "headers": {
                            "Upgrade": {"schema": {"const": "websocket"}},
                            "Connection": {"schema": {"type": "string"}},
                            "Sec-WebSocket-Accept": {"schema": {"type": "string"}},
                        },
                    },
                    **stream_errors,
                    "400": b.problem(
                        "Not a WebSocket upgrade request, or `last_event_id` is not a "
                        "sequence number (INVALID_REQUEST)."
                    ),
                    "404": not_found,
                    "503": unavailable,
                },
            },
        },
        f"{base}/stream-ticket": {
            "parameters": [_DEVICE_ID],
            "post": _stream_ticket(b, "issueStreamTicket", "run", not_found, {"503": unavailable}),
        },
        f"{base}/credentials": {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "submitCredentials",
                "summary": "Give a waiting run its network credentials",
                "requestBody": b.body(NetworkCredentials),
                "responses": {
                    "200": b.ok("The run took them; its snapshot.", ProgressSnapshot),
                    **body_errors,
                    "404": not_found,
                    "409": finished,
                    "422": b.problem("Invalid credentials (INVALID_REQUEST)."),
                    "503": unavailable,
                },
            },
        },
        f"{base}/client-ble-result": {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "reportClientBleResult",
                "summary": "Report what the installer's browser did with the device (client-ble)",
                "description": (
                    "For a run started with `transport: client-ble` while it waits in "
                    "WAITING_FOR_DEVICE (`awaiting` holds `client-ble`): the web console "
                    "onboarded the device over Web Bluetooth (Improv) and says how it went. "
                    "`provisioned`: the run confirms the device at its redirect URL from a "
                    "gateway of the site, then succeeds. `device_error` with "
                    "`unable_to_connect` or `not_authorized`: the run keeps waiting, showing "
                    "CREDENTIALS_REJECTED or IMPROV_NOT_AUTHORIZED. `already_provisioned`: "
                    "the run ends FAILED_VALIDATION. Never carries a passphrase."
                ),
                "requestBody": b.body(ClientBleReport),
                "responses": {
                    "200": b.ok("The run acted on the report; its snapshot.", ProgressSnapshot),
                    **body_errors,
                    "404": not_found,
                    "409": b.problem(
                        "The run has finished (RUN_ALREADY_FINISHED), does not wait for a "
                        "browser (RUN_NOT_WAITING), or the report names another BLE device "
                        "(DEVICE_MISMATCH)."
                    ),
                    "422": b.problem("Invalid report (INVALID_REQUEST)."),
                    "503": unavailable,
                },
            },
        },
        f"{base}/forget-credentials": {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "forgetCredentials",
                "summary": "Drop the credentials the run holds; it asks for them again",
                "description": (
                    "Possible until the credentials are used (states up to "
                    "WAITING_FOR_DEVICE); a run waiting on the device starts its attempt over."
                ),
                "responses": {
                    "200": b.ok("The run's snapshot.", ProgressSnapshot),
                    "404": not_found,
                    "409": finished,
                    "503": unavailable,
                },
            },
        },
        f"{base}/retry": {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "retryProvisioning",
                "summary": "Start over: within a waiting run, or as a new run after a failure",
                "parameters": [IDEMPOTENCY_KEY],
                "responses": {
                    "403": b.problem(
                        "The tenant requires enrollment and the device is no longer admitted "
                        "(DEVICE_NOT_ENROLLED); no new run was started."
                    ),
                    "200": b.ok("The waiting run started over.", ProgressSnapshot),
                    "202": started,
                    "404": not_found,
                    "409": b.problem(
                        "The run has finished (RUN_ALREADY_FINISHED) or is busy "
                        "(RUN_NOT_WAITING)." + KEY_IN_USE
                    ),
                    "422": b.problem("Invalid device id (INVALID_REQUEST)." + KEY_REUSED),
                    "503": unavailable,
                },
            },
        },
        f"{base}/cancel": {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "cancelProvisioning",
                "summary": "Cancel the run; the device is rolled back",
                "responses": {
                    "202": b.ok("Cancellation requested; the snapshot.", ProgressSnapshot),
                    "404": not_found,
                    "409": finished,
                    "503": unavailable,
                },
            },
        },
    }


def _decommission_paths(b: _Builder) -> JsonObject:
    base = f"{API_PREFIX}/devices/{{device_id}}/decommission"
    not_found = b.problem("No decommissioning run for this device (RUN_NOT_FOUND).")
    unavailable = b.problem("Temporal is unreachable (TEMPORAL_UNAVAILABLE).")
    stream_errors = {
        "400": b.problem("`Last-Event-ID` is not a sequence number (INVALID_REQUEST)."),
        "429": b.problem("This key follows too many runs at once (TOO_MANY_STREAMS)."),
    }
    return {
        base: {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "startDecommission",
                "summary": "Take a device out of service (a decommissioning run)",
                "description": (
                    "Starts the device family's decommissioning workflow, workflow id "
                    "`decommission-{device_id}`: it claims the device in the registry "
                    "(IN_SERVICE or FAILED), undoes what is in service and records the "
                    "outcome (DECOMMISSIONED, or FAILED with what it could not undo)."
                ),
                "parameters": [IDEMPOTENCY_KEY],
                "responses": {
                    "202": {
                        "description": "Run started; `Location` is its status URL.",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        **_content("application/json", b.ref(StartedDecommission)),
                    },
                    "404": b.problem(
                        "The registry holds no such device for the caller's tenant "
                        "(NOT_FOUND); another tenant's device answers the same."
                    ),
                    "409": b.problem(
                        "A run has the device (RUN_IN_PROGRESS: a provisioning run is in "
                        "progress, or a run has claimed it), or it is not in service "
                        "(DEVICE_NOT_IN_SERVICE)." + KEY_IN_USE
                    ),
                    "422": b.problem(
                        "Its family cannot take it out of service (DECOMMISSION_UNSUPPORTED)."
                        + KEY_REUSED
                    ),
                    "503": unavailable,
                },
            },
            "get": {
                "operationId": "getDecommission",
                "summary": "Progress snapshot of the device's decommissioning run",
                "responses": {
                    "200": b.ok("The snapshot and the execution status.", DecommissionStatus),
                    "404": not_found,
                    "503": unavailable,
                },
            },
        },
        f"{base}/events": {
            "parameters": [_DEVICE_ID, *_LAST_EVENT_ID],
            "get": {
                "operationId": "streamDecommissionEvents",
                "summary": "Server-Sent Events of the decommissioning run's progress",
                "description": "As for a provisioning run: each `data` is a StreamedEvent.",
                "responses": {
                    "200": {
                        "description": "The event stream; each `data` is a StreamedEvent.",
                        **_event_stream(PROGRESS_SSE_EVENT, b.ref(StreamedEvent)),
                    },
                    **stream_errors,
                    "404": not_found,
                    "503": unavailable,
                },
            },
        },
        f"{base}/ws": {
            "parameters": [_DEVICE_ID, *_LAST_EVENT_ID[1:]],
            "get": {
                "operationId": "streamDecommissionWebSocket",
                "summary": "WebSocket of the decommissioning run's progress",
                "description": "A WebSocket opening handshake, as for a provisioning run.",
                "responses": {
                    "101": {"description": "Switching to WebSocket; JSON text messages."},
                    **stream_errors,
                    "400": b.problem(
                        "Not a WebSocket upgrade request, or `last_event_id` is not a "
                        "sequence number (INVALID_REQUEST)."
                    ),
                    "404": not_found,
                    "503": unavailable,
                },
            },
        },
        f"{base}/cancel": {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "cancelDecommission",
                "summary": "Cancel the decommissioning run",
                "description": (
                    "Before its first undo step the run ends CANCELLED and the device stays "
                    "in service; once it undoes, the cancel is noted and the run finishes."
                ),
                "responses": {
                    "202": b.ok("Cancellation requested; the snapshot.", ProgressSnapshot),
                    "404": not_found,
                    "409": b.problem("The run has finished (RUN_ALREADY_FINISHED)."),
                    "503": unavailable,
                },
            },
        },
    }


def _other_paths(b: _Builder) -> JsonObject:
    strategies = {
        "description": "Every registered strategy.",
        **_content("application/json", {"type": "array", "items": b.ref(StrategyInfo)}),
    }
    plain = {"type": "object", "additionalProperties": {"type": "string"}}
    text = {"type": "string", "maxLength": 64, "pattern": FILTER_VALUE_PATTERN}
    long_text = {**text, "maxLength": 128}
    run_filters = [
        {
            "name": "state",
            "in": "query",
            "description": "As visibility records it: IN_PROGRESS while a run moves on its "
            "own, else the state people act on or the final state.",
            "schema": {"enum": [s.value for s in VisibleState]},
        },
        *(
            {"name": name, "in": "query", "schema": text}
            for name in ("strategy", "error_code", "site")
        ),
        {"name": "device", "in": "query", "schema": long_text},
        {"name": "fleet", "in": "query", "schema": long_text},
        {"name": "running", "in": "query", "schema": {"type": "boolean"}},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        },
    ]
    device_filters = [
        {"name": "state", "in": "query", "schema": {"enum": [s.value for s in DeviceState]}},
        *(
            {"name": name, "in": "query", "schema": text}
            for name in ("strategy", "vendor", "site", "network")
        ),
        {
            "name": "tenant",
            "in": "query",
            "schema": {"type": "string", "pattern": TENANT.pattern},
            "description": "Another tenant's devices: admin keys only (else 403 FORBIDDEN).",
        },
        {
            "name": "cursor",
            "in": "query",
            "schema": {
                "type": "string",
                "maxLength": CURSOR_MAX_LENGTH,
                "pattern": CURSOR_PATTERN,
            },
            "description": "`next_cursor` of the previous page (the page starts after it).",
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        },
    ]
    return {
        f"{API_PREFIX}/devices": {
            "get": {
                "operationId": "listDevices",
                "summary": "The caller's devices in the registry, sorted by id, a page at a time",
                "parameters": device_filters,
                "responses": {
                    "200": b.ok("One page of devices.", DeviceList),
                    "403": b.problem("`tenant` names another tenant (FORBIDDEN)."),
                    "422": b.problem(
                        "Invalid query parameters, or a cursor not of its form (INVALID_REQUEST)."
                    ),
                },
            }
        },
        f"{API_PREFIX}/devices/{{device_id}}": {
            "parameters": [_DEVICE_ID],
            "get": {
                "operationId": "getDevice",
                "summary": "A device's registry record",
                "responses": {
                    "200": b.ok("The record.", DeviceView),
                    "404": b.problem(
                        "No such device for the caller's tenant (NOT_FOUND); another "
                        "tenant's device answers the same."
                    ),
                },
            },
        },
        f"{API_PREFIX}/devices/{{device_id}}/release": {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "releaseDevice",
                "summary": "Free a device whose run ended without recording its outcome (admin)",
                "description": (
                    "For a device left PROVISIONING or DECOMMISSIONING by a run that was "
                    "terminated (or timed out): it becomes FAILED — what the run did to it "
                    "is not known — which a provisioning or decommissioning run may claim."
                ),
                "responses": {
                    "200": b.ok("The record, FAILED.", DeviceView),
                    "404": b.problem("No such device for the caller's tenant (NOT_FOUND)."),
                    "409": b.problem(
                        "Its run still runs (RUN_IN_PROGRESS), or no run holds it "
                        "(DEVICE_NOT_CLAIMED)."
                    ),
                    "422": b.problem("Invalid device id (INVALID_REQUEST)."),
                    "503": b.problem("Temporal is unreachable (TEMPORAL_UNAVAILABLE)."),
                },
            },
        },
        f"{API_PREFIX}/devices/{{device_id}}/transfer": {
            "parameters": [_DEVICE_ID],
            "post": {
                "operationId": "transferDevice",
                "summary": "Give a device to another tenant (admin)",
                "requestBody": b.body(DeviceTransfer),
                "responses": {
                    "200": b.ok("The record, the new tenant's.", DeviceView),
                    "400": b.problem("Malformed JSON (MALFORMED_JSON)."),
                    "404": b.problem("No such device for the caller's tenant (NOT_FOUND)."),
                    "409": b.problem("A run holds the device (RUN_IN_PROGRESS)."),
                    "413": b.problem("Body too large (PAYLOAD_TOO_LARGE)."),
                    "415": b.problem("Body is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
                    "422": b.problem("Invalid device id or tenant (INVALID_REQUEST)."),
                },
            },
        },
        f"{API_PREFIX}/runs": {
            "get": {
                "operationId": "listRuns",
                "summary": "The caller's runs, newest first (from Temporal's visibility)",
                "parameters": run_filters,
                "responses": {
                    "200": b.ok("Matching runs.", RunList),
                    "422": b.problem("Invalid query parameters (INVALID_REQUEST)."),
                    "503": b.problem("Temporal is unreachable (TEMPORAL_UNAVAILABLE)."),
                },
            }
        },
        f"{API_PREFIX}/strategies/match": {
            "post": {
                "operationId": "matchStrategy",
                "summary": "Which strategy would provision this device (the start's rules)",
                "requestBody": b.body(StrategyQuery),
                "responses": {
                    "200": b.ok("The strategy and what its run will ask for.", StrategyMatch),
                    "400": b.problem("Malformed JSON (MALFORMED_JSON)."),
                    "413": b.problem("Body too large (PAYLOAD_TOO_LARGE)."),
                    "415": b.problem("Body is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
                    "422": b.problem(
                        "Invalid device (INVALID_REQUEST) or no strategy serves it "
                        "(UNSUPPORTED_DEVICE, STRATEGY_DISABLED, UNKNOWN_STRATEGY), with reasons."
                    ),
                },
            }
        },
        "/console": {
            "get": {
                "operationId": "console",
                "summary": "The web console (HTML; its assets are under /console/assets/)",
                "responses": {
                    "200": {"description": "The page.", **_content("text/html", {"type": "string"})}
                },
            }
        },
        "/console/config.json": {
            "get": {
                "operationId": "consoleConfig",
                "summary": "What the console needs to know (no secrets; no key needed)",
                "responses": {"200": b.ok("Console settings.", ConsoleConfig)},
            }
        },
        f"{API_PREFIX}/strategies": {
            "get": {
                "operationId": "listStrategies",
                "summary": "Strategies and whether they are enabled",
                "responses": {"200": strategies},
            }
        },
        f"{API_PREFIX}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.2 document."}},
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness",
                "responses": {
                    "200": {"description": "Alive.", **_content("application/json", plain)}
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: Temporal answers",
                "responses": {
                    "200": {"description": "Ready.", **_content("application/json", plain)},
                    "503": b.problem("Temporal does not answer (TEMPORAL_UNAVAILABLE)."),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "Exposition format.",
                        **_content("text/plain", {"type": "string"}),
                    }
                },
            }
        },
    }


_FLEET_ID = {
    "name": "fleet_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": FLEET_ID_PATTERN},
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
    "description": (
        "Makes the start safe to send again (IETF httpapi draft): within 24 hours the same "
        "key with the same request returns the first answer (`Idempotent-Replayed: true`) "
        "and starts nothing; with another request, 422 IDEMPOTENCY_KEY_REUSED; while the "
        "first is served, 409 IDEMPOTENCY_KEY_IN_USE. Scoped to the key's tenant."
    ),
}
KEY_IN_USE = " Or a request with this Idempotency-Key is being served (IDEMPOTENCY_KEY_IN_USE)."
KEY_REUSED = (
    " Or the Idempotency-Key was sent with another request (IDEMPOTENCY_KEY_REUSED), or is "
    "not 1 to 255 visible ASCII characters (INVALID_REQUEST)."
)


def _stream_ticket(
    b: _Builder, operation: str, of: str, not_found: JsonObject, unavailable: JsonObject
) -> JsonObject:
    return {
        "operationId": operation,
        "summary": f"A ticket that opens this {of}'s event streams for a minute",
        "description": (
            "For browsers, whose EventSource and WebSocket cannot send headers: the "
            "returned `events` (and `ws`) URLs carry the ticket, never the API key. "
            "A ticket opens streams only, of this one "
            f"{of}, for the key's tenant, until `expires_at`."
        ),
        "responses": {
            "201": b.ok("The ticket and the stream URLs carrying it.", StreamAccess),
            "404": not_found,
            **unavailable,
        },
    }


def _fleet_body(b: _Builder) -> JsonObject:
    json_body = b.body(FleetRequest)
    return {
        **json_body,
        "description": (
            "JSON (`FleetRequest`), or CSV (`text/csv`): a header line, then one device a "
            "line; columns `device_id` (required), `type`, `vendor`, `capabilities` "
            "(space- or `;`-separated), `ssid`, `passphrase`, `strategy` (the same on every "
            "line), `model`, `site`, `address`, `ieee`, `hint.<name>` (the device's own). "
            'A refused line is named in `errors[].loc`: `["body", <line>, <column>]`.'
        ),
        "content": {**json_body["content"], "text/csv": {"schema": {"type": "string"}}},
    }


def _fleet_paths(b: _Builder) -> JsonObject:
    base = f"{API_PREFIX}/fleets/{{fleet_id}}/provision"
    not_found = b.problem("No run for this fleet (RUN_NOT_FOUND).")
    ended = b.problem("The fleet has ended (RUN_ALREADY_FINISHED).")
    bad_id = {"422": b.problem("Invalid fleet id or body (INVALID_REQUEST).")}
    body_errors = {
        "400": b.problem("Malformed JSON (MALFORMED_JSON)."),
        "413": b.problem("Body too large (PAYLOAD_TOO_LARGE)."),
        "415": b.problem("Body is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
        **bad_id,
    }
    unavailable = {"503": b.problem("Temporal is unreachable (TEMPORAL_UNAVAILABLE).")}
    started = {
        "description": "Fleet run started; `Location` is its status URL.",
        "headers": {"Location": {"schema": {"type": "string"}}},
        **_content("application/json", b.ref(StartedFleet)),
    }
    return {
        base: {
            "parameters": [_FLEET_ID],
            "post": {
                "operationId": "startFleet",
                "summary": "Provision 1 to 10,000 devices, one child run per device",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _fleet_body(b),
                "responses": {
                    "202": started,
                    **body_errors,
                    **unavailable,
                    "409": b.problem(
                        "A run of this fleet is in flight (RUN_IN_PROGRESS)." + KEY_IN_USE
                    ),
                    "403": b.problem(
                        NOT_ENROLLED.replace("the device", "a device of the fleet")
                        + " `refused` lists the devices and why."
                    ),
                    "413": b.problem("Body too large (PAYLOAD_TOO_LARGE, 2 MiB)."),
                    "422": b.problem(
                        "Invalid request, or devices no strategy serves (`rejected` lists "
                        "them); nothing was started." + KEY_REUSED
                    ),
                },
            },
            "get": {
                "operationId": "getFleet",
                "summary": "Aggregate progress of the fleet",
                "responses": {
                    "200": b.ok("Counts, failures, status.", FleetStatus),
                    "404": not_found,
                    **bad_id,
                    **unavailable,
                },
            },
        },
        f"{base}/stream-ticket": {
            "parameters": [_FLEET_ID],
            "post": _stream_ticket(b, "issueFleetStreamTicket", "fleet", not_found, unavailable),
        },
        f"{base}/events": {
            "parameters": [_FLEET_ID, *_LAST_EVENT_ID],
            "get": {
                "operationId": "streamFleet",
                "summary": "Server-Sent Events: the aggregate snapshot at every change",
                "description": "`event: fleet-progress`, `id` = the snapshot's sequence; "
                "the stream ends once the fleet has completed or was cancelled.",
                "responses": {
                    "200": {
                        "description": "An event stream of FleetSnapshot JSON.",
                        **_event_stream(FLEET_SSE_EVENT, b.ref(FleetSnapshot)),
                    },
                    "400": b.problem("`Last-Event-ID` is not a sequence number (INVALID_REQUEST)."),
                    "404": not_found,
                    **bad_id,
                    "429": b.problem("This key follows too many runs at once (TOO_MANY_STREAMS)."),
                    **unavailable,
                },
            },
        },
        f"{base}/retry": {
            "parameters": [_FLEET_ID],
            "post": {
                "operationId": "retryFleet",
                "summary": "Run failed devices again (all when `device_ids` is empty)",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": b.body(DeviceSelection),
                "responses": {
                    "200": b.ok("Queued again in the running fleet.", FleetSnapshot),
                    "202": started,
                    "404": not_found,
                    **body_errors,
                    "409": b.problem("The fleet has ended (RUN_ALREADY_FINISHED)." + KEY_IN_USE),
                    "422": b.problem("Invalid fleet id or body (INVALID_REQUEST)." + KEY_REUSED),
                },
            },
        },
        f"{base}/skip": {
            "parameters": [_FLEET_ID],
            "post": {
                "operationId": "skipFleetDevices",
                "summary": "Leave queued devices out of the fleet",
                "requestBody": b.body(DeviceSelection),
                "responses": {
                    "200": b.ok("The fleet's progress.", FleetSnapshot),
                    "404": not_found,
                    "409": ended,
                    **body_errors,
                },
            },
        },
        f"{base}/cancel": {
            "parameters": [_FLEET_ID],
            "post": {
                "operationId": "cancelFleet",
                "summary": "Cancel: running device runs roll back, queued ones never start",
                "responses": {
                    "202": b.ok("Cancellation requested.", FleetSnapshot),
                    "404": not_found,
                    "409": ended,
                    **bad_id,
                },
            },
        },
    }


_GROUP_ID = {
    "name": "group_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": GROUP_ID.pattern},
}
NOT_ENROLLED = (
    "The caller's tenant requires enrollment and no enabled enrollment of its admits the "
    "device, or its claim secret (`secrets.claim_secret`) is missing or wrong "
    "(DEVICE_NOT_ENROLLED); nothing was started."
)


def _enrollment_paths(b: _Builder) -> JsonObject:
    individual = f"{API_PREFIX}/enrollments/individual"
    group = f"{API_PREFIX}/enrollments/group"
    body_errors = {
        "400": b.problem("Malformed JSON (MALFORMED_JSON)."),
        "413": b.problem("Body too large (PAYLOAD_TOO_LARGE)."),
        "415": b.problem("Body is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
    }
    page = [
        {
            "name": "cursor",
            "in": "query",
            "schema": {"type": "string", "maxLength": CURSOR_MAX_LENGTH, "pattern": CURSOR_PATTERN},
            "description": "`next_cursor` of the previous page (the page starts after it).",
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        },
    ]
    bad_query = {"422": b.problem("Invalid query parameters or cursor (INVALID_REQUEST).")}
    exists = {"409": b.problem("The tenant has this enrollment already (ENROLLMENT_EXISTS).")}
    unknown = {
        "404": b.problem(
            "No such enrollment for the caller's tenant (NOT_FOUND); another tenant's "
            "answers the same."
        )
    }

    def created(model: type[BaseModel]) -> JsonObject:
        return {
            "description": "Created; `Location` is its URL.",
            "headers": {"Location": {"schema": {"type": "string"}}},
            **_content("application/json", b.ref(model)),
        }

    def one(
        kind: str, parameter: JsonObject, view: type[BaseModel], patch: type[BaseModel]
    ) -> JsonObject:
        name = kind.capitalize()
        return {
            "parameters": [parameter],
            "get": {
                "operationId": f"get{name}Enrollment",
                "summary": f"One {kind} enrollment of the caller's tenant",
                "responses": {"200": b.ok("The enrollment.", view), **unknown},
            },
            "patch": {
                "operationId": f"update{name}Enrollment",
                "summary": f"Change a {kind} enrollment (the fields the body sets)",
                "requestBody": b.body(patch),
                "responses": {
                    "200": b.ok("The enrollment as changed.", view),
                    **unknown,
                    **body_errors,
                    "422": b.problem("Invalid id or body (INVALID_REQUEST)."),
                },
            },
            "delete": {
                "operationId": f"delete{name}Enrollment",
                "summary": f"Remove a {kind} enrollment",
                "responses": {"204": {"description": "Removed."}, **unknown},
            },
        }

    return {
        individual: {
            "post": {
                "operationId": "addIndividualEnrollment",
                "summary": "Enroll one device (its claim secret is stored hashed)",
                "requestBody": b.body(IndividualEnrollmentCreate),
                "responses": {
                    "201": created(IndividualEnrollment),
                    **body_errors,
                    **exists,
                    "422": b.problem("Invalid body (INVALID_REQUEST)."),
                },
            },
            "get": {
                "operationId": "listIndividualEnrollments",
                "summary": "The tenant's individual enrollments, by device id, a page at a time",
                "parameters": page,
                "responses": {
                    "200": b.ok("One page.", IndividualEnrollmentList),
                    **bad_query,
                },
            },
        },
        f"{API_PREFIX}/enrollments/import": {
            "post": {
                "operationId": "importIndividualEnrollments",
                "summary": "Create or replace individual enrollments from CSV, all or none",
                "description": "Columns: `device_id` (required), `serial`, `mac`, `vendor`, "
                "`model`, `claim_secret`, `enabled`; at most 1000 lines.",
                "requestBody": {
                    "required": True,
                    **_content("text/csv", {"type": "string"}),
                },
                "responses": {
                    "200": b.ok("Every line was imported.", EnrollmentImport),
                    "413": b.problem("Body too large (PAYLOAD_TOO_LARGE)."),
                    "415": b.problem("Body is not text/csv (UNSUPPORTED_MEDIA_TYPE)."),
                    "422": b.problem(
                        'A line is invalid; `errors` name them as `["body", <line>, '
                        "<column>]` (INVALID_REQUEST). Nothing was imported."
                    ),
                },
            }
        },
        f"{individual}/{{device_id}}": one(
            "individual", _DEVICE_ID, IndividualEnrollment, IndividualEnrollmentPatch
        ),
        group: {
            "post": {
                "operationId": "addGroupEnrollment",
                "summary": "Enroll the devices a vendor, model or device id glob matches",
                "requestBody": b.body(GroupEnrollmentCreate),
                "responses": {
                    "201": created(GroupEnrollment),
                    **body_errors,
                    **exists,
                    "422": b.problem("Invalid body (INVALID_REQUEST)."),
                },
            },
            "get": {
                "operationId": "listGroupEnrollments",
                "summary": "The tenant's group enrollments, by id, a page at a time",
                "parameters": page,
                "responses": {"200": b.ok("One page.", GroupEnrollmentList), **bad_query},
            },
        },
        f"{group}/{{group_id}}": one("group", _GROUP_ID, GroupEnrollment, GroupEnrollmentPatch),
        f"{API_PREFIX}/tenant/settings": {
            "get": {
                "operationId": "getTenantSettings",
                "summary": "The caller's tenant's settings",
                "responses": {"200": b.ok("The settings.", TenantSettings)},
            },
            "put": {
                "operationId": "putTenantSettings",
                "summary": "Set the caller's tenant's settings (admin)",
                "requestBody": b.body(TenantSettingsUpdate),
                "responses": {
                    "200": b.ok("The settings.", TenantSettings),
                    **body_errors,
                    "422": b.problem("Invalid body (INVALID_REQUEST)."),
                },
            },
        },
    }


def _webhook_paths(b: _Builder) -> JsonObject:
    webhooks = f"{API_PREFIX}/webhooks"
    one = f"{webhooks}/{{webhook_id}}"
    webhook_id = {
        "name": "webhook_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": WEBHOOK_ID.pattern},
    }
    event_id = {
        "name": "event_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": EVENT_ID.pattern},
    }
    unknown = {
        "404": b.problem(
            "No such webhook for the caller's tenant (NOT_FOUND); another tenant's "
            "answers the same."
        )
    }
    unavailable = {"503": b.problem("Temporal did not answer (TEMPORAL_UNAVAILABLE).")}
    return {
        webhooks: {
            "post": {
                "operationId": "createWebhook",
                "summary": "Subscribe a URL to event types; the answer shows the secret once",
                "description": "Target URLs obey the outbound-request policy: https to a "
                "public address, unless the deployment allows private targets "
                "(`DEVPROV_WEBHOOKS_ALLOW_PRIVATE`).",
                "requestBody": b.body(WebhookCreate),
                "responses": {
                    "201": {
                        "description": "Created; `Location` is its URL. `secret` is never "
                        "shown again.",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        **_content("application/json", b.ref(WebhookCreated)),
                    },
                    "400": b.problem("Malformed JSON (MALFORMED_JSON)."),
                    "413": b.problem("Body too large (PAYLOAD_TOO_LARGE)."),
                    "415": b.problem("Body is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
                    "422": b.problem(
                        "Invalid body (INVALID_REQUEST), a URL the outbound policy refuses "
                        "(WEBHOOK_TARGET_NOT_ALLOWED), or no key ring to keep the secret "
                        "encrypted with (WEBHOOK_SECRETS_UNAVAILABLE)."
                    ),
                    **unavailable,
                },
            },
            "get": {
                "operationId": "listWebhooks",
                "summary": "The caller's tenant's webhooks (never their secrets)",
                "responses": {"200": b.ok("The webhooks, oldest first.", WebhookList)},
            },
        },
        one: {
            "parameters": [webhook_id],
            "get": {
                "operationId": "getWebhook",
                "summary": "One webhook of the caller's tenant",
                "responses": {"200": b.ok("The webhook.", Webhook), **unknown},
            },
            "patch": {
                "operationId": "updateWebhook",
                "summary": "Disable or enable a webhook, or change its events or description",
                "description": "Only the fields given change. A disabled webhook gets no new "
                "events and sends none of its pending ones; enabling it sends them (an event "
                "past its maximum age meanwhile goes to the dead letter after one more try).",
                "requestBody": b.body(WebhookUpdate),
                "responses": {
                    "200": b.ok("The webhook as it is now.", Webhook),
                    "400": b.problem("Malformed JSON (MALFORMED_JSON)."),
                    "413": b.problem("Body too large (PAYLOAD_TOO_LARGE)."),
                    "415": b.problem("Body is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
                    "422": b.problem("Invalid body (INVALID_REQUEST)."),
                    **unknown,
                    **unavailable,
                },
            },
            "delete": {
                "operationId": "deleteWebhook",
                "summary": "Delete a webhook and its undelivered events",
                "responses": {"204": {"description": "Deleted."}, **unknown, **unavailable},
            },
        },
        f"{one}/rotate-secret": {
            "parameters": [webhook_id],
            "post": {
                "operationId": "rotateWebhookSecret",
                "summary": "Give the webhook a new signing secret; the answer shows it once",
                "description": "For the grace period (`grace_seconds`, default 24 hours) "
                "every delivery carries two signatures in `webhook-signature`, separated by "
                "a space: one with the new secret, one with the old. Receivers that verify "
                "per Standard Webhooks accept either, so they can switch at their pace. "
                "`grace_seconds: 0` drops the old secret at once (a leaked secret). The "
                "body is optional.",
                "requestBody": {
                    "required": False,
                    **_content("application/json", b.ref(WebhookSecretRotation)),
                },
                "responses": {
                    "200": b.ok("The new secret, shown once.", WebhookSecretRotated),
                    "400": b.problem("Malformed JSON (MALFORMED_JSON)."),
                    "415": b.problem("Body is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
                    "422": b.problem(
                        "Invalid body (INVALID_REQUEST), or no key ring to keep the secret "
                        "encrypted with (WEBHOOK_SECRETS_UNAVAILABLE)."
                    ),
                    **unknown,
                },
            },
        },
        f"{one}/deliveries": {
            "parameters": [webhook_id],
            "get": {
                "operationId": "listWebhookDeliveries",
                "summary": "The webhook's delivery log, newest first: attempts, status "
                "codes, next try, dead letters",
                "parameters": [
                    {
                        "name": "cursor",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": 20, "pattern": "^[0-9]+$"},
                        "description": "`next_cursor` of the previous page.",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                    },
                ],
                "responses": {
                    "200": b.ok("One page.", WebhookDeliveryList),
                    **unknown,
                    "422": b.problem("Invalid query parameters (INVALID_REQUEST)."),
                },
            },
        },
        f"{API_PREFIX}/tenant/settings/pre-provisioning-hook": {
            "get": {
                "operationId": "getPreProvisioningHook",
                "summary": "The caller's tenant's pre-provisioning hook (never its secret)",
                "responses": {
                    "200": b.ok("The hook.", PreProvisioningHook),
                    "404": b.problem("The tenant has no hook (NOT_FOUND)."),
                },
            },
            "put": {
                "operationId": "putPreProvisioningHook",
                "summary": "Set the tenant's pre-provisioning hook (admin); the answer shows "
                "its new signing secret once",
                "description": "During PRE_CHECK every provisioning run of the tenant POSTs "
                "the device's facts to the hook, signed like a webhook; the hook answers "
                '`{"allow": true|false, "reason", "parameters"}`. A deny ends the run '
                "FAILED_VALIDATION with HOOK_DENIED; no verdict after the pre-check's "
                "retries, FAILED with HOOK_UNAVAILABLE.",
                "requestBody": b.body(PreProvisioningHookSet),
                "responses": {
                    "200": b.ok("The hook, with its secret.", PreProvisioningHookCreated),
                    "400": b.problem("Malformed JSON (MALFORMED_JSON)."),
                    "413": b.problem("Body too large (PAYLOAD_TOO_LARGE)."),
                    "415": b.problem("Body is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
                    "422": b.problem(
                        "Invalid body (INVALID_REQUEST), a URL that is not https or that "
                        "the outbound policy refuses (WEBHOOK_TARGET_NOT_ALLOWED), or no key "
                        "ring to keep the secret encrypted with (WEBHOOK_SECRETS_UNAVAILABLE)."
                    ),
                },
            },
            "delete": {
                "operationId": "deletePreProvisioningHook",
                "summary": "Remove the tenant's pre-provisioning hook (admin)",
                "responses": {
                    "204": {"description": "Removed: runs ask no hook any more."},
                    "404": b.problem("The tenant has no hook (NOT_FOUND)."),
                },
            },
        },
        f"{one}/deliveries/{{event_id}}/redeliver": {
            "parameters": [webhook_id, event_id],
            "post": {
                "operationId": "redeliverWebhookEvent",
                "summary": "Send an event again now (a dead one too), its maximum age "
                "counted afresh",
                "responses": {
                    "202": b.ok("Queued for delivery.", WebhookDelivery),
                    "404": b.problem(
                        "No such webhook for the caller's tenant, or no such event of it "
                        "(NOT_FOUND)."
                    ),
                    **unavailable,
                },
            },
        },
    }


def openapi_document(families: Sequence[DeviceFamily] | None = None) -> JsonObject:
    """The OpenAPI 3.2 document of the API serving `families` (default: the installed)."""
    builder = _Builder(installed_families() if families is None else families)
    return {
        "openapi": "3.2.0",
        "info": {
            "title": "devprov API",
            "version": "1.0.0",
            "description": (
                "Durable device provisioning on Temporal. Every error is "
                "`application/problem+json` with a stable `code`."
            ),
        },
        "paths": _with_invalid_identifiers(
            builder,
            {
                **_run_paths(builder),
                **_decommission_paths(builder),
                **_fleet_paths(builder),
                **_other_paths(builder),
                **_enrollment_paths(builder),
                **_webhook_paths(builder),
            },
        ),
        "components": {"schemas": builder.schemas},
    }


def _with_invalid_identifiers(b: _Builder, paths: JsonObject) -> JsonObject:
    """Every operation with an identifier in its path may answer 422 for it
    (`api.path_identifiers`, before anything else)."""
    invalid = b.problem("The path's identifier is not valid (INVALID_REQUEST).")
    for template, item in paths.items():
        if "{" not in template:
            continue
        for method, operation in item.items():
            if method != "parameters":
                operation["responses"].setdefault("422", invalid)
    return paths


class _ServedDocument:
    """The document of one application, made on its first request."""

    def __init__(self, families: Sequence[DeviceFamily]) -> None:
        self._families = tuple(families)

    @cached_property
    def document(self) -> JsonObject:
        return openapi_document(self._families)


_DOCUMENT = web.AppKey("openapi_document", _ServedDocument)


def share_openapi_document(app: web.Application, families: Sequence[DeviceFamily]) -> None:
    """Serve the document of an API with `families` from `app`."""
    app[_DOCUMENT] = _ServedDocument(families)


async def serve_openapi(request: web.Request) -> web.Response:
    """`GET /openapi.json`."""
    return web.json_response(request.app[_DOCUMENT].document)
