"""AWS IoT Core registration on the official AWS SDK: aiobotocore, on the event loop.

Why aiobotocore rather than boto3 in a thread: the activities that call this run on the
worker's event loop next to many others; aiobotocore is botocore (the same request
signing, credential chain, endpoint rules and error parsing as boto3) over aiohttp, which
devprov already ships, so a slow AWS call holds no thread and cancellation reaches it as
asyncio cancellation. boto3 would need a thread per call in flight and could not be
interrupted.

Every step checks what AWS holds before it acts, so a retried registration or undo
converges to the same end state (AWS takes no idempotency key for these calls):

- thing: `DescribeThing` (its attribute `devprov_run` names the run), then `CreateThing`;
- certificate: the thing's principals, then certificates made from the CSR since
  the run began, then `CreateCertificateFromCsr` (inactive);
- policy: `ListAttachedPolicies` on the certificate, then `AttachPolicy`;
- principal: `ListThingPrincipals`, then `AttachThingPrincipal` (`EXCLUSIVE_THING`);
- activation: the certificate's status, then `UpdateCertificate` ACTIVE;
- site group: `DescribeThingGroup`, then `CreateThingGroup` (tagged with the site and run);
  `ListThingGroupsForThing`, then `AddThingToThingGroup`.

A certificate whose creation answer was lost has no name devprov knows: it is found among
the certificates created since the run began, by its content (`certificates.py`). That
search costs a `DescribeCertificate` per recent certificate, so a registration runs it
only when an earlier attempt got as far as the certificate (the run's thing existed
before the call); the undo always runs it. The certificate is activated only once it is
attached to the thing, and the undo deactivates it before anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from aiobotocore.session import AioSession

from adapters.aws_iot.certificates import CsrIdentity, csr_identity, is_signed_from
from adapters.aws_iot.errors import cloud_error
from adapters.aws_iot.sdk_logs import protect_sdk_logs
from adapters.aws_iot.settings import AwsIotSettings
from adapters.cloud_errors import (
    CloudConflict,
    CloudInvalidRequest,
    CloudNotFound,
    CloudProtocolError,
)
from adapters.errors import clip
from domain.aws_iot import (
    RUN_ATTRIBUTE,
    SHADOW_NETWORK_KEY,
    AwsThingDeregistration,
    AwsThingRegistration,
    AwsThingRegistrationRequest,
    AwsThingRemoval,
    ShadowNetworkReport,
)

if TYPE_CHECKING:
    from types_aiobotocore_iot import IoTClient
    from types_aiobotocore_iot_data import IoTDataPlaneClient

logger = logging.getLogger(__name__)

T = TypeVar("T")

_ATTRIBUTE_NAME = re.compile(r"^[a-zA-Z0-9_.,@/:#-]{1,128}$")
_ATTRIBUTE_VALUE = re.compile(r"^[a-zA-Z0-9_.,@/:#=\[\]-]{0,800}$")
_GROUP_NAME = re.compile(r"^[a-zA-Z0-9:_-]{1,128}$")
_CERTIFICATE_PAGE = 250


@dataclass(frozen=True)
class _Certificate:
    certificate_id: str
    arn: str
    status: str
    pem: str


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _certificate_id(principal_arn: str) -> str | None:
    """The id in a certificate ARN (`arn:aws:iot:<region>:<account>:cert/<id>`)."""
    _, marker, certificate_id = principal_arn.partition(":cert/")
    return certificate_id or None if marker else None


class AwsIotAdapter:
    """`AwsIotRegistrationPort` on aiobotocore clients for `iot` and `iot-data`.

    Build it with `open_aws_iot_adapter`, or hand it clients made elsewhere (they must be
    configured with `AwsIotSettings.sdk_config()`: one attempt per call).
    """

    def __init__(
        self, iot: IoTClient, iot_data: IoTDataPlaneClient, settings: AwsIotSettings
    ) -> None:
        self._iot = iot
        self._data = iot_data
        self._settings = settings

    def thing_group_for(self, site: str) -> str:
        """The thing group of a site's devices."""
        return f"{self._settings.thing_group_prefix}{site}"

    async def _aws(self, operation: str, call: Awaitable[T], **details: str) -> T:
        try:
            return await call
        except Exception as error:
            raise cloud_error(
                error,
                operation=operation,
                details=details,
                throttle_retry_after=self._settings.throttle_retry_after,
            ) from error

    # registration

    async def register_thing(self, request: AwsThingRegistrationRequest) -> AwsThingRegistration:
        """See `AwsIotRegistrationPort.register_thing`."""
        identity = csr_identity(request.csr_pem)
        attributes = self._thing_attributes(request)
        group = self._checked_group(request.site)
        thing_name = request.device_id

        thing_arn, thing_is_new = await self._ensure_thing(request, attributes)
        # A certificate of an earlier attempt exists only if that attempt made the thing.
        certificate = None if thing_is_new else await self._find_own_certificate(request, identity)
        certificate_is_new = certificate is None
        if certificate is None:
            certificate = await self._create_certificate(request)
        # What this call just created holds nothing yet: no need to look before acting.
        await self._ensure_policy(request.policy_name, certificate, look=not certificate_is_new)
        await self._ensure_attached(thing_name, certificate, look=not thing_is_new)
        if certificate.status != "ACTIVE":
            await self._aws(
                "UpdateCertificate",
                self._iot.update_certificate(
                    certificateId=certificate.certificate_id, newStatus="ACTIVE"
                ),
                certificate_id=certificate.certificate_id,
            )
        await self._ensure_in_group(thing_name, group, request, look=not thing_is_new)
        logger.info(
            "AWS IoT thing %s registered with certificate %s in group %s",
            thing_name,
            certificate.certificate_id,
            group,
        )
        return AwsThingRegistration(
            device_id=request.device_id,
            thing_name=thing_name,
            thing_arn=thing_arn,
            certificate_id=certificate.certificate_id,
            certificate_arn=certificate.arn,
            certificate_pem=certificate.pem,
            policy_name=request.policy_name,
            thing_group=group,
        )

    def _thing_attributes(self, request: AwsThingRegistrationRequest) -> dict[str, str]:
        attributes = {**request.attributes, RUN_ATTRIBUTE: request.run_id}
        for name, value in attributes.items():
            if not _ATTRIBUTE_NAME.match(name) or not _ATTRIBUTE_VALUE.match(value):
                raise CloudInvalidRequest(
                    f"thing attribute {clip(name, 100)!r} does not fit AWS IoT's rules: "
                    "letters, digits and _.,@/:#- (values also =[]), no spaces",
                    details={"operation": "CreateThing", "thing_name": request.device_id},
                )
        if request.attributes.get(RUN_ATTRIBUTE, request.run_id) != request.run_id:
            raise CloudInvalidRequest(
                f"thing attribute {RUN_ATTRIBUTE!r} is devprov's own",
                details={"operation": "CreateThing", "thing_name": request.device_id},
            )
        return attributes

    def _checked_group(self, site: str) -> str:
        group = self.thing_group_for(site)
        if not _GROUP_NAME.match(group):
            raise CloudInvalidRequest(
                f"thing group name {clip(group, 140)!r} does not fit AWS IoT's rules",
                details={"operation": "CreateThingGroup"},
            )
        return group

    async def _describe_thing(self, thing_name: str) -> tuple[str, Mapping[str, str]] | None:
        try:
            thing = await self._aws(
                "DescribeThing",
                self._iot.describe_thing(thingName=thing_name),
                thing_name=thing_name,
            )
        except CloudNotFound:
            return None
        return thing.get("thingArn", ""), thing.get("attributes", {})

    async def _ensure_thing(
        self, request: AwsThingRegistrationRequest, attributes: dict[str, str]
    ) -> tuple[str, bool]:
        """The thing's ARN, and whether this call created it."""
        thing_name = request.device_id
        existing = await self._describe_thing(thing_name)
        if existing is None:
            try:
                if request.thing_type is None:
                    answer = await self._aws(
                        "CreateThing",
                        self._iot.create_thing(
                            thingName=thing_name,
                            attributePayload={"attributes": attributes},
                        ),
                        thing_name=thing_name,
                    )
                else:
                    answer = await self._aws(
                        "CreateThing",
                        self._iot.create_thing(
                            thingName=thing_name,
                            thingTypeName=request.thing_type,
                            attributePayload={"attributes": attributes},
                        ),
                        thing_name=thing_name,
                        thing_type=request.thing_type,
                    )
                return answer.get("thingArn", ""), True
            except CloudConflict:
                # Made meanwhile, by a lost answer of ours or by someone else: look again.
                existing = await self._describe_thing(thing_name)
                if existing is None:
                    raise
        thing_arn, current = existing
        if current.get(RUN_ATTRIBUTE) != request.run_id:
            raise CloudConflict(
                f"AWS IoT thing {thing_name} already exists and was not made by this run",
                details={
                    "operation": "CreateThing",
                    "thing_name": thing_name,
                    "owner_run": clip(current.get(RUN_ATTRIBUTE, "") or "<not devprov>", 128),
                },
            )
        return thing_arn, False

    async def _describe_certificate(self, certificate_id: str) -> _Certificate | None:
        try:
            answer = await self._aws(
                "DescribeCertificate",
                self._iot.describe_certificate(certificateId=certificate_id),
                certificate_id=certificate_id,
            )
        except CloudNotFound:
            return None
        description = answer.get("certificateDescription", {})
        return _Certificate(
            certificate_id=description.get("certificateId", certificate_id),
            arn=description.get("certificateArn", ""),
            status=str(description.get("status", "")),
            pem=description.get("certificatePem", ""),
        )

    def _is_from(self, certificate: _Certificate, identity: CsrIdentity) -> bool:
        return is_signed_from(
            certificate.pem,
            identity,
            match_subject=self._settings.match_certificate_subject,
        )

    async def _thing_principals(self, thing_name: str) -> list[str]:
        principals: list[str] = []
        token: str | None = None
        while True:
            call = (
                self._iot.list_thing_principals(thingName=thing_name, nextToken=token)
                if token
                else self._iot.list_thing_principals(thingName=thing_name)
            )
            try:
                page = await self._aws("ListThingPrincipals", call, thing_name=thing_name)
            except CloudNotFound:
                return principals
            principals.extend(page.get("principals", []))
            token = page.get("nextToken")
            if not token:
                return principals

    async def _certificates_of(self, thing_name: str, identity: CsrIdentity) -> list[_Certificate]:
        """The certificates made from the CSR that are attached to the thing."""
        found: list[_Certificate] = []
        for principal in await self._thing_principals(thing_name):
            certificate_id = _certificate_id(principal)
            if certificate_id is None:
                continue
            certificate = await self._describe_certificate(certificate_id)
            if certificate is not None and self._is_from(certificate, identity):
                found.append(certificate)
        return found

    async def _loose_certificates(
        self, request: AwsThingRegistrationRequest, identity: CsrIdentity
    ) -> list[_Certificate]:
        """Certificates made from the CSR since the run began and attached to no thing.

        One attached to a thing is found through that thing, or is not the run's to take.
        """
        since = _aware(request.created_after)
        found: list[_Certificate] = []
        marker: str | None = None
        for _ in range(max(1, self._settings.certificate_search_pages)):
            call = (
                self._iot.list_certificates(
                    pageSize=_CERTIFICATE_PAGE, ascendingOrder=False, marker=marker
                )
                if marker
                else self._iot.list_certificates(pageSize=_CERTIFICATE_PAGE, ascendingOrder=False)
            )
            page = await self._aws("ListCertificates", call)
            reached_older = False
            for listed in page.get("certificates", []):
                created = listed.get("creationDate")
                if created is not None and _aware(created) < since:
                    reached_older = True
                    continue
                # Any status: moto's server makes certificates ACTIVE even when asked not to.
                if "certificateId" not in listed:
                    continue
                certificate = await self._describe_certificate(listed["certificateId"])
                if (
                    certificate is not None
                    and self._is_from(certificate, identity)
                    and not await self._things_of(certificate)
                ):
                    found.append(certificate)
            marker = page.get("nextMarker")
            if reached_older or not marker:
                break
        return found

    async def _things_of(self, certificate: _Certificate) -> list[str]:
        try:
            answer = await self._aws(
                "ListPrincipalThings",
                self._iot.list_principal_things(principal=certificate.arn),
                certificate_id=certificate.certificate_id,
            )
        except CloudNotFound:
            return []
        return answer.get("things", [])

    async def _find_own_certificate(
        self, request: AwsThingRegistrationRequest, identity: CsrIdentity
    ) -> _Certificate | None:
        attached = await self._certificates_of(request.device_id, identity)
        loose = await self._loose_certificates(request, identity)
        known = {certificate.certificate_id for certificate in attached}
        candidates = attached + [c for c in loose if c.certificate_id not in known]
        if not candidates:
            return None
        keep, *extra = candidates
        # Only several lost creation answers leave more than one; converge on one.
        for certificate in extra:
            await self._delete_certificate(certificate)
        logger.info(
            "AWS IoT certificate %s of %s found from an earlier attempt",
            keep.certificate_id,
            request.device_id,
        )
        return keep

    async def _create_certificate(self, request: AwsThingRegistrationRequest) -> _Certificate:
        answer = await self._aws(
            "CreateCertificateFromCsr",
            self._iot.create_certificate_from_csr(
                certificateSigningRequest=request.csr_pem, setAsActive=False
            ),
            thing_name=request.device_id,
        )
        try:
            certificate = _Certificate(
                certificate_id=answer["certificateId"],
                arn=answer["certificateArn"],
                status="INACTIVE",
                pem=answer["certificatePem"],
            )
        except KeyError as error:
            raise CloudProtocolError(
                "AWS IoT CreateCertificateFromCsr answered without the certificate",
                details={"operation": "CreateCertificateFromCsr"},
            ) from error
        logger.info(
            "AWS IoT certificate %s created for %s", certificate.certificate_id, request.device_id
        )
        return certificate

    async def _attached_policies(self, certificate: _Certificate) -> list[str]:
        names: list[str] = []
        marker: str | None = None
        while True:
            call = (
                self._iot.list_attached_policies(target=certificate.arn, marker=marker)
                if marker
                else self._iot.list_attached_policies(target=certificate.arn)
            )
            page = await self._aws(
                "ListAttachedPolicies", call, certificate_id=certificate.certificate_id
            )
            names.extend(p["policyName"] for p in page.get("policies", []) if "policyName" in p)
            marker = page.get("nextMarker")
            if not marker:
                return names

    async def _ensure_policy(
        self, policy_name: str, certificate: _Certificate, *, look: bool
    ) -> None:
        if look and policy_name in await self._attached_policies(certificate):
            return
        await self._aws(
            "AttachPolicy",
            self._iot.attach_policy(policyName=policy_name, target=certificate.arn),
            policy_name=policy_name,
            certificate_id=certificate.certificate_id,
        )

    async def _ensure_attached(
        self, thing_name: str, certificate: _Certificate, *, look: bool
    ) -> None:
        if look and certificate.arn in await self._thing_principals(thing_name):
            return
        await self._aws(
            "AttachThingPrincipal",
            self._iot.attach_thing_principal(
                thingName=thing_name,
                principal=certificate.arn,
                thingPrincipalType="EXCLUSIVE_THING",
            ),
            thing_name=thing_name,
            certificate_id=certificate.certificate_id,
        )

    async def _groups_of(self, thing_name: str) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            call = (
                self._iot.list_thing_groups_for_thing(thingName=thing_name, nextToken=token)
                if token
                else self._iot.list_thing_groups_for_thing(thingName=thing_name)
            )
            try:
                page = await self._aws("ListThingGroupsForThing", call, thing_name=thing_name)
            except CloudNotFound:
                return names
            names.extend(g["groupName"] for g in page.get("thingGroups", []) if "groupName" in g)
            token = page.get("nextToken")
            if not token:
                return names

    async def _ensure_in_group(
        self, thing_name: str, group: str, request: AwsThingRegistrationRequest, *, look: bool
    ) -> None:
        if look and group in await self._groups_of(thing_name):
            return
        try:
            await self._aws(
                "DescribeThingGroup",
                self._iot.describe_thing_group(thingGroupName=group),
                thing_group=group,
            )
        except CloudNotFound:
            # CloudConflict: another run of the same site made it meanwhile.
            with contextlib.suppress(CloudConflict):
                await self._aws(
                    "CreateThingGroup",
                    self._iot.create_thing_group(
                        thingGroupName=group,
                        tags=[
                            {"Key": "devprov:site", "Value": request.site},
                            {"Key": "devprov:created-by-run", "Value": request.run_id},
                        ],
                    ),
                    thing_group=group,
                )
        await self._aws(
            "AddThingToThingGroup",
            self._iot.add_thing_to_thing_group(thingGroupName=group, thingName=thing_name),
            thing_group=group,
            thing_name=thing_name,
        )

    # undo

    async def remove_thing(self, request: AwsThingRegistrationRequest) -> AwsThingRemoval:
        """See `AwsIotRegistrationPort.remove_thing`."""
        identity = csr_identity(request.csr_pem)
        thing_name = request.device_id
        existing = await self._describe_thing(thing_name)
        ours = existing is not None and existing[1].get(RUN_ATTRIBUTE) == request.run_id

        certificates = await self._certificates_of(thing_name, identity) if ours else []
        known = {certificate.certificate_id for certificate in certificates}
        certificates += [
            certificate
            for certificate in await self._loose_certificates(request, identity)
            if certificate.certificate_id not in known
        ]

        groups_left = await self._leave_groups(thing_name) if ours else []
        for certificate in certificates:
            await self._delete_certificate(certificate)
        thing_deleted = await self._delete_thing(thing_name) if ours else False
        logger.info(
            "AWS IoT registration of %s undone: thing deleted %s, %d certificate(s) deleted",
            thing_name,
            thing_deleted,
            len(certificates),
        )
        return AwsThingRemoval(
            device_id=request.device_id,
            thing_deleted=thing_deleted,
            thing_kept_for_other_owner=existing is not None and not ours,
            certificates_deleted=tuple(c.certificate_id for c in certificates),
            groups_left=tuple(groups_left),
        )

    # decommission

    async def deregister_thing(self, request: AwsThingDeregistration) -> AwsThingRemoval:
        """See `AwsIotRegistrationPort.deregister_thing`."""
        thing_name = request.thing_name
        existing = await self._describe_thing(thing_name)
        principals = await self._thing_principals(thing_name) if existing is not None else []
        ids = [cid for cid in map(_certificate_id, principals) if cid is not None]
        if request.certificate_id and request.certificate_id not in ids:
            ids.append(request.certificate_id)
        certificates = [c for c in [await self._describe_certificate(i) for i in ids] if c]
        # Revoked first: a revoked certificate connects nowhere, even if a later step
        # has to be retried.
        for certificate in certificates:
            if certificate.status != "REVOKED":
                await self._ignoring_not_found(
                    "UpdateCertificate",
                    self._iot.update_certificate(
                        certificateId=certificate.certificate_id, newStatus="REVOKED"
                    ),
                    certificate_id=certificate.certificate_id,
                )
            await self._delete_certificate(certificate)
        groups_left: list[str] = []
        thing_deleted = False
        if existing is not None:
            groups_left = await self._leave_groups(thing_name)
            thing_deleted = await self._delete_thing(thing_name)
        # A thing's shadow outlives the thing: remove what the device reported too.
        await self._ignoring_not_found(
            "DeleteThingShadow",
            self._data.delete_thing_shadow(thingName=thing_name),
            thing_name=thing_name,
        )
        logger.info(
            "AWS IoT thing %s deregistered: deleted %s, %d certificate(s) revoked and deleted",
            thing_name,
            thing_deleted,
            len(certificates),
        )
        return AwsThingRemoval(
            device_id=request.device_id,
            thing_deleted=thing_deleted,
            certificates_deleted=tuple(c.certificate_id for c in certificates),
            groups_left=tuple(groups_left),
        )

    async def _leave_groups(self, thing_name: str) -> list[str]:
        """Take the thing out of every group it is in; the groups it left."""
        groups_left: list[str] = []
        for group in await self._groups_of(thing_name):
            await self._ignoring_not_found(
                "RemoveThingFromThingGroup",
                self._iot.remove_thing_from_thing_group(thingGroupName=group, thingName=thing_name),
                thing_group=group,
                thing_name=thing_name,
            )
            groups_left.append(group)
        return groups_left

    async def _delete_thing(self, thing_name: str) -> bool:
        """Detach every principal (any left, the run's or attached by hand, would block
        the delete), then delete the thing; whether it was there to delete."""
        for principal in await self._thing_principals(thing_name):
            await self._ignoring_not_found(
                "DetachThingPrincipal",
                self._iot.detach_thing_principal(thingName=thing_name, principal=principal),
                thing_name=thing_name,
            )
        return await self._ignoring_not_found(
            "DeleteThing", self._iot.delete_thing(thingName=thing_name), thing_name=thing_name
        )

    async def _ignoring_not_found(
        self, operation: str, call: Awaitable[object], **details: str
    ) -> bool:
        """Run a removal; False when AWS no longer held what it removes."""
        try:
            await self._aws(operation, call, **details)
        except CloudNotFound:
            return False
        return True

    async def _delete_certificate(self, certificate: _Certificate) -> None:
        """Deactivate, detach and delete a certificate; each step tolerates 'already gone'."""
        cid = certificate.certificate_id
        current = await self._describe_certificate(cid)
        if current is None:
            return
        if current.status == "ACTIVE":
            await self._ignoring_not_found(
                "UpdateCertificate",
                self._iot.update_certificate(certificateId=cid, newStatus="INACTIVE"),
                certificate_id=cid,
            )
        for policy in await self._attached_policies(current):
            await self._ignoring_not_found(
                "DetachPolicy",
                self._iot.detach_policy(policyName=policy, target=current.arn),
                certificate_id=cid,
                policy_name=policy,
            )
        for thing_name in await self._things_of(current):
            await self._ignoring_not_found(
                "DetachThingPrincipal",
                self._iot.detach_thing_principal(thingName=thing_name, principal=current.arn),
                certificate_id=cid,
                thing_name=thing_name,
            )
        await self._ignoring_not_found(
            "DeleteCertificate",
            self._iot.delete_certificate(certificateId=cid),
            certificate_id=cid,
        )

    # confirmation

    async def confirm_network(self, device_id: str, expected_ssid: str) -> ShadowNetworkReport:
        """See `AwsIotRegistrationPort.confirm_network`."""
        try:
            answer = await self._aws(
                "GetThingShadow",
                self._data.get_thing_shadow(thingName=device_id),
                thing_name=device_id,
            )
        except CloudNotFound:
            return ShadowNetworkReport(device_id=device_id, reported=False)
        async with answer["payload"] as stream:
            raw = await stream.read()
        try:
            document = json.loads(raw)
        except ValueError as error:
            raise CloudProtocolError(
                "AWS IoT GetThingShadow answered a shadow that is not JSON",
                details={"operation": "GetThingShadow", "thing_name": device_id},
            ) from error
        state = document.get("state") if isinstance(document, dict) else None
        reported = state.get("reported") if isinstance(state, dict) else None
        network = reported.get(SHADOW_NETWORK_KEY) if isinstance(reported, dict) else None
        version = document.get("version") if isinstance(document, dict) else None
        if not isinstance(network, dict):
            return ShadowNetworkReport(
                device_id=device_id,
                reported=False,
                shadow_version=version if isinstance(version, int) else None,
            )
        ssid = network.get("ssid")
        connected = network.get("connected") is True
        return ShadowNetworkReport(
            device_id=device_id,
            reported=True,
            ssid=ssid if isinstance(ssid, str) else None,
            connected=connected,
            shadow_version=version if isinstance(version, int) else None,
            on_expected_network=connected and ssid == expected_ssid,
        )


