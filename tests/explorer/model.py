"""What the explorer generates: sequences of timed actions on one device's provisioning.

A sequence belongs to one device family. It starts the device's run through the API
(`START`, never removed by the shrinker) and then mixes, at random moments:

- operator actions through the API (credentials, forget-credentials, retry, cancel; the
  fleet's own retry and cancel for a fleet; a decommission of the device, which races
  its provisioning runs for the registry's claim; at the end of its life, a
  re-provisioning of the device in service, `reset` or `migrate`),
- device actions (a button press, a power-on in pairing mode, the device leaving or
  coming back into range),
- faults of the device and of the vendor cloud switched on and off.

Each action waits `delay` seconds after the previous one, or after the run was seen in
its `anchor` state (up to `anchor_patience`), so that actions land in many states.
Everything is drawn from `random.Random(f"explorer/{seed}/{index}")`: a seed and an
index give the same sequence again, and a replay spec `seed/index/kept-numbers` gives
a shrunk one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from enum import StrEnum

ANCHOR_PATIENCE = 2.0
"""Seconds an anchored action waits for its state before it goes ahead anyway."""
RADIO_ANCHOR_PATIENCE = 4.0
"""The same for the radio families, whose detection and pre-check take longer (a BLE
scan and connection, a coordinator's inspection)."""
REPROVISION_SHARE = 0.35
"""Share of the (non-fleet) sequences whose device, in service at the end, is provisioned
again with a re-provisioning policy."""
GAMBIT_SHARE = 0.6
"""Share of the sequences with one gambit: a short pattern that puts actions on a state
boundary (a cancel during a retry's rollback, credentials during a device wait, ...)."""


class Family(StrEnum):
    """Device families the explorer drives; `FLEET` is an HTTP Wi-Fi device in a fleet."""

    HTTP_WIFI = "http-wifi"
    WIFI_CLOUD = "wifi-cloud"
    IMPROV_BLE = "improv-ble"
    ZIGBEE = "zigbee"
    FLEET = "fleet"
    ESP_PROV_BLE = "esp-prov-ble"

    @property
    def takes_credentials(self) -> bool:
        return self is not Family.ZIGBEE


FAMILIES: tuple[Family, ...] = tuple(Family)


def anchor_patience(family: Family) -> float:
    """Seconds an anchored action of `family` waits for its state."""
    if family in (Family.IMPROV_BLE, Family.ZIGBEE, Family.ESP_PROV_BLE):
        return RADIO_ANCHOR_PATIENCE
    return ANCHOR_PATIENCE


class ActionKind(StrEnum):
    """Everything that can happen in a sequence."""

    START = "start"
    CREDENTIALS = "credentials"
    FORGET_CREDENTIALS = "forget-credentials"
    RETRY = "retry"
    CANCEL = "cancel"
    FLEET_RETRY = "fleet-retry"
    FLEET_CANCEL = "fleet-cancel"
    DECOMMISSION = "decommission"
    REPROVISION = "reprovision"
    PRESS_BUTTON = "press-button"
    POWER_ON_PAIRING = "power-on-pairing"
    DEVICE_DISAPPEARS = "device-disappears"
    DEVICE_APPEARS = "device-appears"
    FAULT_ON = "fault-on"
    FAULT_OFF = "fault-off"

    @property
    def is_operator(self) -> bool:
        """Sent to the API."""
        return self in _OPERATOR

    @property
    def is_device(self) -> bool:
        """Done to the device by a person or by the world."""
        return self in _DEVICE

    @property
    def column(self) -> str | None:
        """The column of the coverage table this action counts in (None: not counted)."""
        if self in _DEVICE:
            return "device-action"
        return _COLUMNS.get(self)


_OPERATOR = frozenset(
    {
        ActionKind.START,
        ActionKind.CREDENTIALS,
        ActionKind.FORGET_CREDENTIALS,
        ActionKind.RETRY,
        ActionKind.CANCEL,
        ActionKind.FLEET_RETRY,
        ActionKind.FLEET_CANCEL,
        ActionKind.DECOMMISSION,
        ActionKind.REPROVISION,
    }
)
_DEVICE = frozenset(
    {
        ActionKind.PRESS_BUTTON,
        ActionKind.POWER_ON_PAIRING,
        ActionKind.DEVICE_DISAPPEARS,
        ActionKind.DEVICE_APPEARS,
    }
)
_COLUMNS = {
    ActionKind.CREDENTIALS: "credentials",
    ActionKind.FORGET_CREDENTIALS: "forget-credentials",
    ActionKind.RETRY: "retry",
    ActionKind.FLEET_RETRY: "retry",
    ActionKind.CANCEL: "cancel",
    ActionKind.FLEET_CANCEL: "cancel",
    ActionKind.DECOMMISSION: "decommission",
}
COLUMNS: tuple[str, ...] = (
    "credentials",
    "forget-credentials",
    "retry",
    "cancel",
    "decommission",
    "device-action",
)
"""Columns of the coverage table."""


class Credentials(StrEnum):
    """Network credentials an operator may send (the worlds know the networks in range)."""

    LAB = "lab"
    """The lab network, right passphrase."""
    GUEST = "guest"
    """Another network in range, right passphrase."""
    WRONG_PASSPHRASE = "wrong-passphrase"
    """The lab network with a passphrase it refuses."""
    UNKNOWN_NETWORK = "unknown-network"
    """A network nobody has in range."""
    INVALID = "invalid"
    """A passphrase too short to be valid: the API answers 422."""


class Fault(StrEnum):
    """Fault knobs of the simulators, by what they do (see `world.py` for the knobs)."""

    WRONG_PASSPHRASE = "device-refuses-passphrase"
    DROP_AFTER_APPLY = "device-drops-after-apply"
    SLOW_DEVICE = "device-latency-0.6s"
    STALLED_DEVICE = "device-latency-2.5s"
    NEVER_JOINS = "device-never-joins"
    BUSY = "device-busy"
    DEVICE_5XX = "device-5xx"
    CLOUD_5XX = "cloud-5xx"
    CLOUD_429 = "cloud-429-quota"
    CLOUD_AFTER_COMMIT = "cloud-500-after-commit"
    CLOUD_DROPS = "cloud-drops-connections"
    CLOUD_LATENCY = "cloud-latency-1s"
    CLOUD_SILENT = "cloud-never-checks-in"
    GATT_UNRESPONSIVE = "improv-gatt-unresponsive"
    DROP_LINK = "improv-drops-link-mid-provision"
    NEVER_AUTHORIZES = "improv-ignores-button"
    NEVER_REPORTS = "improv-never-reports"
    ZB_NEVER_JOINS = "zigbee-never-joins"
    ZB_WRONG_INSTALL_CODE = "zigbee-wrong-install-code"
    ZB_INTERVIEW_FAILURES = "zigbee-interview-fails"
    ZB_BIND_FAILURES = "zigbee-bind-fails"
    ESP_NEVER_CONNECTS = "esp-station-never-connects"
    ESP_NETWORK_NOT_FOUND = "esp-finds-no-network"
    ESP_REFUSES_SESSIONS = "esp-refuses-sessions"


_WIFI_FAULTS = (
    Fault.WRONG_PASSPHRASE,
    Fault.DROP_AFTER_APPLY,
    Fault.SLOW_DEVICE,
    Fault.STALLED_DEVICE,
    Fault.NEVER_JOINS,
    Fault.BUSY,
    Fault.DEVICE_5XX,
)
_CLOUD_FAULTS = (
    Fault.CLOUD_5XX,
    Fault.CLOUD_429,
    Fault.CLOUD_AFTER_COMMIT,
    Fault.CLOUD_DROPS,
    Fault.CLOUD_LATENCY,
    Fault.CLOUD_SILENT,
)
_IMPROV_FAULTS = (
    Fault.GATT_UNRESPONSIVE,
    Fault.DROP_LINK,
    Fault.NEVER_AUTHORIZES,
    Fault.NEVER_REPORTS,
)
_ZIGBEE_FAULTS = (
    Fault.ZB_NEVER_JOINS,
    Fault.ZB_WRONG_INSTALL_CODE,
    Fault.ZB_INTERVIEW_FAILURES,
    Fault.ZB_BIND_FAILURES,
)

_ESP_FAULTS = (
    Fault.WRONG_PASSPHRASE,
    Fault.ESP_NEVER_CONNECTS,
    Fault.ESP_NETWORK_NOT_FOUND,
    Fault.ESP_REFUSES_SESSIONS,
)


def faults_of(family: Family) -> tuple[Fault, ...]:
    """The faults the explorer switches for `family`."""
    if family in (Family.HTTP_WIFI, Family.FLEET):
        return _WIFI_FAULTS
    if family is Family.WIFI_CLOUD:
        return _WIFI_FAULTS + _CLOUD_FAULTS
    if family is Family.IMPROV_BLE:
        return _IMPROV_FAULTS
    if family is Family.ESP_PROV_BLE:
        return _ESP_FAULTS
    return _ZIGBEE_FAULTS


class Anchor(StrEnum):
    """A state an action waits for before its delay; `ENDED` is any terminal state."""

    PENDING = "PENDING"
    DETECTING = "DETECTING"
    PRE_CHECK = "PRE_CHECK"
    PENDING_NETWORK = "PENDING_NETWORK"
    WAITING_FOR_DEVICE = "WAITING_FOR_DEVICE"
    PROVISIONING = "PROVISIONING"
    CONFIRMING = "CONFIRMING"
    ROLLING_BACK = "ROLLING_BACK"
    ENDED = "ENDED"


@dataclass(frozen=True)
class Action:
    """One timed action; `number` is its place in the sequence as generated."""

    number: int
    kind: ActionKind
    delay: float = 0.0
    anchor: Anchor | None = None
    credentials: Credentials | None = None
    fault: Fault | None = None

    def describe(self) -> str:
        when = f"+{self.delay:.2f}s"
        if self.anchor is not None:
            when += f" after {self.anchor.value}"
        what = self.kind.value
        if self.credentials is not None:
            what += f" [{self.credentials.value}]"
        elif self.kind is ActionKind.START:
            what += " [no network]"
        if self.fault is not None:
            what += f" {self.fault.value}"
        return f"#{self.number:<2} {when:<34} {what}"


@dataclass(frozen=True)
class DeviceSetup:
    """How the sequence's device and run start out."""

    has_button: bool = True
    """Improv: the device needs its button pressed (else it is always authorized)."""
    pairing_at_start: bool = True
    """Zigbee: the device is powered on in pairing mode from the start."""
    impatient_rollback: bool = False
    """The run's undo steps give up after a few seconds (ROLLBACK_FAILED gets a chance)."""
    decommission_at_end: bool = False
    """Once the device's runs ended, an operator takes it out of service (the end of its
    life: a device provisioned is decommissioned, one not in service is refused)."""
    reprovision_at_end: str | None = None
    """Once the device's runs ended and it is in service, an operator provisions it again
    with this policy (`reset`: decommission then provision in one run; `migrate`: to the
    other network), before any decommission at the end. Families whose strategy does not
    support it are refused (422)."""


@dataclass(frozen=True)
class Sequence:
    """One generated sequence (or a shrunk part of one)."""

    seed: int
    index: int
    family: Family
    setup: DeviceSetup
    actions: tuple[Action, ...]
    generated: int
    """How many actions were generated (`actions` may be a subset after shrinking)."""

    @property
    def replay_spec(self) -> str:
        """`seed/index` for a whole sequence, `seed/index/n,n,...` for a shrunk one."""
        base = f"{self.seed}/{self.index}"
        if len(self.actions) == self.generated:
            return base
        return base + "/" + ",".join(str(a.number) for a in self.actions)

    @property
    def removable(self) -> tuple[Action, ...]:
        """The actions a shrinker may drop: all but the start."""
        return tuple(a for a in self.actions if a.kind is not ActionKind.START)

    def keeping(self, kept: tuple[Action, ...]) -> Sequence:
        """This sequence with only the start and `kept` (in their original order)."""
        numbers = {a.number for a in kept}
        actions = tuple(
            a for a in self.actions if a.kind is ActionKind.START or a.number in numbers
        )
        return replace(self, actions=actions)

    def describe(self) -> str:
        setup = self.setup
        knobs = []
        if self.family is Family.IMPROV_BLE:
            knobs.append("button" if setup.has_button else "no button")
        if self.family is Family.ZIGBEE:
            knobs.append("pairing at start" if setup.pairing_at_start else "powered off")
        if setup.impatient_rollback:
            knobs.append("impatient rollback")
        if setup.reprovision_at_end:
            knobs.append(f"re-provisioned ({setup.reprovision_at_end}) at the end")
        if setup.decommission_at_end:
            knobs.append("decommissioned at the end")
        head = f"sequence {self.replay_spec} ({self.family.value}"
        head += (", " + ", ".join(knobs) if knobs else "") + ")"
        return "\n".join([head, *(f"    {a.describe()}" for a in self.actions)])


# ---------------------------------------------------------------------- the generator


def _delay(rng: random.Random) -> float:
    if rng.random() < 0.35:
        return round(rng.uniform(0.0, 0.2), 2)
    return round(rng.uniform(0.2, 1.5), 2)


_ANCHORS: dict[ActionKind, tuple[Anchor, ...]] = {
    ActionKind.CREDENTIALS: (
        Anchor.PENDING_NETWORK,
        Anchor.PENDING_NETWORK,
        Anchor.WAITING_FOR_DEVICE,
        Anchor.WAITING_FOR_DEVICE,
        Anchor.DETECTING,
        Anchor.PROVISIONING,
        Anchor.CONFIRMING,
        Anchor.ROLLING_BACK,
        Anchor.ENDED,
    ),
    ActionKind.FORGET_CREDENTIALS: (
        Anchor.PENDING_NETWORK,
        Anchor.WAITING_FOR_DEVICE,
        Anchor.WAITING_FOR_DEVICE,
        Anchor.PRE_CHECK,
        Anchor.CONFIRMING,
        Anchor.ROLLING_BACK,
    ),
    ActionKind.RETRY: (
        Anchor.PENDING_NETWORK,
        Anchor.WAITING_FOR_DEVICE,
        Anchor.WAITING_FOR_DEVICE,
        Anchor.ROLLING_BACK,
        Anchor.ENDED,
        Anchor.ENDED,
        Anchor.CONFIRMING,
    ),
    ActionKind.CANCEL: (
        Anchor.ROLLING_BACK,
        Anchor.ROLLING_BACK,
        Anchor.WAITING_FOR_DEVICE,
        Anchor.PENDING_NETWORK,
        Anchor.PROVISIONING,
        Anchor.CONFIRMING,
        Anchor.DETECTING,
        Anchor.PENDING,
    ),
    ActionKind.DECOMMISSION: (
        Anchor.ENDED,
        Anchor.ENDED,
        Anchor.ENDED,
        Anchor.CONFIRMING,
        Anchor.PROVISIONING,
        Anchor.ROLLING_BACK,
        Anchor.PENDING_NETWORK,
        Anchor.WAITING_FOR_DEVICE,
    ),
    ActionKind.FLEET_RETRY: (Anchor.ENDED, Anchor.ROLLING_BACK, Anchor.WAITING_FOR_DEVICE),
    ActionKind.FLEET_CANCEL: (Anchor.CONFIRMING, Anchor.ROLLING_BACK, Anchor.PENDING_NETWORK),
}
_DEVICE_ANCHORS = (
    Anchor.WAITING_FOR_DEVICE,
    Anchor.WAITING_FOR_DEVICE,
    Anchor.PROVISIONING,
    Anchor.DETECTING,
    Anchor.CONFIRMING,
    Anchor.ROLLING_BACK,
)
_FAULT_ANCHORS = (
    Anchor.PROVISIONING,
    Anchor.CONFIRMING,
    Anchor.ROLLING_BACK,
    Anchor.PENDING_NETWORK,
    Anchor.DETECTING,
)


def _anchor(rng: random.Random, kind: ActionKind, family: Family) -> Anchor | None:
    if rng.random() >= 0.4:
        return None
    choices: tuple[Anchor, ...]
    if kind.is_device:
        choices = _DEVICE_ANCHORS
    elif kind in (ActionKind.FAULT_ON, ActionKind.FAULT_OFF):
        choices = _FAULT_ANCHORS
    else:
        choices = _ANCHORS[kind]
    if not family.takes_credentials:
        choices = tuple(c for c in choices if c is not Anchor.PENDING_NETWORK) or (
            Anchor.WAITING_FOR_DEVICE,
        )
    return rng.choice(choices)


def _credentials(rng: random.Random) -> Credentials:
    return rng.choices(
        (
            Credentials.LAB,
            Credentials.GUEST,
            Credentials.WRONG_PASSPHRASE,
            Credentials.UNKNOWN_NETWORK,
            Credentials.INVALID,
        ),
        weights=(35, 25, 20, 10, 10),
    )[0]


def _device_kinds(family: Family) -> tuple[ActionKind, ...]:
    person: tuple[ActionKind, ...]
    if family is Family.IMPROV_BLE:
        person = (ActionKind.PRESS_BUTTON, ActionKind.PRESS_BUTTON)
    elif family is Family.ZIGBEE:
        person = (ActionKind.POWER_ON_PAIRING, ActionKind.POWER_ON_PAIRING)
    else:
        person = ()
    return (*person, ActionKind.DEVICE_DISAPPEARS, ActionKind.DEVICE_APPEARS)


def _operator_kind(rng: random.Random, family: Family) -> ActionKind:
    kinds = [
        ActionKind.CREDENTIALS,
        ActionKind.FORGET_CREDENTIALS,
        ActionKind.RETRY,
        ActionKind.CANCEL,
        ActionKind.DECOMMISSION,
    ]
    weights = [35, 15, 30, 15, 14]
    if family is Family.FLEET:
        kinds += [ActionKind.FLEET_RETRY, ActionKind.FLEET_CANCEL]
        weights += [12, 6]
    return rng.choices(kinds, weights=weights)[0]


class _Builder:
    """Draws one sequence's actions, keeping track of the faults switched on."""

    def __init__(self, rng: random.Random, family: Family) -> None:
        self.rng = rng
        self.family = family
        self.faults = faults_of(family)
        self.on: list[Fault] = []
        self.actions: list[Action] = []
        self.network: Credentials | None = None
        """The good credentials the run was given last (as far as the generator knows)."""

    def add(self, kind: ActionKind, delay: float, anchor: Anchor | None = None, **extra: object):
        action = Action(len(self.actions), kind, delay, anchor, **extra)  # type: ignore[arg-type]
        self.actions.append(action)
        if action.credentials in (Credentials.LAB, Credentials.GUEST):
            self.network = action.credentials
        return action

    def _other_network(self) -> Credentials:
        """Good credentials for another network than the run was given last."""
        if self.network is None:
            return self.rng.choice((Credentials.GUEST, Credentials.LAB))
        return Credentials.GUEST if self.network is Credentials.LAB else Credentials.LAB

    def fault_action(self, delay: float, anchor: Anchor | None) -> None:
        rng = self.rng
        if self.on and rng.random() < 0.45:
            fault = self.on.pop(rng.randrange(len(self.on)))
            self.add(ActionKind.FAULT_OFF, delay, anchor, fault=fault)
            return
        fault = rng.choice(self.faults)
        if fault not in self.on:
            self.on.append(fault)
        self.add(ActionKind.FAULT_ON, delay, anchor, fault=fault)

    def random_action(self) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            kind = _operator_kind(rng, self.family)
        elif roll < 0.65:
            kind = rng.choice(_device_kinds(self.family))
        else:
            kind = ActionKind.FAULT_ON
        anchor = _anchor(rng, kind, self.family)
        delay = _delay(rng)
        if kind is ActionKind.FAULT_ON:
            self.fault_action(delay, anchor)
        else:
            self.add_action(kind, delay, anchor)

    def add_action(self, kind: ActionKind, delay: float, anchor: Anchor | None) -> None:
        if kind is ActionKind.CREDENTIALS:
            self.add(kind, delay, anchor, credentials=_credentials(self.rng))
        else:
            self.add(kind, delay, anchor)

    # -- gambits: short patterns that put actions on the state boundaries where a saga
    # has to get things right; their timing and details are still drawn at random.

    def _tiny(self) -> float:
        return round(self.rng.uniform(0.0, 0.15), 2)

    def _fault(self, on: bool, fault: Fault, delay: float, anchor: Anchor | None) -> None:
        if on and fault not in self.on:
            self.on.append(fault)
        elif not on and fault in self.on:
            self.on.remove(fault)
        kind = ActionKind.FAULT_ON if on else ActionKind.FAULT_OFF
        self.add(kind, delay, anchor, fault=fault)

    def _rejected_credentials(self) -> None:
        """The device or its network refuses the credentials: the run asks for others."""
        if self.family is Family.IMPROV_BLE:
            self.add(ActionKind.CREDENTIALS, self._tiny(), credentials=Credentials.WRONG_PASSPHRASE)
            return
        self._fault(True, Fault.WRONG_PASSPHRASE, self._tiny(), None)
        self._fault(False, Fault.WRONG_PASSPHRASE, self._tiny(), Anchor.PENDING_NETWORK)

    def cancel_during_a_retry_rollback(self) -> None:
        """A retry rolls the attempt back; a cancel arrives while it does."""
        rng = self.rng
        if self.family is Family.ZIGBEE:
            waiting = Anchor.WAITING_FOR_DEVICE
        elif self.family is Family.IMPROV_BLE:
            waiting = rng.choice((Anchor.WAITING_FOR_DEVICE, Anchor.PENDING_NETWORK))
            if waiting is Anchor.PENDING_NETWORK:
                self._rejected_credentials()
        else:
            waiting = Anchor.PENDING_NETWORK
            self._rejected_credentials()
            slow = rng.choice((Fault.SLOW_DEVICE, Fault.STALLED_DEVICE, None))
            if slow is not None:
                self._fault(True, slow, self._tiny(), None)
            else:
                self.add(ActionKind.DEVICE_DISAPPEARS, self._tiny())
        self.add(ActionKind.RETRY, self._tiny(), waiting)
        self.add(ActionKind.CANCEL, self._tiny(), Anchor.ROLLING_BACK)

    def credentials_while_waiting_on_the_device(self) -> None:
        """New credentials while the device step waits (e.g. for the button)."""
        credentials = self._other_network()
        self.add(
            ActionKind.CREDENTIALS, self._tiny(), Anchor.WAITING_FOR_DEVICE, credentials=credentials
        )
        if self.family is Family.IMPROV_BLE:
            self.add(ActionKind.PRESS_BUTTON, round(self.rng.uniform(0.1, 1.0), 2))

    def credentials_after_a_rejection(self) -> None:
        """Good credentials once the first ones were refused (a new provisioning round)."""
        self._rejected_credentials()
        credentials = self._other_network()
        self.add(
            ActionKind.CREDENTIALS, self._tiny(), Anchor.PENDING_NETWORK, credentials=credentials
        )

    def retry_right_after_the_end(self) -> None:
        """A run is cancelled, and retried the moment it has ended."""
        rng = self.rng
        waiting = (
            (Anchor.WAITING_FOR_DEVICE, Anchor.DETECTING)
            if self.family is Family.ZIGBEE
            else (Anchor.PENDING_NETWORK, Anchor.WAITING_FOR_DEVICE, Anchor.DETECTING)
        )
        self.add(ActionKind.CANCEL, self._tiny(), rng.choice(waiting))
        retry = ActionKind.RETRY
        if self.family is Family.FLEET and rng.random() < 0.5:
            retry = ActionKind.FLEET_RETRY
        self.add(retry, self._tiny(), Anchor.ENDED)

    def decommission_racing_a_new_run(self) -> None:
        """The run ends; a decommission and a retry (a new provisioning run) go out at the
        same moment: at most one may have the device, and the registry must say which."""
        kinds = [ActionKind.DECOMMISSION, ActionKind.RETRY]
        self.rng.shuffle(kinds)
        first, second = kinds
        self.add(first, self._tiny(), Anchor.ENDED)
        self.add(second, 0.0)

    def gambit(self) -> None:
        gambits = [
            self.cancel_during_a_retry_rollback,
            self.retry_right_after_the_end,
            self.decommission_racing_a_new_run,
        ]
        if self.family.takes_credentials:
            gambits += [
                self.credentials_while_waiting_on_the_device,
                self.credentials_after_a_rejection,
            ]
        if self.family is Family.IMPROV_BLE:
            # Its device step waits on a person (the button) while credentials are held.
            gambits.append(self.credentials_while_waiting_on_the_device)
        self.rng.choice(gambits)()


def generate(seed: int, index: int) -> Sequence:
    """The sequence number `index` of the session with `seed`."""
    rng = random.Random(f"explorer/{seed}/{index}")
    family = FAMILIES[index % len(FAMILIES)]
    setup = DeviceSetup(
        has_button=rng.random() < 0.7,
        pairing_at_start=rng.random() < 0.5,
        impatient_rollback=rng.random() < 0.2,
        decommission_at_end=rng.random() < 0.4,
    )
    builder = _Builder(rng, family)
    # Now and then the world is already at fault, or an operator is early, when the
    # run starts.
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        if rng.random() < 0.7:
            builder.fault_action(round(rng.uniform(0, 0.2), 2), None)
        else:
            builder.add_action(_operator_kind(rng, family), 0.0, None)
    network: Credentials | None = None
    if family.takes_credentials and rng.random() < 0.75:
        network = rng.choices(
            (
                Credentials.LAB,
                Credentials.GUEST,
                Credentials.WRONG_PASSPHRASE,
                Credentials.UNKNOWN_NETWORK,
            ),
            weights=(55, 15, 22, 8),
        )[0]
    builder.add(ActionKind.START, round(rng.uniform(0, 0.2), 2), credentials=network)
    steps = rng.randint(3, 8)
    gambit_at = rng.randrange(steps) if rng.random() < GAMBIT_SHARE else None
    for step in range(steps):
        if step == gambit_at:
            builder.gambit()
        else:
            builder.random_action()
    actions = tuple(builder.actions)
    # Drawn last, so that the sequences of a seed stay what they were before it existed.
    if family is not Family.FLEET and rng.random() < REPROVISION_SHARE:
        setup = replace(setup, reprovision_at_end=rng.choice(("reset", "migrate")))
    return Sequence(seed, index, family, setup, actions, generated=len(actions))


def parse_replay_spec(spec: str) -> Sequence:
    """The sequence a replay spec names: `seed/index` or `seed/index/n,n,...`."""
    parts = spec.strip().split("/")
    if len(parts) not in (2, 3):
        raise ValueError(f"a replay spec is seed/index[/n,n,...], not {spec!r}")
    sequence = generate(int(parts[0]), int(parts[1]))
    if len(parts) == 2 or not parts[2]:
        return sequence
    numbers = {int(n) for n in parts[2].split(",")}
    return sequence.keeping(tuple(a for a in sequence.actions if a.number in numbers))
