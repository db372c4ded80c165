"""HTTP adapter for Wi-Fi devices with a Shelly Gen2 style local RPC API."""

from adapters.http_wifi.adapter import HttpWifiAdapter
from adapters.http_wifi.rpc_client import ShellyRpcClient
from domain.device import ADDRESS_HINT

__all__ = ["ADDRESS_HINT", "HttpWifiAdapter", "ShellyRpcClient"]
