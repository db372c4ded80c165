"""The raw-Temporal baselines: runs and fleets of the same shape with no devprov in them.

A raw fleet's parent workflow starts one child per device with the same concurrency
bound; each child runs as many activities on the same kinds of task queues as devprov's
composite `wifi-cloud` run: a claim, four on an edge queue (detect, read-state, apply,
confirm), five on the central one (keys, credential, register, policy, check-in), the
outcome. Trivial (*raw*), or (*raw-io*) making the same device calls against the same
HTTP simulator, the same cloud calls against the same cloud simulator (its quota
included) and the same registry writes as devprov's — with nothing of devprov around
them. What devprov adds on top (state, events, search attributes, compensation, its
adapters' checks) is what the ratios measure. `RawProvisioningRun` is the same for one
HTTP Wi-Fi run (`bench.pipeline`).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from datetime import timedelta
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

STATE = SearchAttributeKey.for_keyword("ProvisioningState")
"""devprov's own key (registered on the bench's server), for the visibility variant."""

RAW_WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "bench", "pydantic", "pydantic_core"
    )
)
"""The sandbox pass-through devprov's central worker has (`worker.workers.WORKFLOW_RUNNER`),
for the baseline's own pure module: neither side re-imports its workflows for every run."""

EDGE_STEPS = ("detect", "read_state", "apply", "confirm_joined")
CENTRAL_STEPS = ("make_keys", "issue", "register", "attach_policy", "await_checkin")


class RawCloud(BaseModel):
    """The simulated vendor cloud the same-I/O baseline calls, with devprov's dev key and
    fleet claim (the simulator's defaults)."""

    url: str
    api_key: str
    claim_token: str


class RawFleet(BaseModel):
    device_ids: list[str]
    max_in_flight: int
    edge_queue: str
    central_queue: str
    registry_steps: bool = False
    """Each child also claims the device first and records its outcome last (two more
    central activities), as devprov's runs do in its registry."""
    device_url_template: str | None = None
    """`{device_id}` in it: the device's URL on the HTTP simulator. With `cloud` and
    `registry_path`, the children do devprov's I/O (`raw-io`); without, nothing."""
    cloud: RawCloud | None = None
    registry_path: str | None = None


class RawDevice(BaseModel):
    device_id: str
    edge_queue: str
    central_queue: str
    registry_steps: bool = False
    device_url: str | None = None
    cloud: RawCloud | None = None
    registry_path: str | None = None


class CloudRequest(BaseModel):
    cloud: RawCloud
    method: str
    path: str
    body: dict[str, object] | None = None
    idempotency_key: str | None = None
    until_checked_in: bool = False
    """Ask again (every 50 ms) until the device record shows its check-in."""


@activity.defn(name="raw.step")
async def raw_step(device_id: str) -> str:
    return device_id


