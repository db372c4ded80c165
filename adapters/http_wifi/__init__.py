"""HTTP adapter for Wi-Fi devices with a Shelly Gen2 style local RPC API."""

from adapters.http_wifi.rpc_client import ShellyRpcClient
from adapters.http_wifi.shelly_adapter import ShellyRpcAdapter
from domain.device import ADDRESS_HINT

__all__ = ["ADDRESS_HINT", "ShellyRpcAdapter", "ShellyRpcClient"]
