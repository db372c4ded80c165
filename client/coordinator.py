"""The provisioning coordinator: one device from description to a final state.

It asks the API which strategy serves the device (the server's own rules), starts the
run, hands every event to the UI through `ProvisioningView`, and drives the
person-facing steps: credentials when the run waits in PENDING_NETWORK (again after a
rejection), the device's prompt in WAITING_FOR_DEVICE, and retry, restart, forget
credentials and cancel on request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from client.api import DevprovClient
from client.errors import DevprovError, RunConflict
from client.ports import CredentialsRequest, CredentialsSource
from domain.api_models import StartedRun, StrategyMatch
from domain.device import DeviceDescriptor
from domain.errors import Code, ErrorCode
from domain.progress import ProgressSnapshot, StreamedEvent
from domain.requests import NetworkCredentials, ProvisionRequest, ReprovisionPolicy
from domain.states import ProvisioningState


class MissingSecrets(DevprovError):
    """The device's strategy needs secrets the request does not carry."""

    def __init__(self, strategy: str, missing: list[str]) -> None:
        super().__init__(
            f"strategy '{strategy}' needs the device secret(s) {', '.join(missing)}; "
            "add them to the request's `secrets`"
        )
        self.missing = missing


@dataclass(frozen=True)
class ProvisioningOutcome:
    """How a run ended, and every event it showed on the way."""

    device_id: str
    workflow_id: str
    state: ProvisioningState
    message: str
    error_code: Code | None
    events: list[StreamedEvent] = field(default_factory=list)
    runs: int = 1
    """Runs started for the device by this coordinator (retries start new ones)."""

    @property
    def succeeded(self) -> bool:
        return self.state is ProvisioningState.SUCCEEDED


class ProvisioningView(Protocol):
    """What the coordinator tells the person at the device, and the one thing it asks.

    Display methods must return quickly; `offer_retry` may wait for an answer.
    """

    def strategy_selected(self, device: DeviceDescriptor, match: StrategyMatch) -> None:
        """The strategy that will provision the device, before the run starts."""

    def run_started(self, device_id: str, run: StartedRun) -> None:
        """A run started (the first one, or a new one after a retry)."""

    def progress(self, event: StreamedEvent) -> None:
        """One event of the run (each one once, in order)."""

    def device_action_needed(self, event: StreamedEvent) -> None:
        """The run waits on the device: show `event.message` (e.g. press its button)."""

    def stream_resumed(self, last_event_id: int | None) -> None:
        """The event stream dropped and was resumed after `last_event_id`."""

    def note(self, message: str) -> None:
        """Something the person should know that is not a run event."""

    async def offer_retry(self, outcome: ProvisioningOutcome) -> bool:
        """The run ended without success: start a new one?"""
        ...


