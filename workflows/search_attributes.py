"""Search attributes set on every run (all Keyword). Never put a secret in one."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from domain.run import ProvisionRun
from domain.states import VisibleState

DEVICE_ID = SearchAttributeKey.for_keyword("DeviceId")
STRATEGY = SearchAttributeKey.for_keyword("Strategy")
VENDOR = SearchAttributeKey.for_keyword("Vendor")
SITE = SearchAttributeKey.for_keyword("Site")
PROVISIONING_STATE = SearchAttributeKey.for_keyword("ProvisioningState")
ERROR_CODE = SearchAttributeKey.for_keyword("ErrorCode")
FLEET_ID = SearchAttributeKey.for_keyword("FleetId")
"""Set on the device runs a fleet started (and on the fleet run itself)."""

TENANT = SearchAttributeKey.for_keyword("Tenant")
"""Tenant of the API key that started the run: the API shows a run to its tenant only."""

ALL_KEYS = (DEVICE_ID, STRATEGY, VENDOR, SITE, PROVISIONING_STATE, ERROR_CODE, FLEET_ID, TENANT)


def initial_search_attributes(
    run: ProvisionRun, *, fleet_id: str | None = None
) -> TypedSearchAttributes:
    """The attributes a run starts with (IN_PROGRESS: the start is free, the workflow
    records only the states people act on, see `VisibleState`)."""
    device = run.request.device
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(DEVICE_ID, device.device_id),
        SearchAttributePair(STRATEGY, run.strategy),
        SearchAttributePair(VENDOR, device.vendor),
        SearchAttributePair(SITE, device.site),
        SearchAttributePair(PROVISIONING_STATE, VisibleState.IN_PROGRESS.value),
        SearchAttributePair(TENANT, run.tenant),
    ]
    if fleet_id is not None:
        pairs.append(SearchAttributePair(FLEET_ID, fleet_id))
    return TypedSearchAttributes(pairs)
