"""Search attributes set on every run (all Keyword). Never put a secret in one."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from domain.run import ProvisionRun
from domain.states import ProvisioningState

DEVICE_ID = SearchAttributeKey.for_keyword("DeviceId")
STRATEGY = SearchAttributeKey.for_keyword("Strategy")
VENDOR = SearchAttributeKey.for_keyword("Vendor")
SITE = SearchAttributeKey.for_keyword("Site")
PROVISIONING_STATE = SearchAttributeKey.for_keyword("ProvisioningState")
ERROR_CODE = SearchAttributeKey.for_keyword("ErrorCode")

ALL_KEYS = (DEVICE_ID, STRATEGY, VENDOR, SITE, PROVISIONING_STATE, ERROR_CODE)


def initial_search_attributes(run: ProvisionRun) -> TypedSearchAttributes:
    """The attributes a run starts with; the workflow keeps the state and error current."""
    device = run.request.device
    return TypedSearchAttributes(
        [
            SearchAttributePair(DEVICE_ID, device.device_id),
            SearchAttributePair(STRATEGY, run.strategy),
            SearchAttributePair(VENDOR, device.vendor),
            SearchAttributePair(SITE, device.site),
            SearchAttributePair(PROVISIONING_STATE, ProvisioningState.PENDING.value),
        ]
    )
