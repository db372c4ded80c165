"""The devprov client SDK: a typed async client of the provisioning API.

It needs pydantic, httpx and httpx-sse only (not the server's Temporal, aiohttp or
radio libraries); the BLE scanner of `client.ble_scan` needs bleak.

    async with DevprovClient("http://127.0.0.1:8080", api_key) as api:
        started = await api.start_provisioning(request)
        async for event in api.events(started.device_id):
            print(event.state, event.message)
"""

from client.api import DevprovClient
from client.coordinator import (
    MissingSecrets,
    ProvisioningCoordinator,
    ProvisioningOutcome,
    ProvisioningView,
)
from client.credentials import (
    CurrentNetworkCredentials,
    FileCredentials,
    FirstAvailable,
    GivenCredentials,
    PromptCredentials,
)
from client.errors import (
    ApiProblem,
    ApiUnreachable,
    DeviceNotFound,
    DevprovError,
    EnrollmentExists,
    InvalidRequest,
    NotAuthorized,
    NotEnrolled,
    RateLimited,
    RunConflict,
    RunNotFound,
    ServiceUnavailable,
    UnsupportedDevice,
    WebhookTargetRefused,
)
from client.events import EventStream, ReconnectPolicy
from client.ports import CredentialsRequest, CredentialsSource, DeviceScanner, FoundDevice
from client.settings import DEFAULT_API_URL, ClientSettings

__all__ = [
    "DEFAULT_API_URL",
    "ApiProblem",
    "ApiUnreachable",
    "ClientSettings",
    "CredentialsRequest",
    "CredentialsSource",
    "CurrentNetworkCredentials",
    "DeviceNotFound",
    "DeviceScanner",
    "DevprovClient",
    "DevprovError",
    "EnrollmentExists",
    "EventStream",
    "FileCredentials",
    "FirstAvailable",
    "FoundDevice",
    "GivenCredentials",
    "InvalidRequest",
    "MissingSecrets",
    "NotAuthorized",
    "NotEnrolled",
    "PromptCredentials",
    "ProvisioningCoordinator",
    "ProvisioningOutcome",
    "ProvisioningView",
    "RateLimited",
    "ReconnectPolicy",
    "RunConflict",
    "RunNotFound",
    "ServiceUnavailable",
    "UnsupportedDevice",
    "WebhookTargetRefused",
]