@workflow.defn(name="RawDeviceRun")
class RawDeviceRun:
    @workflow.run
    async def run(self, device: RawDevice) -> None:
        if device.device_url is not None and device.cloud is not None:
            await self._same_io(device, device.device_url, device.cloud)
            return
        registry = ("claim",) if device.registry_steps else ()
        for queue, steps in (
            (device.central_queue, registry),
            (device.edge_queue, EDGE_STEPS),
            (device.central_queue, CENTRAL_STEPS + (("outcome",) if registry else ())),
        ):
            for _ in steps:
                await workflow.execute_activity(
                    raw_step,
                    device.device_id,
                    task_queue=queue,
                    start_to_close_timeout=timedelta(seconds=30),
                )

    @staticmethod
    async def _same_io(device: RawDevice, device_url: str, cloud: RawCloud) -> None:
        """devprov's composite run's I/O with nothing of devprov around it: the claim,
        the four device steps, the cloud's key pair, credential, registration, policy
        and check-in, the outcome."""
        timeout = timedelta(seconds=30)
        device_id = device.device_id
        run = RawProvisioning(
            device_id=device_id,
            central_queue=device.central_queue,
            edge_queue=device.edge_queue,
            device_url=device_url,
            registry_path=device.registry_path,
        )
        await RawProvisioningRun.record(run, "CLAIMED", timeout)
        for step in range(len(DEVICE_STEPS)):
            await workflow.execute_activity(
                "raw.device_step", DeviceStep(url=device_url, step=step),
                task_queue=device.edge_queue, start_to_close_timeout=timeout,
            )  # fmt: skip

        async def cloud_call(request: CloudRequest) -> dict[str, Any]:
            answer: dict[str, Any] = await workflow.execute_activity(
                "raw.cloud_request", request, result_type=dict,
                task_queue=device.central_queue, start_to_close_timeout=timeout,
            )  # fmt: skip
            return answer

        csr_pem: str = await workflow.execute_activity(
            "raw.cloud_keys", device_id, result_type=str,
            task_queue=device.central_queue, start_to_close_timeout=timeout,
        )  # fmt: skip
        issued = await cloud_call(
            CloudRequest(
                cloud=cloud, method="POST", path="/v1/credentials",
                body={"device_id": device_id, "claim_token": cloud.claim_token, "csr_pem": csr_pem},
                idempotency_key=f"raw/{device_id}/issue",
            )
        )  # fmt: skip
        attributes = {"model": "bench", "site": "bench", "vendor": "acme"}
        await cloud_call(
            CloudRequest(
                cloud=cloud, method="POST", path="/v1/devices",
                body={"device_id": device_id, "ownership_token": issued["ownership_token"],
                      "attributes": attributes},
                idempotency_key=f"raw/{device_id}/register",
            )
        )  # fmt: skip
        await cloud_call(
            CloudRequest(
                cloud=cloud, method="POST", path=f"/v1/devices/{device_id}/policies",
                body={"policy_name": "devprov-device"}, idempotency_key=f"raw/{device_id}/policy",
            )
        )  # fmt: skip
        await cloud_call(
            CloudRequest(
                cloud=cloud, method="GET", path=f"/v1/devices/{device_id}", until_checked_in=True
            )
        )
        await RawProvisioningRun.record(run, "SUCCEEDED", timeout)


@workflow.defn(name="RawFleetRun")
class RawFleetRun:
    @workflow.run
    async def run(self, fleet: RawFleet) -> int:
        semaphore = asyncio.Semaphore(fleet.max_in_flight)

        async def one(device_id: str) -> None:
            async with semaphore:
                await workflow.execute_child_workflow(
                    RawDeviceRun.run,
                    RawDevice(
                        device_id=device_id,
                        edge_queue=fleet.edge_queue,
                        central_queue=fleet.central_queue,
                        registry_steps=fleet.registry_steps,
                        device_url=(
                            fleet.device_url_template.replace("{device_id}", device_id)
                            if fleet.device_url_template is not None
                            else None
                        ),
                        cloud=fleet.cloud,
                        registry_path=fleet.registry_path,
                    ),
                    id=f"raw-{device_id}",
                )

        await asyncio.gather(*(one(d) for d in fleet.device_ids))
        return len(fleet.device_ids)


class RawPipeline(BaseModel):
    device_id: str
    steps: int
    queue: str
    state_updates: bool = False
    """Update a search attribute before each step and at the end, as devprov records
    each state change in visibility: the baseline of the same visibility writes."""


@workflow.defn(name="RawPipelineRun")
class RawPipelineRun:
    """One device's run with `steps` trivial activities in a row: the baseline of a
    single strategy run (HTTP Wi-Fi: detect, read state, apply, confirm)."""

    @workflow.run
    async def run(self, pipeline: RawPipeline) -> None:
        for step in range(pipeline.steps):
            if pipeline.state_updates:
                workflow.upsert_search_attributes([STATE.value_set(f"STEP_{step}")])
            await workflow.execute_activity(
                raw_step,
                pipeline.device_id,
                task_queue=pipeline.queue,
                start_to_close_timeout=timedelta(seconds=30),
            )
        if pipeline.state_updates:
            workflow.upsert_search_attributes([STATE.value_set("DONE")])


LAB_SSID, LAB_PASSPHRASE = "devprov-lab", "correct-horse-battery"
"""The simulator's lab network, which devprov's requests name too."""

DEVICE_STEPS: tuple[tuple[tuple[str, dict[str, object] | None], ...], ...] = (
    (("Shelly.GetDeviceInfo", None),),
    (("WiFi.GetConfig", None),),
    (
        (
            "WiFi.SetConfig",
            {"config": {"sta": {"ssid": LAB_SSID, "pass": LAB_PASSPHRASE, "enable": True}}},
        ),
    ),
    (("WiFi.GetStatus", None),),
)
"""The device calls an HTTP Wi-Fi run needs, by step (detect, read state, apply,
confirm): the Shelly Gen2 RPC methods the protocol asks for, each once."""


