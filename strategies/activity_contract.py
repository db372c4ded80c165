"""The contract between a strategy's workflow and the activities its workers host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class ActivityContract(Generic[ArgT, ResultT]):
    """One activity: its name, the model it takes and the model it returns.

    The workflow calls it through `LifecycleWorkflow.perform`, which knows the result
    type from here; the activity registers under `name`.
    """

    name: str
    argument: type[ArgT]
    result: type[ResultT]
