"""How the AWS IoT adapter finds AWS: the standard AWS chain, plus a few devprov knobs.

Region, credentials and endpoints come from where every AWS tool looks for them: the
environment (`AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_PROFILE`, `AWS_ENDPOINT_URL_IOT`, `AWS_ENDPOINT_URL_IOT_DATA_PLANE`), the shared
config and credentials files (`endpoint_url` in a profile's `iot` / `iot_data_plane`
sections), then container or instance roles. The data plane's variable is named after
its service id, "IoT Data Plane": `AWS_ENDPOINT_URL_IOT_DATA` is not read by the SDK.
`AwsIotSettings` overrides only what it sets, and never holds a credential, so it can be
logged and shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiobotocore.config import AioConfig


@dataclass(frozen=True)
class AwsIotSettings:
    """Where and how to reach AWS IoT Core; `None` leaves a value to the AWS chain.

    Attributes:
        region: AWS region, e.g. `eu-west-1`.
        profile: A named profile of the shared AWS config files.
        iot_endpoint_url: Control-plane endpoint (a local AWS API in tests).
        iot_data_endpoint_url: Data-plane endpoint for thing shadows: the account's
            `iot:Data-ATS` endpoint (`aws iot describe-endpoint --endpoint-type iot:Data-ATS`).
        connect_timeout: Seconds to open a connection.
        read_timeout: Seconds to wait for an answer once connected.
        thing_group_prefix: Each site's thing group is this prefix and the site name.
        throttle_retry_after: Seconds to wait after a throttled call (AWS names none).
        certificate_search_pages: Pages of `ListCertificates` (newest first, 250 a page)
            searched for a certificate whose creation answer was lost.
        match_certificate_subject: Also take a certificate with the CSR's subject as made
            from the CSR. Only for moto's server, which signs a key of its own; AWS signs
            the CSR's key, which is what is matched otherwise.
    """

    region: str | None = None
    profile: str | None = None
    iot_endpoint_url: str | None = None
    iot_data_endpoint_url: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    thing_group_prefix: str = "devprov-site-"
    throttle_retry_after: float = 1.0
    certificate_search_pages: int = 4
    match_certificate_subject: bool = False

    def sdk_config(self) -> AioConfig:
        """The SDK's client config: one attempt per call, so that Temporal alone retries.

        botocore would otherwise retry throttling and 5xx answers itself (3 attempts in
        `standard` mode, `AWS_MAX_ATTEMPTS` in the environment), hiding them from the
        workflow's retry policy and multiplying its timeouts.
        """
        return AioConfig(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "total_max_attempts": 1},
            user_agent_appid="devprov",
        )
