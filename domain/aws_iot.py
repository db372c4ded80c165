"""What devprov asks of AWS IoT Core, and what it holds there once a device is registered.

The device makes its own key pair and sends only a certificate signing request (CSR);
AWS signs it (`CreateCertificateFromCsr`). Nothing here is secret: a CSR and a
certificate are public, and AWS credentials never reach these models. See
docs/vendor-cloud.md, "AWS IoT Core".
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

THING_NAME_PATTERN = r"^[a-zA-Z0-9:_-]{1,128}$"
"""AWS thing names; stricter than device ids, which may also hold dots."""
RUN_ATTRIBUTE = "devprov_run"
"""The thing attribute naming the run that made the thing (things take no tags)."""
SHADOW_NETWORK_KEY = "network"
"""Where a device reports its network in its classic shadow:
`{"state": {"reported": {"network": {"ssid": ..., "connected": true, "ip": ...}}}}`."""


class AwsThingRegistrationRequest(BaseModel):
    """One device to register as an AWS IoT thing, and to remove again on rollback.

    The same request drives the registration and its undo, so the undo knows what it may
    remove: the thing only when it carries this `run_id`, certificates only when they were
    made from this CSR.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(pattern=THING_NAME_PATTERN, description="Becomes the thing name.")
    csr_pem: str = Field(min_length=1, description="PKCS#10 request the device made; public.")
    policy_name: str = Field(min_length=1, max_length=128, description="The tenant's policy.")
    site: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="The thing joins one group per site."
    )
    run_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[a-zA-Z0-9_.,@/:#=-]+$",
        description="Recorded on the thing (attribute `RUN_ATTRIBUTE`) to tell its owner.",
    )
    created_after: datetime = Field(
        description=(
            "No certificate of this run is older: bounds the search for a certificate whose "
            "creation answer was lost. The run's start time, less some clock skew."
        )
    )
    attributes: dict[str, str] = Field(
        default_factory=dict, description="Device facts kept as thing attributes."
    )
    thing_type: str | None = Field(default=None, max_length=128)


class AwsThingRegistration(BaseModel):
    """What AWS IoT holds for a registered device: its thing, certificate and group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    thing_name: str
    thing_arn: str
    certificate_id: str
    certificate_arn: str
    certificate_pem: str = Field(description="Signed by AWS for the device's key; public.")
    policy_name: str
    thing_group: str


class AwsThingRemoval(BaseModel):
    """What an undo removed; empty when AWS held nothing of the run (not an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    thing_deleted: bool = False
    thing_kept_for_other_owner: bool = Field(
        default=False, description="The thing exists but another run or tool made it."
    )
    certificates_deleted: tuple[str, ...] = ()
    groups_left: tuple[str, ...] = ()


class ShadowNetworkReport(BaseModel):
    """The network a device reported in its thing shadow, against the one expected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    reported: bool = Field(description="False while the device has reported no network.")
    ssid: str | None = None
    connected: bool = False
    shadow_version: int | None = None
    on_expected_network: bool = False


class AwsIotRunRegistration(BaseModel):
    """What a provisioning run asks the central workers to register in AWS IoT Core, and to
    remove again on rollback (`aws_iot.register_thing`, `aws_iot.remove_thing`).

    The run knows the device, its tenant and its CSR; the central worker adds what belongs
    to the AWS account (the tenant's policy name, the thing type, the group prefix) from
    its own settings, and turns this into an `AwsThingRegistrationRequest`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    tenant: str
    site: str
    csr_pem: str = Field(description="The device's CSR; public.")
    run_id: str = Field(description="The Temporal run id: the thing's `devprov_run` attribute.")
    created_after: datetime
    attributes: dict[str, str] = Field(default_factory=dict)


class AwsThingDeregistration(BaseModel):
    """A device in service to take out of AWS IoT Core (`aws_iot.deregister_thing`): the
    thing and the certificate its registry record names.

    Unlike a rollback's `AwsIotRunRegistration`, which removes only what one run made,
    this removes the device's thing whoever made it, and every certificate attached to it
    besides the recorded one: the registry says the device is this tenant's, in service.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    thing_name: str = Field(description="The thing the registry records (the device id).")
    certificate_id: str | None = Field(
        default=None, description="The certificate the registry records, if any."
    )


class ShadowNetworkCheck(BaseModel):
    """Confirm from the thing shadow that `device_id` reports being on network `ssid`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    ssid: str
