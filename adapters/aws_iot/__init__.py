"""AWS IoT Core registration on the official AWS SDK (aiobotocore).

See docs/vendor-cloud.md, "AWS IoT Core", and `adapters.aws_iot.adapter` for why
aiobotocore and how each step checks before it acts.
"""

from adapters.aws_iot.adapter import AwsIotAdapter, AwsIotOnFirstUse, open_aws_iot_adapter
from adapters.aws_iot.errors import cloud_error
from adapters.aws_iot.port import AwsIotRegistrationPort
from adapters.aws_iot.settings import AwsIotSettings

__all__ = [
    "AwsIotAdapter",
    "AwsIotOnFirstUse",
    "AwsIotRegistrationPort",
    "AwsIotSettings",
    "cloud_error",
    "open_aws_iot_adapter",
]
