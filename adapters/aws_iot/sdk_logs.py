"""Keeping AWS session tokens out of the SDK's debug logs.

The SDK never logs a secret access key, but at DEBUG level it logs each request's headers
and the canonical request it signs, and with temporary credentials (roles, SSO, STS) these
hold `X-Amz-Security-Token`: a bearer secret for as long as it lives. The filter masks it
in the records of the SDK loggers that print requests.
"""

from __future__ import annotations

import logging
import re

from domain.secrets import MASK

SDK_REQUEST_LOGGERS = ("botocore.endpoint", "botocore.auth", "aiobotocore.endpoint")
_SECURITY_TOKEN = re.compile(
    r"(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)([^'\"\s,}]+)", re.IGNORECASE
)


class SecurityTokenFilter(logging.Filter):
    """Masks the value of every `X-Amz-Security-Token` in a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SECURITY_TOKEN.sub(lambda match: match.group(1) + MASK, message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


def protect_sdk_logs() -> None:
    """Install the filter on the SDK's request loggers (once, however often called)."""
    for name in SDK_REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SecurityTokenFilter) for f in logger.filters):
            logger.addFilter(SecurityTokenFilter())
