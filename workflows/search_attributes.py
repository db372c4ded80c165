"""Search attributes set on every run (all Keyword). Never put a secret in one."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

DEVICE_ID = SearchAttributeKey.for_keyword("DeviceId")
STRATEGY = SearchAttributeKey.for_keyword("Strategy")
VENDOR = SearchAttributeKey.for_keyword("Vendor")
SITE = SearchAttributeKey.for_keyword("Site")
PROVISIONING_STATE = SearchAttributeKey.for_keyword("ProvisioningState")
ERROR_CODE = SearchAttributeKey.for_keyword("ErrorCode")

ALL_KEYS = (DEVICE_ID, STRATEGY, VENDOR, SITE, PROVISIONING_STATE, ERROR_CODE)
