"""Reading the API's responses: models on success, typed errors on problems."""

from __future__ import annotations

from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from client.errors import ApiProblem, DevprovError, problem_error
from domain.api_models import Problem
from domain.errors import ErrorCode

ModelT = TypeVar("ModelT", bound=BaseModel)


class UnexpectedResponse(DevprovError):
    """The API answered with something that is neither the expected body nor a problem."""


def raise_for_problem(response: httpx.Response) -> None:
    """Raise the typed error of a non-2xx response (its body must have been read)."""
    if response.is_success:
        return
    try:
        problem = Problem.model_validate_json(response.content)
    except ValidationError:
        problem = Problem(
            type="about:blank",
            title=response.reason_phrase or "error",
            status=response.status_code,
            detail=response.text[:200] or f"HTTP {response.status_code}",
            code=ErrorCode.INTERNAL_ERROR,
        )
    raise problem_error(response.status_code, problem, response.headers.get("Retry-After"))


def read_model(response: httpx.Response, model: type[ModelT]) -> ModelT:
    """The body of a successful response as `model`, or the typed error."""
    raise_for_problem(response)
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        raise UnexpectedResponse(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} with a body that is not a {model.__name__}: {error}"
        ) from None


__all__ = ["ApiProblem", "UnexpectedResponse", "raise_for_problem", "read_model"]
