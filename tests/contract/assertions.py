"""What every adapter's contract tests assert about its errors."""

from __future__ import annotations

import json

from adapters.errors import AdapterError


def assert_error(error: AdapterError, code: str, *, retryable: bool) -> None:
    """The error carries `code` and says whether a retry may help."""
    assert (error.code, error.retryable) == (code, retryable), repr(error)


def assert_no_secret(error: AdapterError, *secrets: str) -> None:
    """No secret appears in the error's text, repr or details — not even re-spaced or in
    another case (install codes are printed in groups)."""
    for secret in secrets:
        compact = secret.replace(" ", "").lower()
        for text in (str(error), repr(error), json.dumps(error.details)):
            assert secret not in text
            assert compact not in text.replace(" ", "").lower()
