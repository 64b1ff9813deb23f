"""Extensions: the optional parts beside the core (cloud connectors, the MQTT bridge, scheduled backups), plug-ins
the way drivers are.

Each is a class registered under the entry point group ``hearth.extensions`` (pyproject.toml), made from its
settings section, and imported only when the configuration enables it (a missing extra is said in words, the same
way for ``hearth run`` and ``hearth check-config``). The composition root (``hearth.app.Gateway``) calls, in order:

1. ``attach(core)`` for every extension, before the executor's recovery publishes the executions it closes (an
   extension that records what it hears subscribes here, so that it hears those too);
2. ``start(parts)`` once the core is up, in the order of ``BEFORE_API`` then ``AFTER_API``;
3. ``stop()`` in the exact reverse.

Nothing of the gateway is handed over untyped, and an extension never writes itself into the gateway: the API
and the ops pages find an extension's status, or the one capability they use, in the ``ExtensionRegistry``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from hearth.alerts import AlertEngine
    from hearth.config import Settings
    from hearth.core.action_groups import ActionGroupStore
    from hearth.core.bus import EventBus
    from hearth.core.conditions import ConditionGroupStore
    from hearth.core.executor import Executor
    from hearth.core.identity import Identity
    from hearth.core.places import PlaceTree
    from hearth.core.registry import DeviceRegistry
    from hearth.core.triggers import TriggerEngine
    from hearth.store.database import Database
    from hearth.store.journal import ExecutionJournal
    from hearth.store.outbox import Outbox

ENTRY_POINT_GROUP = "hearth.extensions"


@dataclass(frozen=True, slots=True)
class CoreParts:
    """What exists when extensions attach: the store, the bus and the identity (nothing has published yet)."""

    settings: Settings
    bus: EventBus
    db: Database
    identity: Identity


@dataclass(frozen=True, slots=True)
class GatewayParts:
    """The core once it has started: what an extension may use from ``start`` on."""

    settings: Settings
    bus: EventBus
    db: Database
    identity: Identity
    registry: DeviceRegistry
    places: PlaceTree
    journal: ExecutionJournal
    executor: Executor
    action_groups: ActionGroupStore
    alerts: AlertEngine
    triggers: TriggerEngine
    conditions: ConditionGroupStore


@dataclass(frozen=True, slots=True)
class ExtensionStatus:
    """What the API and the ops pages read of an extension."""

    connected: bool | None = None  # None: it holds no link
    syncing: bool = False
    outbox: Outbox | None = None  # what waits for its cloud
    failures: Mapping[str, int] = field(default_factory=dict)  # failed cycles, by reason (hearth.cloud.answers)


class Extension(Protocol):
    """An optional part of the gateway (see the module's text for the order of the calls)."""

    @property
    def name(self) -> str:
        """Its entry point's name: in logs, metrics and the registry."""

    def attach(self, core: CoreParts) -> None:
        """Subscribe to the bus, before anything publishes. Nothing may be sent from here."""

    async def start(self, parts: GatewayParts) -> None: ...

    async def stop(self) -> None: ...

    def status(self) -> ExtensionStatus: ...


@runtime_checkable
class WebhookReceiver(Protocol):
    """An extension whose cloud calls the gateway back (SMARTSolar): the API hands it the signed bodies."""

    def verify(self, body: bytes, signature: str | None) -> bool: ...

    async def webhook(self, message: dict[str, Any]) -> Any: ...


@runtime_checkable
class TaskOutcomes(Protocol):
    """An extension that keeps the outcomes of the tasks its cloud ran here (AirVantage): a local route serves them."""

    async def outcomes(self) -> list[dict[str, Any]]: ...


class ExtensionRegistry:
    """The extensions this gateway runs, by name, in start order."""

    def __init__(self, extensions: Sequence[Extension] = ()) -> None:
        self._by_name = {extension.name: extension for extension in extensions}

    def __iter__(self) -> Iterator[Extension]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)

    def status(self, name: str) -> ExtensionStatus | None:
        extension = self._by_name.get(name)
        return None if extension is None else extension.status()

    def webhook_receiver(self, name: str) -> WebhookReceiver | None:
        """The extension ``name`` if it runs and takes its cloud's webhooks."""
        extension = self._by_name.get(name)
        return extension if isinstance(extension, WebhookReceiver) else None

    def task_outcomes(self, name: str) -> TaskOutcomes | None:
        """The extension ``name`` if it runs and keeps the outcomes of its cloud's tasks."""
        extension = self._by_name.get(name)
        return extension if isinstance(extension, TaskOutcomes) else None


