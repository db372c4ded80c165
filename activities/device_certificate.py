"""The device's side of a registration by CSR, hosted by edge workers: the device makes its
own key and hands over a CSR, then stores the certificate its cloud signed."""

from __future__ import annotations

from temporalio import activity

from adapters.http_wifi.port import ClientCertificatePort
from domain.activity_io import ClientCertificateDelivery
from domain.device import DeviceDescriptor
from strategies.wifi_aws_iot import WifiAwsIotActivity


class DeviceCertificateActivities:
    """The steps that reach the device for its TLS client identity.

    Args:
        device_port: How this worker reaches the device's local API.
    """

    def __init__(self, device_port: ClientCertificatePort) -> None:
        self._device = device_port

    @activity.defn(name=WifiAwsIotActivity.DEVICE_CSR.name)
    async def device_csr(self, device: DeviceDescriptor) -> str:
        """The device's CSR; a retry gets one for the same key (the device keeps it)."""
        return await self._device.certificate_signing_request(device)

    @activity.defn(name=WifiAwsIotActivity.DELIVER_CERTIFICATE.name)
    async def deliver_certificate(self, delivery: ClientCertificateDelivery) -> None:
        """Give the device the certificate its cloud signed (storing it twice is harmless)."""
        await self._device.install_client_certificate(delivery.device, delivery.certificate_pem)

    def all(self) -> list[object]:
        """Every activity of this class, for `Worker(activities=...)`."""
        return [self.device_csr, self.deliver_certificate]
