"""The Z-Wave driver in a real gateway against the real zwave-js driver (zwave-server) on simulated hardware.

The peer (tests/peers/zwave: zwave-js's MockController with our nodes, and the real zwave-server) starts once for
the module, and so does the gateway, a child process that connects to the server's WebSocket like to a real one.
The tests run in file order: the last ones kill the server and then let Hearth run one of its own.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import wait_for
from tests.peers.zwave import ZwavePeer
from tests.peers.zwave.harness import ZWAVE_SERVER
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

pytest.importorskip("zwave_js_server", reason="the zwave extra is not installed")

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]


def zwave_env(**settings: str) -> dict[str, str]:
    env = {
        "HEARTH_DRIVERS__ZWAVE__ENABLED": "true",
        "HEARTH_DRIVERS__ZWAVE__COMMAND_TIMEOUT_S": "8",
        "HEARTH_DRIVERS__ZWAVE__WAKEUP_WAIT_S": "6",
        "HEARTH_DRIVERS__ZWAVE__RECONNECT_MIN_S": "0.5",
        "HEARTH_DRIVERS__ZWAVE__RECONNECT_MAX_S": "2",
    }
    env.update({f"HEARTH_DRIVERS__ZWAVE__{k.upper()}": v for k, v in settings.items()})
    return env


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def peer(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ZwavePeer]:
    zwave = await ZwavePeer.start(tmp_path_factory.mktemp("zwave-peer"))
    yield zwave
    await zwave.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def box(peer: ZwavePeer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayClient]:
    client = GatewayClient(
        HearthProcess(tmp_path_factory.mktemp("hearth-zwave"), env=zwave_env(url=peer.ws_url)), "zwave"
    )
    await client.open()
    # The seven listening nodes are declared once zwave-js has them ready.
    await wait_for(lambda: _has(client, "5"), timeout=60, interval=0.2)
    yield client
    await client.close()
    client.proc.kill()


async def _has(client: GatewayClient, address: str) -> bool:
    return any(
        url.startswith("zwave://") and url.split("/")[-1].split("#")[0] == address for url in await client.devices()
    )


async def controllables(box: GatewayClient) -> dict[str, str]:
    return {url: d["controllableName"] for url, d in (await box.devices()).items()}


async def mock_state(peer: ZwavePeer, node: int, name: str) -> Any:
    return (await peer.received(node))["state"].get(name)


# ----------------------------------------------------------------------------- tests


async def test_nodes_become_devices_of_the_catalogue(box: GatewayClient) -> None:
    found = await wait_for(lambda: _all_there(box), timeout=60, interval=0.2)
    assert found[box.url("2")] == "zwave:OnOffZWaveComponent"
    assert found[box.url("3")] == "zwave:DimmableLightZWaveComponent"
    assert {found[box.url("4", i)] for i in (1, 2, 3)} == {
        "zwave:TemperatureSensorZWaveComponent",
        "zwave:DoorWindowSensorZWaveComponent",
        "zwave:BatterySensorZWaveComponent",
    }
    assert found[box.url("5")] == "zwave:DoorLockZWaveComponent"
    # A Multi Channel relay: its two endpoints, not its root.
    assert (found[box.url("6", 1)], found[box.url("6", 2)]) == ("zwave:OnOffZWaveComponent",) * 2
    assert box.url("6", 3) not in found
    assert (found[box.url("7", 1)], found[box.url("7", 2)]) == (
        "zwave:SmartPlugZWaveComponent",
        "zwave:ElectricityMeterZWaveComponent",
    )
    assert found[box.url("9")] == "zwave:HeatingThermostatZWaveComponent"
    assert found[box.url("10")] == "zwave:ColorLightZWaveComponent"
    assert found[box.url("11")] == "zwave:RollerShutterZWaveComponent"
    assert await wait_for(lambda: box.state(box.stack, "zwave:HomeIdState"))


async def _all_there(box: GatewayClient) -> dict[str, str] | None:
    found = await controllables(box)
    wanted = [
        box.url("2"),
        box.url("3"),
        box.url("4", 3),
        box.url("5"),
        box.url("6", 2),
        box.url("7", 2),
        box.url("9"),
        box.url("10"),
        box.url("11"),
    ]
    return found if all(w in found for w in wanted) else None


async def test_commands_reach_the_nodes_and_come_back_as_states(box: GatewayClient, peer: ZwavePeer) -> None:
    outcome = await box.run(box.url("2"), "on")
    assert outcome["newState"] == "COMPLETED", str(outcome)[-400:]
    assert await mock_state(peer, 2, "BinarySwitch_currentValue") is True
    assert await wait_for(lambda: box.state(box.url("2"), "core:OnOffState")) == "on"

    assert (await box.run(box.url("3"), "setIntensity", 40))["newState"] == "COMPLETED"
    assert await mock_state(peer, 3, "MultilevelSwitch_currentValue") == 40
    assert await wait_for(lambda: _equals(box, box.url("3"), "core:LightIntensityState", 40))

    assert (await box.run(box.url("5"), "lock"))["newState"] == "COMPLETED"
    assert await mock_state(peer, 5, "DoorLock_currentMode") == 255
    assert await wait_for(lambda: _equals(box, box.url("5"), "core:LockedUnlockedState", "locked"))

    # The second endpoint of the relay, and only it.
    assert (await box.run(box.url("6", 2), "on"))["newState"] == "COMPLETED"
    received = (await peer.received(6))["received"]
    sets = [r for r in received if r["cc"] == "BinarySwitchCCSet"]
    assert [r["endpoint"] for r in sets] == [2], received
    assert await mock_state(peer, 6, "BinarySwitch_currentValue_ep2") is True


async def test_colour_and_window_covering(box: GatewayClient, peer: ZwavePeer) -> None:
    assert (await box.run(box.url("10"), "off"))["newState"] == "COMPLETED"
    outcome = await box.run(box.url("10"), "setRGB", 255, 64, 0)
    assert outcome["newState"] == "COMPLETED", str(outcome)[-400:]
    state = (await peer.received(10))["state"]
    assert (state["ColorSwitch_Red"], state["ColorSwitch_Green"], state["ColorSwitch_Blue"]) == (255, 64, 0)
    assert await wait_for(lambda: _equals(box, box.url("10"), "core:GreenColorIntensityState", 64), timeout=10)
    assert await box.state(box.url("10"), "core:RedColorIntensityState") == 255
    # A colour sent alone to the light that was off turns it on, at its last level (Multilevel Switch 255).
    assert any(r["cc"] == "MultilevelSwitchCCSet" for r in (await peer.received(10))["received"])
    assert await wait_for(lambda: _equals(box, box.url("10"), "core:OnOffState", "on"), timeout=10)
    # Window Covering's position parameter: 0 closed .. 99 open, the catalogue's closure the other way round.
    assert (await box.run(box.url("11"), "setClosure", 30))["newState"] == "COMPLETED"
    assert await wait_for(lambda: _equals(box, box.url("11"), "core:ClosureState", 30), timeout=10)
    received = [r for r in (await peer.received(11))["received"] if r["cc"] == "WindowCoveringCCSet"]
    assert received, (await peer.received(11))["received"]


async def test_a_thermostat_takes_a_derogation_as_home_assistant_sends_it(box: GatewayClient, peer: ZwavePeer) -> None:
    """Home Assistant's overkiz climate entity sets a temperature with setDerogation(t, "further_notice")."""
    thermostat = box.url("9")
    assert await wait_for(lambda: _equals(box, thermostat, "core:MaxSetpointState", 30.0), timeout=30)
    assert await box.state(thermostat, "core:MinSetpointState") == 5.0
    assert await box.state(thermostat, "core:OpenClosedValveState") in ("open", "closed")
    outcome = await box.run(thermostat, "setDerogation", 21.5, "further_notice")
    assert outcome["newState"] == "COMPLETED", str(outcome)[-400:]
    sets = [r for r in (await peer.received(9))["received"] if r["cc"] == "ThermostatSetpointCCSet"]
    assert sets, (await peer.received(9))["received"]
    assert await wait_for(lambda: _equals(box, thermostat, "core:TargetTemperatureState", 21.5), timeout=10)
    # A mode that keeps the set point sends nothing.
    before = len((await peer.received(9))["received"])
    assert (await box.run(thermostat, "setDerogation", "suddenDropMode", "further_notice"))["newState"] == "COMPLETED"
    assert len((await peer.received(9))["received"]) == before


