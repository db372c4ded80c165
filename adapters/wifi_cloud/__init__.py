"""The `wifi-cloud` family's cloud adapter: fleet provisioning by claim over HTTP (AWS
IoT / Azure DPS style).

See docs/vendor-cloud.md for the API, the error mapping and idempotency.
"""

from adapters.cloud_errors import (
    CloudClaimRejected,
    CloudConflict,
    CloudError,
    CloudForbidden,
    CloudIdempotencyMismatch,
    CloudInvalidRequest,
    CloudNotFound,
    CloudProtocolError,
    CloudRateLimited,
    CloudTimeout,
    CloudUnauthorized,
    CloudUnavailable,
)
from adapters.wifi_cloud.adapter import WifiCloudAdapter
from adapters.wifi_cloud.client import (
    DEFAULT_TIMEOUT_SECONDS,
    CloudHttpClient,
    parse_retry_after,
)
from adapters.wifi_cloud.device_keys import make_device_key_pair
from adapters.wifi_cloud.port import WifiCloudPort

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "CloudClaimRejected",
    "CloudConflict",
    "CloudError",
    "CloudForbidden",
    "CloudHttpClient",
    "CloudIdempotencyMismatch",
    "CloudInvalidRequest",
    "CloudNotFound",
    "CloudProtocolError",
    "CloudRateLimited",
    "CloudTimeout",
    "CloudUnauthorized",
    "CloudUnavailable",
    "WifiCloudAdapter",
    "WifiCloudPort",
    "make_device_key_pair",
    "parse_retry_after",
]
