"""What the API's server writes to its logs: never a credential, never raw hostile input.

- The access log writes the path as sent (percent-encoded, so no newline or control
  character gets into a line), query values of credential-like names as `[redacted]`,
  and, when a path identifier is invalid, the route's template instead of the path.
- aiohttp's own error log of a request it could not parse (a request line past the
  limit, a bad header) names the error, not the bytes it refused.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_urldispatcher import AbstractResource

from api.path_identifiers import invalid_path_identifier

CREDENTIAL_PARAMETERS = frozenset(
    {"access_token", "ticket", "token", "key", "api_key", "apikey", "secret", "password"}
)
MAX_LOGGED_PATH = 300


def _routed_resource(request: web.BaseRequest) -> AbstractResource | None:
    """The resource the router matched, or None for a request refused before routing
    (aiohttp answers a request it could not parse without routing it)."""
    if not isinstance(request, web.Request) or request._match_info is None:
        return None
    return request.match_info.route.resource


def loggable_target(request: web.BaseRequest) -> str:
    """The request's path and query as a log may show them."""
    resource = _routed_resource(request)
    if resource is not None and invalid_path_identifier(request) is not None:
        return f"{resource.canonical} (invalid identifier)"
    path = request.rel_url.raw_path
    if len(path) > MAX_LOGGED_PATH:
        path = f"{path[:MAX_LOGGED_PATH]}...({len(path)} characters)"
    query = "&".join(
        f"{quote(name, safe='')}="
        + ("[redacted]" if name.lower() in CREDENTIAL_PARAMETERS else quote(value, safe=""))
        for name, value in request.rel_url.query.items()
    )
    return f"{path}?{query[:MAX_LOGGED_PATH]}" if query else path


class RedactingAccessLogger(AbstractAccessLogger):
    """One line per request: client, method, safe target, status, size, duration."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote or "-",
            quote(request.method, safe=""),
            loggable_target(request),
            response.status,
            response.body_length,
            time,
        )


class _UnparsedRequestFilter(logging.Filter):
    """Rewrites aiohttp's log of a request it could not parse to name the error only."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg = "refused a request it could not parse: %s (HTTP %s)"
            record.args = (type(error).__name__, error.code)
            record.exc_info = None
            record.exc_text = None
        return True


_UNPARSED_REQUESTS = _UnparsedRequestFilter()


def keep_refused_bytes_out_of_the_server_log() -> None:
    """Install the filter on aiohttp's server logger (once per process)."""
    server_logger = logging.getLogger("aiohttp.server")
    if _UNPARSED_REQUESTS not in server_logger.filters:
        server_logger.addFilter(_UNPARSED_REQUESTS)


__all__ = [
    "RedactingAccessLogger",
    "keep_refused_bytes_out_of_the_server_log",
    "loggable_target",
]
