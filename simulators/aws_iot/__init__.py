"""A local AWS for AWS IoT Core registration: moto's server, a fault-injecting proxy in
front of it, and the device side (its own key and CSR, its certificate, its shadow, and
the Wi-Fi devices that carry such an identity and report to their shadows once online).

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
    DEVICE_POLICY_DOCUMENT,
    LOCAL_ACCESS_KEY_ID,
    LOCAL_REGION,
    LOCAL_SECRET_ACCESS_KEY,
    LocalAws,
    start_local_aws,
)
from simulators.aws_iot.wifi_devices import (
    AWS_EXAMPLE_DEVICE,
    ShadowReporter,
    aws_iot_wifi_device,
    default_aws_iot_devices,
    report_shadows,
)

__all__ = [
    "AWS_EXAMPLE_DEVICE",
    "DEVICE_POLICY_DOCUMENT",
    "LOCAL_ACCESS_KEY_ID",
    "LOCAL_REGION",
    "LOCAL_SECRET_ACCESS_KEY",
    "AwsFault",
    "AwsFaultProxy",
    "AwsOperationResolver",
    "FaultKind",
    "LocalAws",
    "NotJoined",
    "ShadowReporter",
    "SimulatedAwsIotDevice",
    "aws_iot_wifi_device",
    "default_aws_iot_devices",
    "report_shadows",
    "start_aws_fault_proxy",
    "start_local_aws",
]
