"""Vendor-cloud adapter: fleet provisioning by claim over HTTP (AWS IoT / Azure DPS style).

See docs/vendor-cloud.md for the API, the error mapping and idempotency.
"""

from adapters.vendor_cloud.adapter import VendorCloudAdapter
from adapters.vendor_cloud.client import (
    DEFAULT_TIMEOUT_SECONDS,
    CloudHttpClient,
    parse_retry_after,
)
from adapters.vendor_cloud.device_keys import make_device_key_pair
from adapters.vendor_cloud.errors import (
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
from adapters.vendor_cloud.port import VendorCloudPort

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
    "VendorCloudAdapter",
    "VendorCloudPort",
    "make_device_key_pair",
    "parse_retry_after",
]
