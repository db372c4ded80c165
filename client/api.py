"""`DevprovClient`: an async client of every API route, on httpx.

Its models are the backend's own (`domain`), so a request the client builds is the
request the server validates, and a response it reads is the one the server wrote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, TypeAdapter

from client import routes
from client.errors import ApiUnreachable
from client.events import EventStream, ReconnectPolicy
from client.responses import raise_for_problem, read_model
from client.settings import DEFAULT_API_URL, ClientSettings
from domain.api_models import (
    FLEET_SSE_EVENT,
    PROGRESS_SSE_EVENT,
    DecommissionStatus,
    DeviceList,
    DeviceSelection,
    DeviceTransfer,
    DeviceView,
    FleetStatus,
    RunList,
    RunStatus,
    StartedDecommission,
    StartedFleet,
    StartedRun,
    StrategyInfo,
    StrategyMatch,
    StrategyQuery,
)
from domain.device import DeviceDescriptor
from domain.enrollments import (
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
from domain.fleet import FleetRequest, FleetSnapshot
from domain.hooks import PreProvisioningHook, PreProvisioningHookCreated, PreProvisioningHookSet
from domain.progress import ProgressSnapshot, StreamedEvent
from domain.registry import DeviceState
from domain.requests import ClientBleReport, NetworkCredentials, ProvisionRequest
from domain.states import ProvisioningState
from domain.webhooks import (
    EventType,
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

_STRATEGIES = TypeAdapter(list[StrategyInfo])
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


class DevprovClient:
    """Async client of the devprov API.

    Use it as an async context manager (it owns an `httpx.AsyncClient`), or pass
    your own `http` client and close it yourself.

    Args:
        base_url: The API's origin, e.g. `http://127.0.0.1:8080`.
        api_key: Sent as `Authorization: Bearer <key>`.
        timeout: Timeout of ordinary requests in seconds (updates may take a while:
            the API waits up to 60 s for a run to accept credentials or a retry).
        http: An httpx client to use instead of a new one (e.g. with a mock transport).
        reconnect: How event streams resume after a dropped connection.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        api_key: str | None = None,
        *,
        timeout: float = 75.0,
        http: httpx.AsyncClient | None = None,
        reconnect: ReconnectPolicy | None = None,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "devprov-sdk"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._http.headers.update(headers)
        self.reconnect = reconnect or ReconnectPolicy()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DevprovClient:
        """From `$DEVPROV_API_URL` (default `http://127.0.0.1:8080`) and `$DEVPROV_API_KEY`."""
        settings = ClientSettings.from_env(environ)
        return cls(settings.url, settings.key)

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client (if this object made it)."""
        if self._owns_http:
            await self._http.aclose()

    # ------------------------------------------------------------------ device runs

    async def start_provisioning(
        self, request: ProvisionRequest, *, idempotency_key: str | None = None
    ) -> StartedRun:
        """Start the run of `request.device` (`202`); `UnsupportedDevice` names the reasons.

        With `idempotency_key` (e.g. a UUID kept with the request), sending the same
        request again after a lost answer returns the first run instead of starting one.
        """
        response = await self._send(
            routes.START_PROVISIONING,
            json=_wire(request),
            idempotency_key=idempotency_key,
            device_id=request.device.device_id,
        )
        return read_model(response, StartedRun)

    async def get_run(self, device_id: str) -> RunStatus:
        """The progress snapshot of the device's latest run and its execution status."""
        response = await self._send(routes.GET_PROVISIONING, device_id=device_id)
        return read_model(response, RunStatus)

    async def submit_credentials(
        self, device_id: str, credentials: NetworkCredentials
    ) -> ProgressSnapshot:
        """Give a waiting run its Wi-Fi credentials; returns once the run took them."""
        response = await self._send(
            routes.SUBMIT_CREDENTIALS, json=_wire(credentials), device_id=device_id
        )
        return read_model(response, ProgressSnapshot)

    async def report_client_ble(self, device_id: str, report: ClientBleReport) -> ProgressSnapshot:
        """Tell a `client-ble` run what the browser (or app) that onboarded the device over
        Bluetooth saw; returns once the run acted on it."""
        response = await self._send(
            routes.REPORT_CLIENT_BLE, json=report.model_dump(mode="json"), device_id=device_id
        )
        return read_model(response, ProgressSnapshot)

    async def forget_credentials(self, device_id: str) -> ProgressSnapshot:
        """Make the run drop the credentials it holds and ask for them again."""
        response = await self._send(routes.FORGET_CREDENTIALS, device_id=device_id)
        return read_model(response, ProgressSnapshot)

    async def retry(
        self, device_id: str, *, idempotency_key: str | None = None
    ) -> ProgressSnapshot | StartedRun:
        """Start over: the waiting run restarts (its snapshot), or a new run starts."""
        response = await self._send(
            routes.RETRY_PROVISIONING, idempotency_key=idempotency_key, device_id=device_id
        )
        if response.status_code == 202:
            return read_model(response, StartedRun)
        return read_model(response, ProgressSnapshot)

    async def cancel(self, device_id: str) -> ProgressSnapshot:
        """Ask the run to stop; it rolls the device back. Returns the snapshot as of now."""
        response = await self._send(routes.CANCEL_PROVISIONING, device_id=device_id)
        return read_model(response, ProgressSnapshot)

    def events(
        self,
        device_id: str,
        *,
        last_event_id: int | None = None,
        on_reconnect: Callable[[int | None], None] | None = None,
    ) -> EventStream[StreamedEvent]:
        """The run's events from `last_event_id` on (all when None), until it ends.

        Dropped connections are resumed (`on_reconnect` hears of each resumption);
        each event is delivered once, in order.
        """
        return self._run_events(routes.STREAM_EVENTS, device_id, last_event_id, on_reconnect)

    # ------------------------------------------------------------------ decommissioning

    async def decommission(
        self, device_id: str, *, idempotency_key: str | None = None
    ) -> StartedDecommission:
        """Take the device out of service: start its decommissioning run (`202`).

        `DeviceNotFound` for a device the registry does not hold for this key's tenant;
        `RunConflict` (`RUN_IN_PROGRESS`, `DEVICE_NOT_IN_SERVICE`) when it cannot now.
        """
        response = await self._send(
            routes.START_DECOMMISSION, idempotency_key=idempotency_key, device_id=device_id
        )
        return read_model(response, StartedDecommission)

    async def get_decommission(self, device_id: str) -> DecommissionStatus:
        """The progress snapshot of the device's latest decommissioning run."""
        response = await self._send(routes.GET_DECOMMISSION, device_id=device_id)
        return read_model(response, DecommissionStatus)

    async def cancel_decommission(self, device_id: str) -> ProgressSnapshot:
        """Ask the decommissioning run to stop (it does only before its first undo step)."""
        response = await self._send(routes.CANCEL_DECOMMISSION, device_id=device_id)
        return read_model(response, ProgressSnapshot)

    def decommission_events(
        self,
        device_id: str,
        *,
        last_event_id: int | None = None,
        on_reconnect: Callable[[int | None], None] | None = None,
    ) -> EventStream[StreamedEvent]:
        """The decommissioning run's events, as `events` gives a provisioning run's."""
        return self._run_events(routes.STREAM_DECOMMISSION, device_id, last_event_id, on_reconnect)

    def _run_events(
        self,
        stream: routes.Operation,
        device_id: str,
        last_event_id: int | None,
        on_reconnect: Callable[[int | None], None] | None,
    ) -> EventStream[StreamedEvent]:
        return EventStream(
            self._http,
            stream.url(device_id=device_id),
            event=PROGRESS_SSE_EVENT,
            model=StreamedEvent,
            is_last=lambda event: event.terminal,
            last_event_id=last_event_id,
            policy=self.reconnect,
            on_reconnect=on_reconnect,
        )

    async def list_runs(
        self,
        *,
        state: ProvisioningState | None = None,
        strategy: str | None = None,
        site: str | None = None,
        device_id: str | None = None,
        fleet_id: str | None = None,
        error_code: str | None = None,
        running: bool = False,
        limit: int = 50,
    ) -> RunList:
        """Runs of this key's tenant, newest first (from Temporal's visibility)."""
        params: dict[str, str] = {"limit": str(limit)}
        for name, value in (
            ("state", state.value if state else None),
            ("strategy", strategy),
            ("site", site),
            ("device", device_id),
            ("fleet", fleet_id),
            ("error_code", error_code),
        ):
            if value:
                params[name] = value
        if running:
            params["running"] = "true"
        response = await self._send(routes.LIST_RUNS, params=params)
        return read_model(response, RunList)

    # ------------------------------------------------------------------ devices

    async def list_devices(
        self,
        *,
        state: DeviceState | None = None,
        strategy: str | None = None,
        vendor: str | None = None,
        site: str | None = None,
        network: str | None = None,
        tenant: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> DeviceList:
        """One page of this key's tenant's devices in the registry, sorted by id
        (`tenant`: another tenant's, admin keys only); pass `next_cursor` on."""
        params: dict[str, str] = {"limit": str(limit)}
        for name, value in (
            ("state", state.value if state else None),
            ("strategy", strategy),
            ("vendor", vendor),
            ("site", site),
            ("network", network),
            ("tenant", tenant),
            ("cursor", cursor),
        ):
            if value:
                params[name] = value
        response = await self._send(routes.LIST_DEVICES, params=params)
        return read_model(response, DeviceList)

    async def all_devices(self, **filters: Any) -> AsyncIterator[DeviceView]:
        """Every device `list_devices(**filters)` selects, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list_devices(**filters, cursor=cursor)
            for item in page.items:
                yield item
            cursor = page.next_cursor
            if cursor is None:
                return

    async def get_device(self, device_id: str) -> DeviceView:
        """The device's registry record; `DeviceNotFound` for an unknown device (or
        another tenant's)."""
        response = await self._send(routes.GET_DEVICE, device_id=device_id)
        return read_model(response, DeviceView)

    async def release_device(self, device_id: str) -> DeviceView:
        """Admin: free a device whose run ended without recording its outcome (it
        becomes FAILED); `RunConflict` while its run runs or when no run holds it."""
        response = await self._send(routes.RELEASE_DEVICE, device_id=device_id)
        return read_model(response, DeviceView)

    async def transfer_device(self, device_id: str, tenant: str) -> DeviceView:
        """Admin: give the device to `tenant`; `RunConflict` while a run holds it."""
        body = _wire(DeviceTransfer(tenant=tenant))
        response = await self._send(routes.TRANSFER_DEVICE, json=body, device_id=device_id)
        return read_model(response, DeviceView)

    # ------------------------------------------------------------------ strategies

    async def list_strategies(self) -> list[StrategyInfo]:
        """Every strategy the API knows, with its switches."""
        response = await self._send(routes.LIST_STRATEGIES)
        raise_for_problem(response)
        return _STRATEGIES.validate_json(response.content)

    async def match_strategy(
        self, device: DeviceDescriptor, *, strategy: str | None = None
    ) -> StrategyMatch:
        """The strategy a run of `device` would use; `UnsupportedDevice` says why none."""
        query = StrategyQuery(device=device, strategy=strategy)
        response = await self._send(routes.MATCH_STRATEGY, json=_wire(query))
        return read_model(response, StrategyMatch)

    # ------------------------------------------------------------------ fleets

    async def start_fleet(
        self, fleet_id: str, request: FleetRequest, *, idempotency_key: str | None = None
    ) -> StartedFleet:
        """Provision many devices, one child run each."""
        response = await self._send(
            routes.START_FLEET,
            json=_wire(request),
            idempotency_key=idempotency_key,
            fleet_id=fleet_id,
        )
        return read_model(response, StartedFleet)

    async def start_fleet_csv(
        self, fleet_id: str, csv_text: str, *, idempotency_key: str | None = None
    ) -> StartedFleet:
        """Provision the devices of a CSV file, one a line (columns: docs/fleets.md)."""
        response = await self._send(
            routes.START_FLEET,
            csv=csv_text,
            idempotency_key=idempotency_key,
            fleet_id=fleet_id,
        )
        return read_model(response, StartedFleet)

    async def get_fleet(self, fleet_id: str) -> FleetStatus:
        """The fleet's aggregate progress."""
        response = await self._send(routes.GET_FLEET, fleet_id=fleet_id)
        return read_model(response, FleetStatus)

    def fleet_events(
        self, fleet_id: str, *, last_event_id: int | None = None
    ) -> EventStream[FleetSnapshot]:
        """The fleet's aggregate snapshot at every change, until it ends."""
        return EventStream(
            self._http,
            routes.STREAM_FLEET.url(fleet_id=fleet_id),
            event=FLEET_SSE_EVENT,
            model=FleetSnapshot,
            is_last=lambda snapshot: snapshot.finished,
            last_event_id=last_event_id,
            policy=self.reconnect,
        )

    async def retry_fleet(
        self,
        fleet_id: str,
        device_ids: list[str] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> FleetSnapshot | StartedFleet:
        """Run failed devices again (all failed ones when `device_ids` is empty)."""
        body = _wire(DeviceSelection(device_ids=device_ids or []))
        response = await self._send(
            routes.RETRY_FLEET, json=body, idempotency_key=idempotency_key, fleet_id=fleet_id
        )
        if response.status_code == 202:
            return read_model(response, StartedFleet)
        return read_model(response, FleetSnapshot)

    async def skip_fleet_devices(self, fleet_id: str, device_ids: list[str]) -> FleetSnapshot:
        """Leave queued devices out of the fleet."""
        body = _wire(DeviceSelection(device_ids=device_ids))
        response = await self._send(routes.SKIP_FLEET_DEVICES, json=body, fleet_id=fleet_id)
        return read_model(response, FleetSnapshot)

    async def cancel_fleet(self, fleet_id: str) -> FleetSnapshot:
        """Cancel the fleet: running device runs roll back, queued ones never start."""
        response = await self._send(routes.CANCEL_FLEET, fleet_id=fleet_id)
        return read_model(response, FleetSnapshot)

    # ------------------------------------------------------------------ enrollments

    async def add_individual_enrollment(
        self, enrollment: IndividualEnrollmentCreate
    ) -> IndividualEnrollment:
        """Enroll one device; `EnrollmentExists` when this tenant has already."""
        response = await self._send(routes.ADD_INDIVIDUAL_ENROLLMENT, json=_wire(enrollment))
        return read_model(response, IndividualEnrollment)

    async def import_individual_enrollments(self, csv_text: str) -> EnrollmentImport:
        """Create or replace the individual enrollments of a CSV file, all or none
        (columns: docs/enrollments.md); `InvalidRequest` names the bad lines."""
        response = await self._send(routes.IMPORT_INDIVIDUAL_ENROLLMENTS, csv=csv_text)
        return read_model(response, EnrollmentImport)

    async def list_individual_enrollments(
        self, *, cursor: str | None = None, limit: int = 100
    ) -> IndividualEnrollmentList:
        """One page of this tenant's individual enrollments; pass `next_cursor` on."""
        response = await self._send(routes.LIST_INDIVIDUAL_ENROLLMENTS, params=_page(cursor, limit))
        return read_model(response, IndividualEnrollmentList)

    async def get_individual_enrollment(self, device_id: str) -> IndividualEnrollment:
        """The enrollment of `device_id`; `DeviceNotFound` when this tenant has none."""
        response = await self._send(routes.GET_INDIVIDUAL_ENROLLMENT, device_id=device_id)
        return read_model(response, IndividualEnrollment)

    async def update_individual_enrollment(
        self, device_id: str, patch: IndividualEnrollmentPatch
    ) -> IndividualEnrollment:
        """Change the fields `patch` sets (e.g. `IndividualEnrollmentPatch(enabled=False)`)."""
        body = patch.model_dump(mode="json", include=patch.model_fields_set)
        response = await self._send(
            routes.UPDATE_INDIVIDUAL_ENROLLMENT, json=body, device_id=device_id
        )
        return read_model(response, IndividualEnrollment)

    async def delete_individual_enrollment(self, device_id: str) -> None:
        """Remove the enrollment of `device_id`."""
        response = await self._send(routes.DELETE_INDIVIDUAL_ENROLLMENT, device_id=device_id)
        raise_for_problem(response)

    async def add_group_enrollment(self, enrollment: GroupEnrollmentCreate) -> GroupEnrollment:
        """Add a group enrollment; `EnrollmentExists` when its id is taken."""
        response = await self._send(routes.ADD_GROUP_ENROLLMENT, json=_wire(enrollment))
        return read_model(response, GroupEnrollment)

    async def list_group_enrollments(
        self, *, cursor: str | None = None, limit: int = 100
    ) -> GroupEnrollmentList:
        """One page of this tenant's group enrollments; pass `next_cursor` on."""
        response = await self._send(routes.LIST_GROUP_ENROLLMENTS, params=_page(cursor, limit))
        return read_model(response, GroupEnrollmentList)

    async def get_group_enrollment(self, group_id: str) -> GroupEnrollment:
        """The group `group_id`; `DeviceNotFound` when this tenant has none."""
        response = await self._send(routes.GET_GROUP_ENROLLMENT, group_id=group_id)
        return read_model(response, GroupEnrollment)

    async def update_group_enrollment(
        self, group_id: str, patch: GroupEnrollmentPatch
    ) -> GroupEnrollment:
        """Change the fields `patch` sets."""
        body = patch.model_dump(mode="json", include=patch.model_fields_set)
        response = await self._send(routes.UPDATE_GROUP_ENROLLMENT, json=body, group_id=group_id)
        return read_model(response, GroupEnrollment)

    async def delete_group_enrollment(self, group_id: str) -> None:
        """Remove the group `group_id`."""
        response = await self._send(routes.DELETE_GROUP_ENROLLMENT, group_id=group_id)
        raise_for_problem(response)

    async def get_tenant_settings(self) -> TenantSettings:
        """This key's tenant's settings."""
        response = await self._send(routes.GET_TENANT_SETTINGS)
        return read_model(response, TenantSettings)

    async def put_tenant_settings(self, *, enrollment_required: bool) -> TenantSettings:
        """Set this key's tenant's settings (admin keys)."""
        body = _wire(TenantSettingsUpdate(enrollment_required=enrollment_required))
        response = await self._send(routes.PUT_TENANT_SETTINGS, json=body)
        return read_model(response, TenantSettings)

    # ------------------------------------------------------------------ webhooks

    async def create_webhook(
        self, url: str, events: list[EventType], *, description: str = ""
    ) -> WebhookCreated:
        """Subscribe `url` to `events`. The answer's `secret` (`whsec_…`) is shown this
        once: keep it to verify signatures. `WebhookTargetRefused` for a URL the
        outbound-request policy refuses."""
        body = _wire(WebhookCreate(url=url, events=events, description=description))
        response = await self._send(routes.CREATE_WEBHOOK, json=body)
        return read_model(response, WebhookCreated)

    async def list_webhooks(self) -> WebhookList:
        """This tenant's webhooks (never their secrets)."""
        return read_model(await self._send(routes.LIST_WEBHOOKS), WebhookList)

    async def get_webhook(self, webhook_id: str) -> Webhook:
        """One webhook; `DeviceNotFound` (NOT_FOUND) when this tenant has none so named."""
        response = await self._send(routes.GET_WEBHOOK, webhook_id=webhook_id)
        return read_model(response, Webhook)

    async def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook and its undelivered events."""
        response = await self._send(routes.DELETE_WEBHOOK, webhook_id=webhook_id)
        raise_for_problem(response)

    async def update_webhook(
        self,
        webhook_id: str,
        *,
        enabled: bool | None = None,
        events: list[EventType] | None = None,
        description: str | None = None,
    ) -> Webhook:
        """Change the fields given: disable or enable the webhook, its events, its
        description. A disabled webhook gets no new events; its pending ones wait."""
        fields = {"enabled": enabled, "events": events, "description": description}
        body = _wire(WebhookUpdate(**{k: v for k, v in fields.items() if v is not None}))
        response = await self._send(routes.UPDATE_WEBHOOK, json=body, webhook_id=webhook_id)
        return read_model(response, Webhook)

    async def disable_webhook(self, webhook_id: str) -> Webhook:
        """Stop sending events to the webhook (they wait until it is enabled)."""
        return await self.update_webhook(webhook_id, enabled=False)

    async def enable_webhook(self, webhook_id: str) -> Webhook:
        """Send events to the webhook again, the ones that waited first."""
        return await self.update_webhook(webhook_id, enabled=True)

    async def rotate_webhook_secret(
        self, webhook_id: str, *, grace_seconds: int | None = None
    ) -> WebhookSecretRotated:
        """A new signing secret, shown this once; the old one signs too for
        `grace_seconds` (default: the API's, 24 h; 0: no more)."""
        body = _wire(WebhookSecretRotation(grace_seconds=grace_seconds))
        response = await self._send(routes.ROTATE_WEBHOOK_SECRET, json=body, webhook_id=webhook_id)
        return read_model(response, WebhookSecretRotated)

    async def list_webhook_deliveries(
        self, webhook_id: str, *, cursor: str | None = None, limit: int = 100
    ) -> WebhookDeliveryList:
        """One page of the webhook's delivery log, newest first; pass `next_cursor` on."""
        response = await self._send(
            routes.LIST_WEBHOOK_DELIVERIES, params=_page(cursor, limit), webhook_id=webhook_id
        )
        return read_model(response, WebhookDeliveryList)

    async def redeliver_webhook_event(self, webhook_id: str, event_id: str) -> WebhookDelivery:
        """Send an event again now (a dead one too)."""
        response = await self._send(
            routes.REDELIVER_WEBHOOK_EVENT, webhook_id=webhook_id, event_id=event_id
        )
        return read_model(response, WebhookDelivery)

    async def get_pre_provisioning_hook(self) -> PreProvisioningHook:
        """This tenant's pre-provisioning hook; `DeviceNotFound` (NOT_FOUND) when none."""
        response = await self._send(routes.GET_PRE_PROVISIONING_HOOK)
        return read_model(response, PreProvisioningHook)

    async def put_pre_provisioning_hook(self, url: str) -> PreProvisioningHookCreated:
        """Set this tenant's pre-provisioning hook (admin keys); the answer's `secret` is
        shown this once."""
        body = _wire(PreProvisioningHookSet(url=url))
        response = await self._send(routes.PUT_PRE_PROVISIONING_HOOK, json=body)
        return read_model(response, PreProvisioningHookCreated)

    async def delete_pre_provisioning_hook(self) -> None:
        """Remove this tenant's pre-provisioning hook."""
        raise_for_problem(await self._send(routes.DELETE_PRE_PROVISIONING_HOOK))

    # ------------------------------------------------------------------ service

    async def openapi(self) -> dict[str, Any]:
        """The API's OpenAPI document."""
        response = await self._send(routes.OPENAPI)
        raise_for_problem(response)
        document: dict[str, Any] = response.json()
        return document

    async def ready(self) -> bool:
        """Whether the API and Temporal answer (`/readyz`)."""
        try:
            response = await self._send(routes.READYZ)
        except ApiUnreachable:
            return False
        return response.status_code == 200

    async def _send(
        self,
        operation: routes.Operation,
        *,
        json: Any = None,
        csv: str | None = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        **path: str,
    ) -> httpx.Response:
        headers = {IDEMPOTENCY_KEY_HEADER: idempotency_key} if idempotency_key else {}
        if csv is not None:
            headers["Content-Type"] = "text/csv"
        try:
            return await self._http.request(
                operation.method,
                operation.url(**path),
                json=json,
                content=csv.encode() if csv is not None else None,
                params=params,
                headers=headers,
            )
        except httpx.TransportError as error:
            raise ApiUnreachable(
                f"{operation.method} {self.base_url}{operation.url(**path)} failed: "
                f"{type(error).__name__}: {error}"
            ) from error


def _page(cursor: str | None, limit: int) -> dict[str, str]:
    return {"limit": str(limit), **({"cursor": cursor} if cursor else {})}


def _wire(model: BaseModel) -> Any:
    """JSON of a request model; `WireSecret`s serialize to their value for the API."""
    return model.model_dump(mode="json", exclude_none=True)