async def _equals(box: GatewayClient, url: str, state: str, value: Any) -> bool:
    return await box.state(url, state) == value


async def test_reports_become_states(box: GatewayClient, peer: ZwavePeer) -> None:
    await peer.report(4, "multilevel_sensor", 21.5)
    temperature = await _url_of(box, "4", "zwave:TemperatureSensorZWaveComponent")
    assert await wait_for(lambda: _equals(box, temperature, "core:TemperatureState", 21.5), timeout=10)
    contact = await _url_of(box, "4", "zwave:DoorWindowSensorZWaveComponent")
    await peer.report(4, "notification", type=6, event=22)
    assert await wait_for(lambda: _equals(box, contact, "core:ContactState", "open"), timeout=10)
    await peer.report(4, "notification", type=6, event=23)
    assert await wait_for(lambda: _equals(box, contact, "core:ContactState", "closed"), timeout=10)
    await peer.report(7, "meter", 42.5, meter_type=1, scale=2)
    assert await wait_for(lambda: _equals(box, box.url("7", 2), "core:ElectricPowerConsumptionState", 42.5))
    await peer.report(2, "binary_switch", False)
    assert await wait_for(lambda: _equals(box, box.url("2"), "core:OnOffState", "off"))


async def _url_of(box: GatewayClient, address: str, controllable: str) -> str:
    return next(
        url
        for url, name in (await controllables(box)).items()
        if name == controllable and url.split("/")[-1].split("#")[0] == address
    )


