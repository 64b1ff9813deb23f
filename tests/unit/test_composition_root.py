"""The composition root (hearth.app) with extensions plugged in through the hearth.extensions contract: a real
gateway (virtual demo house, real SQLite, no API) and small extensions written here against the protocol.

What is checked: extensions attach before the executor's recovery and start after the core; stop runs in exact
reverse (an extension stops while the core it uses still works; the condition groups are closed); a start that
fails half-way stops only what it started; the API's readers find an extension's status through the registry;
``check-config`` and ``run`` say a missing extra in the same words.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from hearth import extensions
from hearth.app import Gateway
from hearth.config import load_settings
from hearth.extensions import CoreParts, ExtensionStatus, GatewayParts
from hearth.model.events import Event
from hearth.ops.system import system_summary
from hearth.store.database import DatabaseError
from tests.bench.common import gateway_env


class Recording:
    """An extension that writes down what the gateway asks of it, and what it sees of the core meanwhile."""

    def __init__(self, name: str, log: list[str], *, fail_start: bool = False, connected: bool = True) -> None:
        self.name = name
        self.log = log
        self.fail_start = fail_start
        self.connected = connected
        self.heard: list[Event] = []
        self.parts: GatewayParts | None = None

    def attach(self, core: CoreParts) -> None:
        self.log.append(f"attach {self.name}")
        core.bus.subscribe(self.heard.append)

    async def start(self, parts: GatewayParts) -> None:
        self.log.append(f"start {self.name}")
        self.parts = parts
        if self.fail_start:
            raise RuntimeError(f"{self.name} cannot start")

    async def stop(self) -> None:
        assert self.parts is not None
        # The core it was given still works while it stops: the database answers, the condition groups listen.
        row = await self.parts.db.fetchone("SELECT 1")
        listening = self.parts.conditions.index._unsubscribe is not None
        self.log.append(f"stop {self.name} db={row is not None} conditions={listening}")

    def status(self) -> ExtensionStatus:
        return ExtensionStatus(connected=self.connected, syncing=True)


def settings_for(data: Path) -> Any:
    return load_settings(None, gateway_env(data, house="demo"))


async def test_extensions_attach_first_start_last_and_stop_in_exact_reverse(tmp_path: Path) -> None:
    log: list[str] = []
    first, second = Recording("first", log), Recording("second", log)
    gateway = Gateway(settings_for(tmp_path / "data"), before_api=[first], after_api=[second])
    await gateway.start()
    assert log == ["attach first", "attach second", "start first", "start second"]
    assert gateway.conditions.index._unsubscribe is not None
    await gateway.stop()
    assert log[4:] == ["stop second db=True conditions=True", "stop first db=True conditions=True"]
    assert gateway.conditions.index._unsubscribe is None  # ConditionGroupStore.close() ran
    with pytest.raises(DatabaseError, match="not open"):
        await gateway.db.fetchone("SELECT 1")  # and the database closed after every part that used it
    await gateway.stop()  # a second stop has nothing left to undo
    assert len(log) == 6


async def test_a_start_that_fails_stops_only_what_it_started(tmp_path: Path) -> None:
    log: list[str] = []
    gateway = Gateway(
        settings_for(tmp_path / "data"),
        before_api=[Recording("ok", log), Recording("broken", log, fail_start=True)],
        after_api=[Recording("never", log)],
    )
    with pytest.raises(RuntimeError, match="broken cannot start"):
        await gateway.start()
    await gateway.stop()
    assert log == [
        "attach ok",
        "attach broken",
        "attach never",
        "start ok",
        "start broken",
        "stop broken db=True conditions=True",
        "stop ok db=True conditions=True",
    ]


async def test_the_api_reads_an_extension_through_the_registry(tmp_path: Path) -> None:
    cloud = Recording("cloud", [], connected=False)
    gateway = Gateway(settings_for(tmp_path / "data"), after_api=[cloud])
    await gateway.start()
    try:
        summary = await system_summary(gateway, gateway.ops)
        assert summary["cloud"]["connectivity"] == "disconnected"
        assert summary["cloud"]["syncInProgress"] is True
        cloud.connected = True
        assert (await system_summary(gateway, gateway.ops))["cloud"]["connectivity"] == "connected"
        assert "cloud" in gateway.extensions and "bridge" not in gateway.extensions
        assert gateway.extensions.webhook_receiver("cloud") is None  # no such capability: not handed out
    finally:
        await gateway.stop()


def test_check_config_and_run_say_a_missing_extra_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**gateway_env(tmp_path / "data", house="demo"), "HEARTH_BRIDGE__ENABLED": "true"}
    settings = load_settings(None, env)
    assert [config.name for config in extensions.enabled(settings, extensions.AFTER_API)] == ["bridge"]
    monkeypatch.delitem(sys.modules, "hearth.bridge", raising=False)
    monkeypatch.delitem(sys.modules, "hearth.bridge.bridge", raising=False)
    monkeypatch.setitem(sys.modules, "aiomqtt", None)  # the [bridge] extra not installed
    with pytest.raises(RuntimeError) as checked:
        extensions.check(settings)
    with pytest.raises(RuntimeError) as made:
        extensions.make(settings, extensions.AFTER_API)
    assert str(checked.value) == str(made.value)
    assert "hearth.bridge is enabled in the configuration but its libraries are missing" in str(made.value)
    assert "pip install 'hearth[bridge]'" in str(made.value)
