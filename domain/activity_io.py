"""Inputs of activities that take more than a device descriptor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.device import DeviceDescriptor
from domain.requests import NetworkCredentials
from domain.secrets import WireSecret


class NetworkAssignment(BaseModel):
    """Give `device` the credentials of `network`."""

    model_config = ConfigDict(frozen=True)

    device: DeviceDescriptor
    network: NetworkCredentials


class JoinCheck(BaseModel):
    """Confirm that `device` joined the network `ssid`."""

    model_config = ConfigDict(frozen=True)

    device: DeviceDescriptor
    ssid: str


class NetworkMove(BaseModel):
    """A device moved from the network `previous_ssid` to `ssid` (re-provisioning by
    migration): what confirming the move, or returning it, needs. No passphrase: the
    device keeps its previous network as its own fallback."""

    model_config = ConfigDict(frozen=True)

    device: DeviceDescriptor
    ssid: str
    previous_ssid: str


class CloudIssue(BaseModel):
    """Exchange the configured claim for a credential of `device_id`."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    csr_pem: str
    idempotency_key: str


class CloudRegistration(BaseModel):
    """Register `device_id` with the ownership token of its credential."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    attributes: dict[str, str]
    ownership_token: WireSecret
    idempotency_key: str


class CloudPolicy(BaseModel):
    """Attach `policy_name` to `device_id`."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    policy_name: str
    idempotency_key: str


class CloudDevice(BaseModel):
    """A device of the vendor cloud, with the key of the call about it."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    idempotency_key: str = ""


class ClientCertificateDelivery(BaseModel):
    """Give `device` the client certificate its cloud signed from the device's CSR."""

    model_config = ConfigDict(frozen=True)

    device: DeviceDescriptor
    certificate_pem: str