async def test_a_dead_node_fails_fast_and_others_go_on(box: GatewayClient, peer: ZwavePeer) -> None:
    await peer.set_dead(2)
    first = await box.run(box.url("2"), "on")
    assert first["newState"] == "FAILED", first
    await box.event("DeviceUnavailableEvent", deviceURL=box.url("2"))
    # Now known dead: refused at once, with the reason, while the dimmer still answers.
    started = asyncio.get_running_loop().time()
    second = await box.run(box.url("2"), "off")
    assert second["newState"] == "FAILED" and second["failureType"] == "ACTUATORNOANSWER", second
    assert asyncio.get_running_loop().time() - started < 2.0
    assert (await box.run(box.url("3"), "setIntensity", 70))["newState"] == "COMPLETED"
    # It talks again: available again, commands go through.
    await peer.set_dead(2, dead=False)
    await peer.report(2, "binary_switch", True)
    await box.event("DeviceAvailableEvent", deviceURL=box.url("2"))
    assert (await box.run(box.url("2"), "off"))["newState"] == "COMPLETED"


async def test_association_groups_and_shims(box: GatewayClient) -> None:
    gw = box.proc.gateway_id
    # The simulated nodes have no Association command class: said so, in the API's words.
    groups = await box.api.get(f"/config/{gw}/zwave/association/nodes/2/groups")
    assert groups.status_code == 400 and "does not support associations" in groups.json()["error"], groups.text
    unknown = await box.api.get(f"/config/{gw}/zwave/association/nodes/77/groups")
    assert unknown.status_code == 404
    assert (
        await box.api.post(f"/config/{gw}/zwave/pairing/inclusion/start", json={"highestSecurityType": "S9"})
    ).status_code == 400
    started = await box.api.post(
        f"/config/{gw}/zwave/pairing/inclusion/start", json={"timeout": 30, "highestSecurityType": "none"}
    )
    assert started.status_code == 200, started.text
    await box.event("ZWaveSetModeCompleteEvent", gatewayId=gw)
    assert await wait_for(lambda: _equals(box, box.stack, "zwave:TransceiverStatusState", "including"))
    stopped = await box.api.post(f"/config/{gw}/zwave/pairing/inclusion/stop")
    assert stopped.status_code == 200
    assert await wait_for(lambda: _equals(box, box.stack, "zwave:TransceiverStatusState", "idle"))
    checked = await box.api.post(f"/config/{gw}/zwave/failedDevice/3")
    outcome = await box.outcome(checked.json()["execId"])
    assert outcome["newState"] == "COMPLETED", str(outcome)[-400:]


async def test_lost_server_fails_fast_and_comes_back(box: GatewayClient, peer: ZwavePeer) -> None:
    # Only events from now on: the stack's DeviceAvailableEvent of the first connection must not pass for the
    # one after the restart (a CI run once went on before the server was back, and failed).
    mark = len(await box.fetch())
    await peer.kill_server()
    await box.event("DeviceUnavailableEvent", deviceURL=box.stack, after=mark)
    outcome = await box.run(box.url("3"), "on")
    assert outcome["newState"] == "FAILED" and outcome["failureType"] == "PEER_DOWN", outcome
    mark = len(await box.fetch())
    await peer.start_server()
    await box.event("DeviceAvailableEvent", deviceURL=box.stack, timeout=40, after=mark)
    outcome = await box.run(box.url("3"), "setIntensity", 25)
    assert outcome["newState"] == "COMPLETED", (str(outcome)[-400:], box.proc.output[-15:], peer.output[-20:])
    assert await mock_state(peer, 3, "MultilevelSwitch_currentValue") == 25
    assert any("zwave-js server back" in line for line in box.proc.output)


