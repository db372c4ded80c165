"""A local AWS for AWS IoT Core registration: moto's server, a fault-injecting proxy in
front of it, and the device side (its own key and CSR, its certificate, its shadow).

See docs/vendor-cloud.md, "AWS IoT Core".
"""

from simulators.aws_iot.device import NotJoined, SimulatedAwsIotDevice
from simulators.aws_iot.fault_proxy import (
    AwsFault,
    AwsFaultProxy,
    AwsOperationResolver,
    FaultKind,
    start_aws_fault_proxy,
)
from simulators.aws_iot.local_aws import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_REGION,
    LOCAL_SECRET_ACCESS_KEY,
    LocalAws,
    start_local_aws,
)

__all__ = [
    "LOCAL_ACCESS_KEY_ID",
    "LOCAL_REGION",
    "LOCAL_SECRET_ACCESS_KEY",
    "AwsFault",
    "AwsFaultProxy",
    "AwsOperationResolver",
    "FaultKind",
    "LocalAws",
    "NotJoined",
    "SimulatedAwsIotDevice",
    "start_aws_fault_proxy",
    "start_local_aws",
]