@asynccontextmanager
async def open_aws_iot_adapter(
    settings: AwsIotSettings | None = None, *, session: AioSession | None = None
) -> AsyncIterator[AwsIotAdapter]:
    """An adapter with its own `iot` and `iot-data` clients, closed on exit.

    Region, credentials and endpoints not set in `settings` come from the standard AWS
    chain (environment, shared config files, roles), as for every AWS tool.
    """
    settings = settings or AwsIotSettings()
    protect_sdk_logs()
    session = session or AioSession(profile=settings.profile)
    config = settings.sdk_config()
    async with AsyncExitStack() as stack:
        try:
            iot = await stack.enter_async_context(
                session.create_client(
                    "iot",
                    region_name=settings.region,
                    endpoint_url=settings.iot_endpoint_url,
                    config=config,
                )
            )
            iot_data = await stack.enter_async_context(
                session.create_client(
                    "iot-data",
                    region_name=settings.region,
                    endpoint_url=settings.iot_data_endpoint_url,
                    config=config,
                )
            )
        except Exception as error:  # e.g. no region anywhere in the chain
            raise cloud_error(error, operation="CreateClient") from error
        yield AwsIotAdapter(iot, iot_data, settings)


class AwsIotOnFirstUse:
    """`AwsIotRegistrationPort` that opens its SDK clients on its first call (once, for
    every call after it) and closes them on `aclose()`.

    A worker that hosts it starts whether AWS is configured or not: a missing region or a
    bad profile fails the call that needs AWS (`CloudInvalidRequest`, not retried), so a
    deployment that never registers an AWS device needs no AWS settings.
    """

    def __init__(
        self, settings: AwsIotSettings | None = None, *, session: AioSession | None = None
    ) -> None:
        self._settings = settings
        self._session = session
        self._clients = AsyncExitStack()
        self._adapter: AwsIotAdapter | None = None
        self._opening = asyncio.Lock()

    async def _aws(self) -> AwsIotAdapter:
        async with self._opening:
            if self._adapter is None:
                self._adapter = await self._clients.enter_async_context(
                    open_aws_iot_adapter(self._settings, session=self._session)
                )
            return self._adapter

    async def register_thing(self, request: AwsThingRegistrationRequest) -> AwsThingRegistration:
        """See `AwsIotRegistrationPort.register_thing`."""
        return await (await self._aws()).register_thing(request)

    async def remove_thing(self, request: AwsThingRegistrationRequest) -> AwsThingRemoval:
        """See `AwsIotRegistrationPort.remove_thing`."""
        return await (await self._aws()).remove_thing(request)

    async def deregister_thing(self, request: AwsThingDeregistration) -> AwsThingRemoval:
        """See `AwsIotRegistrationPort.deregister_thing`."""
        return await (await self._aws()).deregister_thing(request)

    async def confirm_network(self, device_id: str, expected_ssid: str) -> ShadowNetworkReport:
        """See `AwsIotRegistrationPort.confirm_network`."""
        return await (await self._aws()).confirm_network(device_id, expected_ssid)

    async def aclose(self) -> None:
        """Close the clients, if they were opened."""
        self._adapter = None
        await self._clients.aclose()