async def test_a_sleeping_node_is_waited_for_within_a_bound(box: GatewayClient, peer: ZwavePeer) -> None:
    # Node 8 sleeps from the start: zwave-js interviews it at its first wake-up, and then it is a device.
    await peer.wake(8)
    await wait_for(lambda: _has(box, "8"), timeout=30, interval=0.2)
    battery = await _url_of(box, "8", "zwave:BatterySensorZWaveComponent")
    await peer.sleep(8)
    box.events.clear()
    exec_id = await box.apply(battery, "refreshState")
    # zwave-js finds it asleep and keeps the command for its wake-up; the execution says it is waiting
    # (IN_PROGRESS, the bound as its time to next state) ...
    waiting = await box.event("ExecutionStateChangedEvent", execId=exec_id, newState="IN_PROGRESS")
    assert waiting["timeToNextState"] == 6000, waiting
    # ... and completes when the node wakes up.
    await peer.wake(8)
    assert (await box.outcome(exec_id))["newState"] == "COMPLETED"
    # Asleep again and not waking in time: the execution fails, with the reason.
    await peer.sleep(8)
    outcome = await box.run(battery, "refreshState", timeout=30)
    assert outcome["newState"] == "FAILED" and outcome["failureType"] == "TIME_OUT_ON_COMMAND_PROGRESS", outcome


async def test_hearth_runs_and_supervises_its_own_server(
    peer: ZwavePeer, box: GatewayClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The module's gateway and server make room: one driver per controller.
    await box.close()
    await peer.kill_server()
    ws_port = peer.ws_port
    own = GatewayClient(
        HearthProcess(
            tmp_path_factory.mktemp("hearth-zwave-managed"),
            env=zwave_env(
                url=f"ws://127.0.0.1:{ws_port}",
                port=f"tcp://127.0.0.1:{peer.serial_port}",
                server_command=str(ZWAVE_SERVER),
            ),
        ),
        "zwave",
    )
    own.proc.extra_env["HEARTH_LOG__LEVEL"] = "DEBUG"
    await own.open()
    try:
        try:
            await wait_for(lambda: _has(own, "3"), timeout=60, interval=0.2)
        except AssertionError:  # seen once here with the machine overloaded on purpose
            raise AssertionError(_said(own)) from None
        assert (await own.run(own.url("3"), "setIntensity", 60))["newState"] == "COMPLETED"
        started = [m for line in own.proc.output if (m := re.search(r"zwave-js server started \(pid (\d+)\)", line))]
        assert started, "".join(own.proc.output[-50:])
        # Its output is in our log, without its keys.
        keys = (Path(own.proc.data_dir) / "drivers" / "zwave" / "server" / "keys.json").read_text()
        assert any("zwave-js:" in line for line in own.proc.output)
        for key in re.findall(r"[0-9a-f]{32}", keys):
            assert key not in "".join(own.proc.output)
        # A crash of the server: Hearth starts it again and reconnects by itself.
        os.kill(int(started[0].group(1)), signal.SIGKILL)
        await wait_for(lambda: any("zwave-js server exited" in line for line in own.proc.output), timeout=20)
        outcomes: list[str] = []
        try:
            await wait_for(lambda: _restarted(own, outcomes), timeout=60, interval=0.5)
        except AssertionError:  # seen in CI: say what the gateway, its server and the last command said meanwhile
            raise AssertionError(f"{_said(own)}\nlast refreshState outcomes: {outcomes[-3:]}") from None
        outcome = await own.run(own.url("3"), "setIntensity", 10)
        assert outcome["newState"] == "COMPLETED", str(outcome)[-300:]
        assert await mock_state(peer, 3, "MultilevelSwitch_currentValue") == 10
    finally:
        await own.close()
        own.proc.kill()


def _said(own: GatewayClient) -> str:
    """The gateway's and its server's last words, without the DEBUG chatter of the database and the websocket."""
    said = [
        line
        for line in own.proc.output
        if "DEBUG   aiosqlite" not in line
        and "DEBUG   zwave_js_server" not in line
        and not line.startswith(("WSMessage", "{"))
    ]
    return "".join(said[-80:])


async def _restarted(own: GatewayClient, outcomes: list[str]) -> bool:
    if not any("zwave-js server back" in line for line in own.proc.output):
        return False
    outcome = await own.run(own.url("3"), "refreshState")
    outcomes.append(str(outcome)[-300:])
    return bool(outcome["newState"] == "COMPLETED")
