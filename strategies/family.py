"""Device families as plugins: one descriptor per family, found through entry points.

A family's descriptor is in two parts. `DeviceFamily` here is the pure part: its name,
the strategy that selects and judges its devices, the model of its provision requests
and examples of them, its step policies, its error codes, and where its workflow and
its wiring live. The API and the registry import it without
loading any radio or transport library. The wiring (edge capability, central
activities) is named by `wiring` and imported only by workers (`worker.families`).

Families are found the way zigpy finds radios and bleak its backends: every installed
distribution may declare `devprov.families` entry points, each naming a `DeviceFamily`:

    [project.entry-points."devprov.families"]
    beacon = "beacon_family:FAMILY"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from domain.errors import is_code
from domain.policies import PolicySection
from domain.requests import ProvisionRequest, RequestExample
from strategies.base import Strategy
from strategies.decommission import DecommissionPlan

ENTRY_POINT_GROUP = "devprov.families"


class FamilyError(ValueError):
    """A family's entry point or descriptor is unusable; the message names it."""


@dataclass(frozen=True)
class DeviceFamily:
    """The pure descriptor of one device family.

    Attributes:
        name: The family's one name in every layer: its strategy, its edge
            capability, its policies section, its search attribute value.
        strategy: Makes the strategy whose spec says which devices the family serves.
        workflow: `module:Class` of its workflow (sandbox-safe; the central workers
            and the replayer import it).
        wiring: `module:attribute` of its `worker.families.FamilyWiring` (edge
            capability, central activities); empty when the family needs none.
        selection_order: Lower first: a composite family (wifi-cloud) comes before
            the families whose capabilities it extends (http-wifi).
        error_codes: Codes only this family's adapters and rules report (the shared
            device and lifecycle codes are the domain's `ErrorCode`): plain strings in
            SCREAMING_SNAKE_CASE (`domain.errors.is_code`), carried like the shared ones
            by failures, progress events, webhooks and search attributes. Each has a row
            in docs/errors.md or in the family's own documentation (docs/families.md,
            "Error codes").
        request_model: The body of a provision request for this family: the API
            checks a request whose device the family's strategy serves against it,
            and serves its JSON schema (`GET /strategies`, the OpenAPI document). A
            subclass of `ProvisionRequest` that asks for what the family needs more
            (Zigbee: the install code); `ProvisionRequest` when it needs nothing more.
        examples: Requests to start from (the web console's templates), each
            valid for `request_model`.
        policy: The family's own step timeouts, heartbeats, retries and waits, over
            the shared `[defaults]` of the policy file; a `[strategies.<name>]`
            section of that file (or `DEVPROV_POLICY__STRATEGIES__...`) overrides them
            (`config.policies`).
        decommission: How the family takes a device out of service (what it undoes,
            with which activities, and what its protocol cannot undo); None when it
            cannot (`POST .../decommission` then answers 422 DECOMMISSION_UNSUPPORTED).
    """

    name: str
    strategy: Callable[[], Strategy]
    workflow: str
    wiring: str = ""
    selection_order: int = 100
    error_codes: frozenset[str] = frozenset()
    request_model: type[ProvisionRequest] = ProvisionRequest
    examples: tuple[RequestExample, ...] = ()
    policy: PolicySection = field(default_factory=PolicySection)
    decommission: DecommissionPlan | None = None

    def __post_init__(self) -> None:
        malformed = sorted(code for code in self.error_codes if not is_code(code))
        if malformed:
            raise FamilyError(
                f"family '{self.name}' declares malformed error codes {malformed}: "
                "a code is SCREAMING_SNAKE_CASE, at most 64 characters"
            )

    def make_strategy(self) -> Strategy:
        """A fresh strategy of this family, checked to carry the family's name."""
        strategy = self.strategy()
        if strategy.name != self.name:
            raise FamilyError(f"family '{self.name}' makes strategy '{strategy.name}'")
        return strategy

    def request_schema(self) -> dict[str, Any]:
        """The JSON Schema of this family's provision requests (its `$defs` inside)."""
        return self.request_model.model_json_schema(mode="validation")

    def request_errors(self, request: ProvisionRequest) -> list[dict[str, Any]]:
        """What this family's request model finds wrong with `request`: `loc`, `msg`
        and `type` of each error, never the submitted value; empty when it fits."""
        if self.request_model is ProvisionRequest:
            return []
        try:
            self.request_model.model_validate(request.model_dump(mode="json"))
        except ValidationError as error:
            return [
                {"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]}
                for item in error.errors(
                    include_url=False, include_context=False, include_input=False
                )
            ]
        return []

    def workflow_class(self) -> type:
        """The workflow class of this family (imports its module)."""
        return self._class(self.workflow)

    def workflow_classes(self) -> list[type]:
        """Every workflow of this family: its provisioning one and, if it has one, its
        decommissioning one."""
        classes = [self.workflow_class()]
        if self.decommission is not None:
            classes.append(self._class(self.decommission.workflow_class))
        return classes

    def _class(self, reference: str) -> type:
        loaded = load_object(reference)
        if not isinstance(loaded, type):
            raise FamilyError(f"family '{self.name}': {reference} is not a class")
        return loaded


def load_object(reference: str) -> object:
    """The object a `module:attribute` reference names."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise FamilyError(f"'{reference}' is not a module:attribute reference")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise FamilyError(f"cannot load '{reference}': {error}") from error


def installed_families() -> list[DeviceFamily]:
    """Every family declared by an installed distribution, in selection order.

    Raises:
        FamilyError: an entry point does not name a `DeviceFamily` of its own name, or
            two distributions declare the same family.
    """
    found: dict[str, DeviceFamily] = {}
    declared: dict[str, str] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in declared:
            if declared[entry.name] != entry.value:
                raise FamilyError(
                    f"family '{entry.name}' is declared twice: "
                    f"{declared[entry.name]} and {entry.value}"
                )
            # The same distribution seen twice on sys.path: the same object.
            continue
        declared[entry.name] = entry.value
        try:
            family = entry.load()
        except Exception as error:
            raise FamilyError(f"entry point '{entry.name}' ({entry.value}): {error}") from error
        if not isinstance(family, DeviceFamily):
            raise FamilyError(f"entry point '{entry.name}' names a {type(family).__name__}")
        if family.name != entry.name:
            raise FamilyError(f"entry point '{entry.name}' names family '{family.name}'")
        found[entry.name] = family
    return ordered(found.values())


def ordered(families: Iterable[DeviceFamily]) -> list[DeviceFamily]:
    """`families` in selection order (then by name, for a stable order)."""
    return sorted(families, key=lambda f: (f.selection_order, f.name))


def error_catalogue(families: Iterable[DeviceFamily]) -> dict[str, str]:
    """Which family reports each family-specific error code.

    Raises:
        FamilyError: two families claim the same code.
    """
    catalogue: dict[str, str] = {}
    for family in families:
        for code in sorted(family.error_codes):
            if code in catalogue:
                raise FamilyError(
                    f"error code {code} is claimed by '{catalogue[code]}' and '{family.name}'"
                )
            catalogue[code] = family.name
    return catalogue