# ----------------------------------------------------------------------------- what the configuration enables


@dataclass(frozen=True, slots=True)
class ExtensionConfig:
    """How the configuration names an extension: whether it is on, what its constructor gets, its extra."""

    name: str  # its entry point
    extra: str | None  # pip install 'hearth[<extra>]' brings its libraries (None: hearth's own)
    enabled: Callable[[Settings], bool]
    section: Callable[[Settings], Any]


# Start order; stop is the reverse. SMARTSolar starts before the API, which serves its webhooks.
BEFORE_API = (
    ExtensionConfig("smartsolar", "cloud", lambda s: s.cloud.smartsolar.enabled, lambda s: s.cloud.smartsolar),
    ExtensionConfig("backup", None, lambda s: s.backup.enabled, lambda s: s),
)
AFTER_API = (
    ExtensionConfig("cloud", "cloud", lambda s: s.cloud.enabled, lambda s: s.cloud),
    ExtensionConfig("bagtower", "cloud", lambda s: s.cloud.bagtower.enabled, lambda s: s.cloud.bagtower),
    ExtensionConfig("airvantage", "cloud", lambda s: s.cloud.airvantage.enabled, lambda s: s.cloud.airvantage),
    ExtensionConfig("bridge", "bridge", lambda s: s.bridge.enabled, lambda s: s.bridge),
)


def enabled(settings: Settings, configs: Sequence[ExtensionConfig]) -> list[ExtensionConfig]:
    return [config for config in configs if config.enabled(settings)]


def load_class(config: ExtensionConfig) -> Callable[[Any], Extension]:
    """The class of an enabled extension, imported now; a missing extra is said in words (exit status 2)."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    entry = found.get(config.name)
    if entry is None:
        known = ", ".join(sorted(found)) or "none"
        raise RuntimeError(
            f"extension {config.name} is enabled in the configuration but is not installed "
            f"(installed: {known}): pip install -e . again"
        )
    try:
        cls: Callable[[Any], Extension] = entry.load()
    except ImportError as exc:
        wanted = f"hearth[{config.extra}]" if config.extra else "hearth"
        raise RuntimeError(
            f"{entry.module} is enabled in the configuration but its libraries are missing ({exc}): "
            f"pip install '{wanted}'"
        ) from None
    return cls


def make(settings: Settings, configs: Sequence[ExtensionConfig]) -> list[Extension]:
    """The enabled extensions among ``configs``, made from their settings, in order."""
    return [load_class(config)(config.section(settings)) for config in enabled(settings, configs)]


def check(settings: Settings) -> None:
    """``hearth check-config``: import what ``run`` would start, so that a missing library is found first."""
    for config in enabled(settings, (*BEFORE_API, *AFTER_API)):
        load_class(config)


if TYPE_CHECKING:
    from hearth.backup.schedule import BackupScheduler
    from hearth.bridge.bridge import MqttBridge
    from hearth.cloud.airvantage import AirVantageConnector
    from hearth.cloud.bagtower import BagtowerConnector
    from hearth.cloud.mqtt import MqttSync
    from hearth.cloud.smartsolar import SmartSolarConnector

    def _registered_classes_are_extensions(section: Any) -> list[Extension]:
        """Never run: mypy checks here that each class of pyproject's ``hearth.extensions`` is an Extension."""
        return [
            SmartSolarConnector(section),
            BackupScheduler(section),
            MqttSync(section),
            BagtowerConnector(section),
            AirVantageConnector(section),
            MqttBridge(section),
        ]
