"""Inputs of activities that take more than a device descriptor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.device import DeviceDescriptor
from domain.requests import NetworkCredentials


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
