"""The API operations the SDK calls: method, path and OpenAPI operation id.

A test checks this table against the served OpenAPI document, so the SDK and the
server cannot drift apart unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from domain.api_models import API_PREFIX

_RUN = f"{API_PREFIX}/devices/{{device_id}}/provision"
_DECOMMISSION = f"{API_PREFIX}/devices/{{device_id}}/decommission"
_FLEET = f"{API_PREFIX}/fleets/{{fleet_id}}/provision"
_INDIVIDUAL = f"{API_PREFIX}/enrollments/individual"
_GROUP = f"{API_PREFIX}/enrollments/group"


@dataclass(frozen=True)
class Operation:
    """One API operation."""

    operation_id: str
    method: str
    path: str

    def url(self, **params: str) -> str:
        """The path with its parameters filled in (percent-encoded)."""
        return self.path.format(**{name: quote(value, safe="") for name, value in params.items()})


START_PROVISIONING = Operation("startProvisioning", "POST", _RUN)
GET_PROVISIONING = Operation("getProvisioning", "GET", _RUN)
STREAM_EVENTS = Operation("streamProvisioningEvents", "GET", f"{_RUN}/events")
SUBMIT_CREDENTIALS = Operation("submitCredentials", "POST", f"{_RUN}/credentials")
REPORT_CLIENT_BLE = Operation("reportClientBleResult", "POST", f"{_RUN}/client-ble-result")
FORGET_CREDENTIALS = Operation("forgetCredentials", "POST", f"{_RUN}/forget-credentials")
RETRY_PROVISIONING = Operation("retryProvisioning", "POST", f"{_RUN}/retry")
CANCEL_PROVISIONING = Operation("cancelProvisioning", "POST", f"{_RUN}/cancel")
START_DECOMMISSION = Operation("startDecommission", "POST", _DECOMMISSION)
GET_DECOMMISSION = Operation("getDecommission", "GET", _DECOMMISSION)
STREAM_DECOMMISSION = Operation("streamDecommissionEvents", "GET", f"{_DECOMMISSION}/events")
CANCEL_DECOMMISSION = Operation("cancelDecommission", "POST", f"{_DECOMMISSION}/cancel")
LIST_RUNS = Operation("listRuns", "GET", f"{API_PREFIX}/runs")
LIST_DEVICES = Operation("listDevices", "GET", f"{API_PREFIX}/devices")
GET_DEVICE = Operation("getDevice", "GET", f"{API_PREFIX}/devices/{{device_id}}")
RELEASE_DEVICE = Operation("releaseDevice", "POST", f"{API_PREFIX}/devices/{{device_id}}/release")
TRANSFER_DEVICE = Operation(
    "transferDevice", "POST", f"{API_PREFIX}/devices/{{device_id}}/transfer"
)
LIST_STRATEGIES = Operation("listStrategies", "GET", f"{API_PREFIX}/strategies")
MATCH_STRATEGY = Operation("matchStrategy", "POST", f"{API_PREFIX}/strategies/match")
START_FLEET = Operation("startFleet", "POST", _FLEET)
GET_FLEET = Operation("getFleet", "GET", _FLEET)
STREAM_FLEET = Operation("streamFleet", "GET", f"{_FLEET}/events")
RETRY_FLEET = Operation("retryFleet", "POST", f"{_FLEET}/retry")
SKIP_FLEET_DEVICES = Operation("skipFleetDevices", "POST", f"{_FLEET}/skip")
CANCEL_FLEET = Operation("cancelFleet", "POST", f"{_FLEET}/cancel")
ADD_INDIVIDUAL_ENROLLMENT = Operation("addIndividualEnrollment", "POST", _INDIVIDUAL)
LIST_INDIVIDUAL_ENROLLMENTS = Operation("listIndividualEnrollments", "GET", _INDIVIDUAL)
IMPORT_INDIVIDUAL_ENROLLMENTS = Operation(
    "importIndividualEnrollments", "POST", f"{API_PREFIX}/enrollments/import"
)
GET_INDIVIDUAL_ENROLLMENT = Operation(
    "getIndividualEnrollment", "GET", f"{_INDIVIDUAL}/{{device_id}}"
)
UPDATE_INDIVIDUAL_ENROLLMENT = Operation(
    "updateIndividualEnrollment", "PATCH", f"{_INDIVIDUAL}/{{device_id}}"
)
DELETE_INDIVIDUAL_ENROLLMENT = Operation(
    "deleteIndividualEnrollment", "DELETE", f"{_INDIVIDUAL}/{{device_id}}"
)
ADD_GROUP_ENROLLMENT = Operation("addGroupEnrollment", "POST", _GROUP)
LIST_GROUP_ENROLLMENTS = Operation("listGroupEnrollments", "GET", _GROUP)
GET_GROUP_ENROLLMENT = Operation("getGroupEnrollment", "GET", f"{_GROUP}/{{group_id}}")
UPDATE_GROUP_ENROLLMENT = Operation("updateGroupEnrollment", "PATCH", f"{_GROUP}/{{group_id}}")
DELETE_GROUP_ENROLLMENT = Operation("deleteGroupEnrollment", "DELETE", f"{_GROUP}/{{group_id}}")
GET_TENANT_SETTINGS = Operation("getTenantSettings", "GET", f"{API_PREFIX}/tenant/settings")
PUT_TENANT_SETTINGS = Operation("putTenantSettings", "PUT", f"{API_PREFIX}/tenant/settings")
_WEBHOOKS = f"{API_PREFIX}/webhooks"
CREATE_WEBHOOK = Operation("createWebhook", "POST", _WEBHOOKS)
LIST_WEBHOOKS = Operation("listWebhooks", "GET", _WEBHOOKS)
GET_WEBHOOK = Operation("getWebhook", "GET", f"{_WEBHOOKS}/{{webhook_id}}")
DELETE_WEBHOOK = Operation("deleteWebhook", "DELETE", f"{_WEBHOOKS}/{{webhook_id}}")
UPDATE_WEBHOOK = Operation("updateWebhook", "PATCH", f"{_WEBHOOKS}/{{webhook_id}}")
ROTATE_WEBHOOK_SECRET = Operation(
    "rotateWebhookSecret", "POST", f"{_WEBHOOKS}/{{webhook_id}}/rotate-secret"
)
LIST_WEBHOOK_DELIVERIES = Operation(
    "listWebhookDeliveries", "GET", f"{_WEBHOOKS}/{{webhook_id}}/deliveries"
)
REDELIVER_WEBHOOK_EVENT = Operation(
    "redeliverWebhookEvent",
    "POST",
    f"{_WEBHOOKS}/{{webhook_id}}/deliveries/{{event_id}}/redeliver",
)
_HOOK = f"{API_PREFIX}/tenant/settings/pre-provisioning-hook"
GET_PRE_PROVISIONING_HOOK = Operation("getPreProvisioningHook", "GET", _HOOK)
PUT_PRE_PROVISIONING_HOOK = Operation("putPreProvisioningHook", "PUT", _HOOK)
DELETE_PRE_PROVISIONING_HOOK = Operation("deletePreProvisioningHook", "DELETE", _HOOK)
OPENAPI = Operation("openapi", "GET", f"{API_PREFIX}/openapi.json")
HEALTHZ = Operation("healthz", "GET", "/healthz")
READYZ = Operation("readyz", "GET", "/readyz")

OPERATIONS = (
    START_PROVISIONING,
    GET_PROVISIONING,
    STREAM_EVENTS,
    SUBMIT_CREDENTIALS,
    REPORT_CLIENT_BLE,
    FORGET_CREDENTIALS,
    RETRY_PROVISIONING,
    CANCEL_PROVISIONING,
    START_DECOMMISSION,
    GET_DECOMMISSION,
    STREAM_DECOMMISSION,
    CANCEL_DECOMMISSION,
    LIST_RUNS,
    LIST_DEVICES,
    GET_DEVICE,
    RELEASE_DEVICE,
    TRANSFER_DEVICE,
    LIST_STRATEGIES,
    MATCH_STRATEGY,
    START_FLEET,
    GET_FLEET,
    STREAM_FLEET,
    RETRY_FLEET,
    SKIP_FLEET_DEVICES,
    CANCEL_FLEET,
    ADD_INDIVIDUAL_ENROLLMENT,
    LIST_INDIVIDUAL_ENROLLMENTS,
    IMPORT_INDIVIDUAL_ENROLLMENTS,
    GET_INDIVIDUAL_ENROLLMENT,
    UPDATE_INDIVIDUAL_ENROLLMENT,
    DELETE_INDIVIDUAL_ENROLLMENT,
    ADD_GROUP_ENROLLMENT,
    LIST_GROUP_ENROLLMENTS,
    GET_GROUP_ENROLLMENT,
    UPDATE_GROUP_ENROLLMENT,
    DELETE_GROUP_ENROLLMENT,
    GET_TENANT_SETTINGS,
    PUT_TENANT_SETTINGS,
    CREATE_WEBHOOK,
    LIST_WEBHOOKS,
    GET_WEBHOOK,
    DELETE_WEBHOOK,
    UPDATE_WEBHOOK,
    ROTATE_WEBHOOK_SECRET,
    LIST_WEBHOOK_DELIVERIES,
    REDELIVER_WEBHOOK_EVENT,
    GET_PRE_PROVISIONING_HOOK,
    PUT_PRE_PROVISIONING_HOOK,
    DELETE_PRE_PROVISIONING_HOOK,
    OPENAPI,
    HEALTHZ,
    READYZ,
)

NOT_IN_SDK = {
    "streamProvisioningWebSocket": "same payloads as the SSE stream, which the SDK follows",
    "streamDecommissionWebSocket": "same payloads as the SSE stream, which the SDK follows",
    "metrics": "Prometheus scrapes it",
    "console": "HTML for browsers",
    "consoleConfig": "for the web console",
    "issueStreamTicket": "for browsers; the SDK sends its key in the stream's header",
    "issueFleetStreamTicket": "for browsers; the SDK sends its key in the stream's header",
}
"""Operations of the API the SDK leaves out on purpose, and why."""
