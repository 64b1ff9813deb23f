"""Driver, DriverContext and the values that cross between them."""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from hearth.model.definition import Controllable
from hearth.model.device_url import DeviceURL
from hearth.model.events import Event
from hearth.model.execution import FailureType
from hearth.sdk.capabilities import JsonValue

# Where the API keeps a protocol's active commissioning (install) codes: this key of the driver's storage, a list
# of {"code", "metadata", "commissioningId"}. The driver reads them when it opens its network.
COMMISSIONING_CODES = "commissioning.codes"


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """What a driver knows of a device when it declares it."""

    address: str
    controllable_name: str
    label: str
    subsystem: int | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # Label of the place to put a new device in; the user's later moves win.
    place_label: str | None = None
    states: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    url: DeviceURL
    controllable_name: str
    label: str
    available: bool


@dataclass(slots=True)
class CommandCall:
    """One command of an execution, handed to the driver of its device."""

    device_url: DeviceURL
    name: str
    parameters: list[Any]
    exec_id: str
    rank: int
    high_priority: bool = False
    # The driver calls this once the radio has taken the command and the device is acting on it.
    on_progress: Callable[[int], None] = field(default=lambda eta_ms: None)

    def in_progress(self, eta_ms: int = -1) -> None:
        self.on_progress(eta_ms)


class CommandFailed(Exception):
    """The device or the radio refused or did not complete a command."""

    def __init__(self, failure: FailureType, message: str = "") -> None:
        super().__init__(message or failure.name)
        self.failure = failure
        self.message = message or failure.name


class DriverStorage(Protocol):
    """Crash-safe key-value data of one driver: a put is on disk when it returns."""

    async def get(self, key: str) -> Any: ...
    async def put(self, key: str, value: Any) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def keys(self) -> list[str]: ...


class DriverContext(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def gateway_id(self) -> str: ...
    @property
    def config(self) -> Mapping[str, Any]: ...
    @property
    def log(self) -> logging.Logger: ...
    @property
    def storage(self) -> DriverStorage: ...
    @property
    def data_dir(self) -> Path:
        """A folder of this driver's own (a radio library's database); it may not exist yet."""
        ...

    def device_url(self, address: str, subsystem: int | None = None) -> DeviceURL: ...
    def controllable(self, name: str) -> Controllable | None: ...
    async def add_device(self, spec: DeviceSpec) -> DeviceURL: ...
    async def update_device(self, url: DeviceURL, *, label: str | None = None) -> None: ...
    async def remove_device(self, url: DeviceURL) -> None: ...
    def devices(self) -> list[DeviceInfo]: ...
    def report_states(self, url: DeviceURL, values: Mapping[str, Any]) -> None: ...
    def set_available(self, url: DeviceURL, available: bool) -> None: ...
    def state(self, url: DeviceURL, name: str) -> Any: ...
    def publish(self, event: Event) -> None:
        """Put an event of the End-User API (``hearth.sdk.events``) on the gateway's event stream."""
        ...

    def create_task(self, coro: Coroutine[Any, Any, Any], name: str) -> Any: ...


class Driver(abc.ABC):
    """A radio (or a simulation of one). Subclass it and register it under ``hearth.drivers``."""

    protocol: ClassVar[str]
    # How many commands may be in flight at once on this radio (one RTS transmitter: 1).
    max_concurrency: ClassVar[int] = 8
    # Longest a single command may take before the executor fails it with TIME_OUT_ON_COMMAND_PROGRESS.
    command_timeout_s: ClassVar[float] = 120.0

    def __init__(self, ctx: DriverContext) -> None:
        self.ctx = ctx

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """Raise ValueError naming the key at fault if ``[drivers.<name>]`` is wrong (``enabled`` aside).

        Called by ``hearth check-config`` and before ``start``, so a typo stops the gateway at once.
        """

    async def start(self) -> None:
        """Open the radio, declare the devices it knows."""

    async def stop(self) -> None:
        """Close the radio. Called once, after the last command."""

    @abc.abstractmethod
    async def execute(self, call: CommandCall) -> None:
        """Run one command; return when the device has done it, raise CommandFailed otherwise.

        Cancellation (``asyncio.CancelledError``) means the user cancelled: stop the radio work now.
        """

    async def create_device(self, address: str, device_type: str, label: str) -> DeviceURL:
        """Declare a device the radio cannot discover (RTS: a new remote), for the End-User API's create call.

        ValueError says why the address or the type does not fit this radio."""
        raise ValueError(f"devices of {self.protocol} are discovered, not created")

    async def delete_device(self, url: DeviceURL) -> None:
        """Let a device go before it is removed (unpair, forget its keys). Raise CommandFailed to refuse."""

    def check_commissioning_code(self, code: str, commissioning_id: str | None) -> None:
        """Raise ValueError saying why this radio cannot use a commissioning (install) code."""
        raise ValueError(f"commissioning codes are not supported for {self.protocol}")

    async def read_back(self, url: DeviceURL) -> bool:
        """Ask the device itself for its state and report it (``ctx.report_states``); return once it answered.

        Called after a restart for a device whose last command's outcome is unknown (the gateway died while it
        was in flight). Return False if this radio cannot read a device (a one-way protocol); raise
        CommandFailed if it can but the device did not answer."""
        return False

    async def set_state(self, url: DeviceURL, name: str, value: JsonValue) -> bool:
        """Play the physical world: make the device report ``value``. False if this driver cannot."""
        return False