class RawProvisioning(BaseModel):
    device_id: str
    central_queue: str
    edge_queue: str
    device_url: str | None = None
    """The device's base URL on the HTTP simulator; None: trivial activities."""
    registry_path: str | None = None
    """A SQLite file the claim and outcome are written to; None: trivial activities."""


class DeviceStep(BaseModel):
    url: str
    step: int


class RegistryWrite(BaseModel):
    path: str
    device_id: str
    state: str


class RawDeviceActivities:
    """The same-I/O baseline's activities: plain Shelly RPC frames over one httpx client,
    and one row written to SQLite per registry step, with nothing of devprov around them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._ids = itertools.count(1)

    @activity.defn(name="raw.device_step")
    async def device_step(self, step: DeviceStep) -> None:
        for method, params in DEVICE_STEPS[step.step]:
            frame: dict[str, object] = {"id": next(self._ids), "src": "raw", "method": method}
            if params is not None:
                frame["params"] = params
            response = await self._http.post(f"{step.url}/rpc", json=frame)
            response.raise_for_status()

    @activity.defn(name="raw.registry_write")
    async def registry_write(self, write: RegistryWrite) -> None:
        await asyncio.to_thread(_write_row, write)

    @activity.defn(name="raw.cloud_keys")
    async def cloud_keys(self, device_id: str) -> str:
        """An EC P-256 key pair's CSR for the device, made in a thread as devprov does."""
        return await asyncio.to_thread(_csr_pem, device_id)

    @activity.defn(name="raw.cloud_request")
    async def cloud_request(self, request: CloudRequest) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {request.cloud.api_key}"}
        if request.idempotency_key is not None:
            headers["Idempotency-Key"] = request.idempotency_key
        while True:
            response = await self._http.request(
                request.method, f"{request.cloud.url}{request.path}",
                json=request.body, headers=headers,
            )  # fmt: skip
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
            if not request.until_checked_in or answer.get("last_checkin_at"):
                return answer
            await asyncio.sleep(0.05)

    def all(self) -> list[Any]:
        """Every activity of the same-I/O baselines."""
        return [self.device_step, self.registry_write, self.cloud_keys, self.cloud_request]


def _csr_pem(device_id: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _write_row(write: RegistryWrite) -> None:
    with sqlite3.connect(write.path, timeout=30) as db:
        db.execute("CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, state TEXT)")
        db.execute(
            "INSERT INTO devices VALUES (?, ?) ON CONFLICT(device_id) DO UPDATE SET state = ?",
            (write.device_id, write.state, write.state),
        )


@workflow.defn(name="RawProvisioningRun")
class RawProvisioningRun:
    """One device's run shaped as devprov's HTTP Wi-Fi run: a claim on the central queue,
    four device steps on the edge queue, the outcome on the central queue. With a device
    URL and a registry file the steps do the same I/O as devprov's; without, nothing."""

    @workflow.run
    async def run(self, run: RawProvisioning) -> None:
        timeout = timedelta(seconds=30)
        await self.record(run, "CLAIMED", timeout)
        for step in range(len(DEVICE_STEPS)):
            if run.device_url is None:
                await workflow.execute_activity(
                    raw_step, run.device_id, task_queue=run.edge_queue,
                    start_to_close_timeout=timeout,
                )  # fmt: skip
            else:
                await workflow.execute_activity(
                    "raw.device_step", DeviceStep(url=run.device_url, step=step),
                    task_queue=run.edge_queue, start_to_close_timeout=timeout,
                )  # fmt: skip
        await self.record(run, "SUCCEEDED", timeout)

    @staticmethod
    async def record(run: RawProvisioning, state: str, timeout: timedelta) -> None:
        if run.registry_path is None:
            await workflow.execute_activity(
                raw_step, run.device_id, task_queue=run.central_queue,
                start_to_close_timeout=timeout,
            )  # fmt: skip
        else:
            await workflow.execute_activity(
                "raw.registry_write",
                RegistryWrite(path=run.registry_path, device_id=run.device_id, state=state),
                task_queue=run.central_queue, start_to_close_timeout=timeout,
            )  # fmt: skip