class ProvisioningCoordinator:
    """Drives one device at a time through the API.

    Args:
        client: The API client.
        view: The UI layer.
        credentials: Where Wi-Fi credentials come from when a run asks; without one,
            a run waiting in PENDING_NETWORK is cancelled.
    """

    def __init__(
        self,
        client: DevprovClient,
        view: ProvisioningView,
        credentials: CredentialsSource | None = None,
    ) -> None:
        self._client = client
        self._view = view
        self._credentials = credentials
        self._cancelled: set[str] = set()

    @property
    def cancelled(self) -> frozenset[str]:
        """Devices whose runs this coordinator was asked to cancel."""
        return frozenset(self._cancelled)

    async def provision(
        self,
        device: DeviceDescriptor,
        *,
        network: NetworkCredentials | None = None,
        secrets: Mapping[str, str] | None = None,
        strategy: str | None = None,
        reprovision: ReprovisionPolicy | str = ReprovisionPolicy.NEVER,
        tenant: str | None = None,
    ) -> ProvisioningOutcome:
        """Provision `device` and follow its run (and retries) to the end.

        A device in service is provisioned again only with `reprovision` `reset`
        (decommissioned, then provisioned, in one run) or `migrate` (moved to `network`
        and/or, with an admin key, to `tenant`, without a factory reset); with `never`
        the API refuses it (`RunConflict`, DEVICE_IN_SERVICE).

        Raises:
            UnsupportedDevice: No strategy serves the device (with every reason).
            MissingSecrets: The strategy needs device secrets not given.
            ApiProblem: The API refused the start (e.g. a run is already in flight).
        """
        match = await self._client.match_strategy(device, strategy=strategy)
        self._view.strategy_selected(device, match)
        given = dict(secrets or {})
        missing = sorted(set(match.secrets) - set(given))
        if missing:
            raise MissingSecrets(match.strategy, missing)
        request = ProvisionRequest.model_validate(
            {
                "device": device,
                "strategy": strategy,
                "network": network,
                "secrets": given,
                "reprovision": ReprovisionPolicy(reprovision),
                "tenant": tenant,
            }
        )
        started = await self._client.start_provisioning(request)
        self._view.run_started(device.device_id, started)
        return await self.follow(device.device_id)

    async def follow(self, device_id: str) -> ProvisioningOutcome:
        """Follow the device's current run to its end, answering its prompts; offer a
        retry after a failure (as many times as the view accepts)."""
        runs = 1
        while True:
            outcome = await self._follow_run(device_id, runs)
            if outcome.succeeded or device_id in self._cancelled:
                return outcome
            if not await self._view.offer_retry(outcome):
                return outcome
            restarted = await self._client.retry(device_id)
            if isinstance(restarted, StartedRun):
                self._view.run_started(device_id, restarted)
            runs += 1

    async def cancel(self, device_id: str) -> None:
        """Cancel the device's run; it rolls the device back (the stream shows it)."""
        self._cancelled.add(device_id)
        try:
            await self._client.cancel(device_id)
        except RunConflict:
            self._view.note("the run had already ended")

    async def restart(self, device_id: str) -> ProgressSnapshot | StartedRun:
        """Start pairing over: a waiting run restarts; an ended one runs anew."""
        result = await self._client.retry(device_id)
        if isinstance(result, StartedRun):
            self._view.run_started(device_id, result)
        return result

    async def forget_credentials(self, device_id: str) -> ProgressSnapshot:
        """Forget the credentials given so far, here and in the run (it asks again)."""
        if self._credentials is not None:
            self._credentials.forget()
        return await self._client.forget_credentials(device_id)

    async def _follow_run(self, device_id: str, runs: int) -> ProvisioningOutcome:
        seen: list[StreamedEvent] = []
        stream = self._client.events(device_id, on_reconnect=self._view.stream_resumed)
        try:
            async for event in stream:
                seen.append(event)
                self._view.progress(event)
                if event.state is ProvisioningState.PENDING_NETWORK:
                    await self._answer_network_prompt(device_id, event)
                elif event.state is ProvisioningState.WAITING_FOR_DEVICE:
                    self._view.device_action_needed(event)
        finally:
            await stream.aclose()
        last = seen[-1]
        return ProvisioningOutcome(
            device_id=device_id,
            workflow_id=last.workflow_id,
            state=last.state,
            message=last.message,
            error_code=last.error_code,
            events=seen,
            runs=runs,
        )

    async def _answer_network_prompt(self, device_id: str, event: StreamedEvent) -> None:
        # A stream replays a run's past events: answer only the prompt the run is at now.
        status = await self._client.get_run(device_id)
        if (
            status.state is not ProvisioningState.PENDING_NETWORK
            or status.last_sequence != event.sequence
        ):
            return
        request = CredentialsRequest(
            device_id=device_id,
            rejected=event.message if event.error_code is ErrorCode.CREDENTIALS_REJECTED else None,
            previous_ssid=status.network_ssid,
        )
        credentials = (
            await self._credentials.credentials(request) if self._credentials is not None else None
        )
        if credentials is None:
            self._view.note("no Wi-Fi credentials to give: cancelling the run")
            await self.cancel(device_id)
            return
        try:
            await self._client.submit_credentials(device_id, credentials)
        except RunConflict as error:
            self._view.note(f"the run no longer waits for credentials: {error.detail}")
