"""The fault proxy names each request's AWS operation from the SDK's service models."""

from __future__ import annotations

import pytest

from simulators.aws_iot import AwsOperationResolver

IOT = "AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/iot/aws4_request, Signature=x"
IOT_DATA = "AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/iotdata/aws4_request, S=x"


@pytest.fixture(scope="module")
def resolver() -> AwsOperationResolver:
    return AwsOperationResolver()


@pytest.mark.parametrize(
    ("authorization", "method", "path", "query", "operation"),
    [
        (IOT, "GET", "/things/plug-1", set(), "DescribeThing"),
        (IOT, "POST", "/things/plug-1", set(), "CreateThing"),
        (IOT, "GET", "/things/plug-1/principals", set(), "ListThingPrincipals"),
        (IOT, "PUT", "/things/plug-1/principals", set(), "AttachThingPrincipal"),
        (IOT, "POST", "/certificates", {"setAsActive"}, "CreateCertificateFromCsr"),
        (IOT, "PUT", "/certificates/abc", {"newStatus"}, "UpdateCertificate"),
        (IOT, "DELETE", "/certificates/abc", set(), "DeleteCertificate"),
        (IOT, "PUT", "/target-policies/tenant-a", set(), "AttachPolicy"),
        (IOT, "PUT", "/thing-groups/addThingToThingGroup", set(), "AddThingToThingGroup"),
        (IOT_DATA, "GET", "/things/plug-1/shadow", set(), "GetThingShadow"),
        (IOT_DATA, "POST", "/things/plug-1/shadow", set(), "UpdateThingShadow"),
    ],
)
def test_requests_are_named_by_their_aws_operation(
    resolver: AwsOperationResolver,
    authorization: str,
    method: str,
    path: str,
    query: set[str],
    operation: str,
) -> None:
    assert resolver.resolve(authorization, method, path, query) == operation


def test_an_unknown_request_has_no_operation(resolver: AwsOperationResolver) -> None:
    assert resolver.resolve(IOT, "GET", "/moto-api/reset", set()) is None
