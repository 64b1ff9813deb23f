"""pyoverkiz, a client nobody here wrote, drives the running gateway in LOCAL mode.

The release is the newest that installs on the Python running the suite (1.20.6 on 3.11, 2.3.0 on 3.12+); where
their Python APIs differ, tests/support/overkiz_client.py makes the same request through either. Every call goes
through pyoverkiz's own request building, error mapping and model parsing: a wrong shape in Hearth's answers shows
up here as a pyoverkiz exception or a wrong attribute.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hearth_virtual.house import DEMO_DEVICES
from pyoverkiz.client import OverkizClient
from pyoverkiz.enums import (
    DataType,
    EventName,
    ExecutionState,
    ExecutionSubType,
    ExecutionType,
    FailureType,
    ProductType,
    Protocol,
    UIClass,
    UIWidget,
    UpdateBoxStatus,
)
from pyoverkiz.models import Event, Place

from hearth import PROTOCOL_VERSION
from tests.support import overkiz_client as ovk
from tests.support.overkiz_client import BaseOverkizError, InvalidCommandError, NotAuthenticatedError
from tests.support.process import HearthProcess

LIGHT = "3"  # zigbee:DimmableLightComponent, setIntensity 0-100
SHUTTER = "2"  # zigbee:RollerShutterGenericComponent, setClosure 0-100 (1 s full travel in tests)
LOCK = "14"  # zwave:DoorLockZWaveComponent, setCode(slot, code) with the code sensitive
FINAL = (ExecutionState.COMPLETED, ExecutionState.FAILED)


# ---------------------------------------------------------------------------------- helpers


def make_client(hearth: HearthProcess, token: str) -> OverkizClient:
    """Must be called inside a running loop: OverkizClient opens its aiohttp session in __init__."""
    return ovk.make_client(f"127.0.0.1:{hearth.port}", token)


@pytest.fixture
async def overkiz(hearth: HearthProcess, admin_token: str) -> AsyncIterator[OverkizClient]:
    """A pyoverkiz client with its event listener registered (login() in local mode = events/register)."""
    client = make_client(hearth, admin_token)
    try:
        await ovk.login(client)
        assert client.event_listener_id
        yield client
    finally:
        await client.close()  # POST events/{id}/unregister, then closes the session


async def events_until(client: OverkizClient, done: Callable[[list[Event]], bool], within: float = 8.0) -> list[Event]:
    """fetch_events until ``done(all events so far)``; every event seen is returned."""
    seen: list[Event] = []
    deadline = time.monotonic() + within
    while True:
        seen += await client.fetch_events()
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            names = [(e.name.value, ovk.exec_id(e), getattr(e, "new_state", None)) for e in seen]
            raise AssertionError(f"events never satisfied the condition within {within} s: {names}")
        await asyncio.sleep(0.05)


def final_event(events: list[Event], exec_id: str) -> Event | None:
    for e in events:
        if e.name is EventName.EXECUTION_STATE_CHANGED and ovk.exec_id(e) == exec_id and e.new_state in FINAL:
            return e
    return None


async def run_to_end(client: OverkizClient, exec_id: str, within: float = 8.0) -> tuple[Event, list[Event]]:
    events = await events_until(client, lambda seen: final_event(seen, exec_id) is not None, within)
    end = final_event(events, exec_id)
    assert end is not None
    return end, events


def state_changes(events: list[Event], device_url: str, name: str) -> list[Any]:
    """Values of state ``name`` of ``device_url`` in DeviceStateChangedEvents, in order."""
    return [
        s.value
        for e in events
        if e.name is EventName.DEVICE_STATE_CHANGED and ovk.device_url(e) == device_url
        for s in e.device_states
        if s.name == name
    ]


async def state_value(client: OverkizClient, device_url: str, name: str) -> Any:
    states = {s.name: s for s in await client.get_state(device_url)}
    assert name in states, f"{device_url} has no {name}: {sorted(states)}"
    return states[name].value


def walk(place: Place) -> list[Place]:
    return [place, *(p for sub in place.sub_places for p in walk(sub))]


def other_than(current: Any, *choices: int) -> int:
    return next(c for c in choices if c != current)


# ---------------------------------------------------------------------------------- reads


async def test_the_readme_way_of_using_pyoverkiz(hearth: HearthProcess, admin_token: str) -> None:
    """As the README shows it (README "Through the overkiz integration"), with a host name the certificate has."""
    host = f"localhost:{hearth.port}"
    if ovk.PYOVERKIZ_2:
        from pyoverkiz.auth.credentials import LocalTokenCredentials
        from pyoverkiz.utils import create_local_server_config

        async with OverkizClient(
            server=create_local_server_config(host=host),
            credentials=LocalTokenCredentials(token=admin_token),
            verify_ssl=False,
        ) as client:
            devices = await client.get_devices()
    else:
        from pyoverkiz.utils import generate_local_server

        async with OverkizClient(
            username="", password="", token=admin_token, verify_ssl=False, server=generate_local_server(host=host)
        ) as client:
            devices = await client.get_devices()
    assert {d.device_url for d in devices} >= {hearth.device_url(a) for a, *_ in DEMO_DEVICES}


async def test_api_version(overkiz: OverkizClient) -> None:
    version = await overkiz.get_api_version()
    assert version == PROTOCOL_VERSION


async def test_get_setup_devices_root_place_and_gateways(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    setup = await overkiz.get_setup(refresh=True)

    by_url = {d.device_url: d for d in setup.devices}
    for address, controllable, label, _room in DEMO_DEVICES:
        device = by_url.get(hearth.device_url(address))
        assert device is not None, f"demo device {address} missing from setup"
        assert device.controllable_name == controllable
        assert device.label == label

    light = by_url[hearth.device_url(LIGHT)]
    assert ovk.identifier(light) == (Protocol.UNKNOWN, hearth.gateway_id, LIGHT)  # "virtual": not a vendor radio
    assert light.type is ProductType.ACTUATOR
    assert light.ui_class is UIClass.LIGHT
    assert light.widget is UIWidget.DIMMER_LIGHT
    assert light.available and light.enabled
    assert "DimmerLight" in repr(light)  # repr needs widget and ui_class set
    commands = ovk.command_parameters(light.definition.commands)
    assert commands["setIntensity"] == 1 and commands["on"] == 0
    intensity = light.states["core:LightIntensityState"]
    assert intensity is not None and intensity.type is DataType.INTEGER
    level = intensity.value_as_int
    assert level is not None and 0 <= level <= 100

    assert setup.root_place is not None
    places = walk(setup.root_place)
    assert {"Ground floor", "First floor", "Garden"} <= {p.label for p in setup.root_place.sub_places}
    oids = {p.oid for p in places}
    assert len(oids) == len(places)
    rooms = {p.oid: p.label for p in places}
    for address, _c, _l, room in DEMO_DEVICES:
        device = by_url[hearth.device_url(address)]
        assert device.place_oid in oids, f"device {address} in unknown place {device.place_oid}"
        assert rooms[device.place_oid] == room

    assert [g.gateway_id for g in setup.gateways] == [hearth.gateway_id]
    assert setup.gateways[0].connectivity.protocol_version == PROTOCOL_VERSION


async def test_get_devices_and_device_states(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    devices = {d.device_url: d for d in await overkiz.get_devices(refresh=True)}
    assert len(devices) >= len(DEMO_DEVICES)
    shutter = devices[hearth.device_url(SHUTTER)]
    assert shutter.ui_class is UIClass.ROLLER_SHUTTER
    assert shutter.widget is UIWidget.POSITIONABLE_ROLLER_SHUTTER
    assert {"setClosure", "open", "close", "stop"} <= set(ovk.command_parameters(shutter.definition.commands))

    states = {s.name: s for s in await overkiz.get_state(hearth.device_url(SHUTTER))}
    assert {"core:ClosureState", "core:OpenClosedState", "core:MovingState"} <= set(states)
    closure = states["core:ClosureState"]
    assert closure.type is DataType.INTEGER
    position = closure.value_as_int
    assert position is not None and 0 <= position <= 100
    assert states["core:OpenClosedState"].type is DataType.STRING
    assert states["core:OpenClosedState"].value_as_str in ("open", "closed")
    assert states["core:MovingState"].type is DataType.BOOLEAN
    assert isinstance(states["core:MovingState"].value_as_bool, bool)

    lock_states = {s.name: s for s in await overkiz.get_state(hearth.device_url(LOCK))}
    assert lock_states["core:LockedUnlockedState"].value in ("locked", "unlocked")


async def test_get_places(overkiz: OverkizClient) -> None:
    root = await overkiz.get_places()
    assert isinstance(root, Place)
    assert root.oid and root.label
    places = walk(root)
    labels = {p.label for p in places}
    assert {"Ground floor", "First floor", "Garden"} <= {p.label for p in root.sub_places}
    assert {room for *_, room in DEMO_DEVICES} <= labels
    assert all(isinstance(p.type, int) and p.creation_time for p in places)


async def test_get_gateways(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    gateways = await overkiz.get_gateways(refresh=True)
    assert len(gateways) == 1
    gateway = gateways[0]
    assert gateway.gateway_id == hearth.gateway_id
    assert gateway.connectivity.status == "OK"
    assert gateway.connectivity.protocol_version == PROTOCOL_VERSION
    assert gateway.alive is True
    assert gateway.update_status is UpdateBoxStatus.UP_TO_DATE
    root = await overkiz.get_places()
    assert gateway.place_oid == root.oid


# ---------------------------------------------------------------------------------- commands


async def test_execute_command_completes_with_events(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    url = hearth.device_url(LIGHT)
    level = other_than(await state_value(overkiz, url, "core:LightIntensityState"), 37, 63)

    exec_id = await ovk.execute_command(overkiz, url, ovk.command("setIntensity", [level]), label="pyoverkiz dim")
    assert isinstance(exec_id, str) and exec_id

    def done(seen: list[Event]) -> bool:
        return final_event(seen, exec_id) is not None and level in state_changes(seen, url, "core:LightIntensityState")

    events = await events_until(overkiz, done)
    mine = [e for e in events if ovk.exec_id(e) == exec_id]
    assert mine[0].name is EventName.EXECUTION_REGISTERED, [e.name for e in mine]
    changes = [e for e in mine if e.name is EventName.EXECUTION_STATE_CHANGED]
    end = final_event(events, exec_id)
    assert end is not None and end.new_state is ExecutionState.COMPLETED
    assert end.old_state is not None and end.old_state not in FINAL
    assert changes[-1] is end
    assert all(e.timestamp for e in mine)

    state_event = next(
        e
        for e in events
        if e.name is EventName.DEVICE_STATE_CHANGED
        and ovk.device_url(e) == url
        and any(s.name == "core:LightIntensityState" for s in e.device_states)
    )
    reported = next(s for s in state_event.device_states if s.name == "core:LightIntensityState")
    assert reported.type is DataType.INTEGER
    assert reported.value == level

    assert await state_value(overkiz, url, "core:LightIntensityState") == level


async def test_execute_commands_with_null_parameters(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    url = hearth.device_url(LIGHT)
    off_id = await ovk.execute_command(overkiz, url, ovk.command("off"))
    await run_to_end(overkiz, off_id)
    level = other_than(await state_value(overkiz, url, "core:LightIntensityState"), 22, 81)
    # "on" with no parameters (1.x sends "parameters": null, 2.x leaves the key out).
    exec_id = await ovk.execute_commands(overkiz, url, [ovk.command("on"), ovk.command("setIntensity", [level])], "two")
    end, events = await run_to_end(overkiz, exec_id)
    assert end.new_state is ExecutionState.COMPLETED, end
    await events_until(overkiz, lambda seen: True)
    assert await state_value(overkiz, url, "core:OnOffState") == "on"
    assert await state_value(overkiz, url, "core:LightIntensityState") == level


async def test_current_executions_and_cancel(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    url = hearth.device_url(SHUTTER)
    start = await state_value(overkiz, url, "core:ClosureState")
    target = 100 if start < 50 else 0  # at least half the travel: >= 0.5 s
    exec_id = await ovk.execute_command(overkiz, url, ovk.command("setClosure", [target]), label="pyoverkiz move")

    current = {e.id: e for e in await overkiz.get_current_executions()}
    assert exec_id in current
    running = current[exec_id]
    assert running.state in {s.value for s in ExecutionState if s not in FINAL}
    assert running.owner
    assert running.description
    assert url in ovk.execution_device_urls(running)

    one = await overkiz.get_current_execution(exec_id)
    assert one is not None and one.id == exec_id

    # Let it start moving, then cancel: DELETE .../enduserAPI//exec/current/setup/{id} (double slash).
    await events_until(
        overkiz,
        lambda seen: any(
            e.name is EventName.EXECUTION_STATE_CHANGED
            and ovk.exec_id(e) == exec_id
            and e.new_state in (ExecutionState.IN_PROGRESS, ExecutionState.TRANSMITTED)
            for e in seen
        ),
        3,
    )
    await ovk.cancel_execution(overkiz, exec_id)

    end, events = await run_to_end(overkiz, exec_id, within=3)
    assert end.new_state is ExecutionState.FAILED
    assert end.failure_type_code is FailureType.CANCELLED
    assert ovk.failed_device_urls(end)[:1] == [url]

    assert exec_id not in {e.id for e in await overkiz.get_current_executions()}
    await asyncio.sleep(0.2)
    await overkiz.fetch_events()
    stopped = await state_value(overkiz, url, "core:ClosureState")
    assert stopped != target, "the shutter went all the way despite the cancel"
    assert await state_value(overkiz, url, "core:MovingState") is False

    history = {h.id: h for h in await overkiz.get_execution_history()}
    assert exec_id in history
    assert history[exec_id].state is ExecutionState.FAILED
    assert history[exec_id].commands[0].state is ExecutionState.FAILED
    assert history[exec_id].commands[0].failure_type == "CMDCANCELLED"


async def test_an_execution_not_running_is_none(
    overkiz: OverkizClient, hearth: HearthProcess, api: httpx.AsyncClient
) -> None:
    # The vendor's local gateway answers GET exec/current/{execId} for an id not running with 200 [] (pyoverkiz
    # records it; seed 003 documents only the running case); pyoverkiz 2.x returns None for it. 1.x has no such
    # case (it builds an Execution from any answer), so only the raw answer is checked there.
    exec_id = await ovk.execute_command(overkiz, hearth.device_url(LIGHT), ovk.command("identify"))
    end, _ = await run_to_end(overkiz, exec_id)
    assert end.new_state is ExecutionState.COMPLETED
    for gone in (exec_id, str(uuid.uuid4())):
        raw = await api.get(f"/exec/current/{gone}")
        assert (raw.status_code, raw.json()) == (200, []), raw.text
        if ovk.PYOVERKIZ_2:
            assert await overkiz.get_current_execution(gone) is None


async def test_cancel_unknown_execution(overkiz: OverkizClient) -> None:
    ghost = str(uuid.uuid4())
    with pytest.raises(BaseOverkizError) as refused:
        await ovk.cancel_execution(overkiz, ghost)
    assert ghost in str(refused.value)


async def test_bad_parameter_is_refused(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    url = hearth.device_url(SHUTTER)
    before = {e.id for e in await overkiz.get_current_executions()}
    with pytest.raises(BaseOverkizError) as refused:
        await ovk.execute_command(overkiz, url, ovk.command("setClosure", [150]))
    code, message = ovk.refusal(refused.value)
    assert code and "setClosure" in message and "150" in message, (code, message)

    for bad in (["half"], None):  # None: no parameters, one expected
        with pytest.raises(BaseOverkizError) as refused:
            await ovk.execute_command(overkiz, url, ovk.command("setClosure", bad))
        code, message = ovk.refusal(refused.value)
        assert code and "setClosure" in message, (code, message)
    assert {e.id for e in await overkiz.get_current_executions()} <= before


async def test_unknown_command_raises_invalid_command(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    with pytest.raises(InvalidCommandError) as refused:
        await ovk.execute_command(overkiz, hearth.device_url(LIGHT), ovk.command("fly", [1]))
    assert "fly" in str(refused.value)


async def test_unknown_device_is_refused(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    ghost = hearth.device_url("999")
    with pytest.raises(BaseOverkizError) as refused:
        await ovk.execute_command(overkiz, ghost, ovk.command("on"))
    code, message = ovk.refusal(refused.value)
    assert code == "NO_SUCH_DEVICE" and ghost in message, (code, message)
    with pytest.raises(BaseOverkizError):
        await overkiz.get_state(ghost)


async def test_sensitive_parameter_is_masked_in_history(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    url = hearth.device_url(LOCK)
    exec_id = await ovk.execute_command(overkiz, url, ovk.command("setCode", [4, "8642"]), label="pyoverkiz code")
    end, _ = await run_to_end(overkiz, exec_id)
    assert end.new_state is ExecutionState.COMPLETED
    history = {h.id: h for h in await overkiz.get_execution_history()}
    command = history[exec_id].commands[0]
    assert command.command == "setCode"
    assert command.parameters is not None and command.parameters[0] == 4
    assert "8642" not in str(command.parameters)


# ---------------------------------------------------------------------------------- scenarios


async def test_scenario_created_over_rest_then_run_by_pyoverkiz(
    overkiz: OverkizClient, api: httpx.AsyncClient, hearth: HearthProcess
) -> None:
    url = hearth.device_url(LIGHT)
    level = other_than(await state_value(overkiz, url, "core:LightIntensityState"), 44, 55)
    label = f"pyoverkiz scene {uuid.uuid4().hex[:8]}"
    response = await api.post(
        "/actionGroups",
        json={
            "label": label,
            "actions": [{"deviceURL": url, "commands": [{"name": "setIntensity", "parameters": [level]}]}],
        },
    )
    assert response.status_code in (200, 201), response.text
    oid = response.json()["actionGroupOID"]
    try:
        scenarios = {s.oid: s for s in await ovk.get_action_groups(overkiz)}
        assert oid in scenarios
        scenario = scenarios[oid]
        assert scenario.label == label and scenario.oid == oid
        assert scenario.creation_time
        assert len(scenario.actions) == 1
        action = scenario.actions[0]
        assert action.device_url == url
        assert [(c.name, c.parameters) for c in action.commands] == [("setIntensity", [level])]

        exec_id = await ovk.execute_action_group(overkiz, oid)
        end, events = await run_to_end(overkiz, exec_id)
        assert end.new_state is ExecutionState.COMPLETED
        await events_until(overkiz, lambda seen: True)
        assert await state_value(overkiz, url, "core:LightIntensityState") == level

        history = {h.id: h for h in await overkiz.get_execution_history()}
        assert history[exec_id].execution_sub_type is ExecutionSubType.ACTION_GROUP
        assert history[exec_id].label == label
    finally:
        await api.delete(f"/actionGroups/{oid}")
    assert oid not in {s.oid for s in await ovk.get_action_groups(overkiz)}


async def test_execute_unknown_scenario_is_refused(overkiz: OverkizClient) -> None:
    ghost = str(uuid.uuid4())
    with pytest.raises(BaseOverkizError) as refused:
        await ovk.execute_action_group(overkiz, ghost)
    assert ghost in str(refused.value)


# ---------------------------------------------------------------------------------- history


async def test_execution_history_contains_what_just_ran(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    url = hearth.device_url(LIGHT)
    level = other_than(await state_value(overkiz, url, "core:LightIntensityState"), 12, 88)
    ok_id = await ovk.execute_command(overkiz, url, ovk.command("setIntensity", [level]), label="pyoverkiz ok")
    on_id = await ovk.execute_command(overkiz, url, ovk.command("on"), label="pyoverkiz on")
    events = await events_until(overkiz, lambda seen: all(final_event(seen, i) for i in (ok_id, on_id)))
    for exec_id in (ok_id, on_id):
        end = final_event(events, exec_id)
        assert end is not None and end.new_state is ExecutionState.COMPLETED

    history = await overkiz.get_execution_history()
    by_id = {h.id: h for h in history}
    assert {ok_id, on_id} <= set(by_id)
    # Newest first.
    ids = [h.id for h in history]
    assert ids.index(on_id) < ids.index(ok_id)
    entry = by_id[ok_id]
    assert entry.state is ExecutionState.COMPLETED
    assert entry.label == "pyoverkiz ok"
    assert entry.execution_type is ExecutionType.IMMEDIATE_EXECUTION
    assert entry.execution_sub_type is ExecutionSubType.MANUAL_CONTROL
    assert entry.owner and entry.source
    assert entry.duration >= 0
    assert entry.end_time is not None and entry.end_time >= entry.event_time
    assert [(c.device_url, c.command, c.parameters, c.state) for c in entry.commands] == [
        (url, "setIntensity", [level], ExecutionState.COMPLETED)
    ]
    assert by_id[on_id].commands[0].command == "on"


# ---------------------------------------------------------------------------------- auth & listeners


async def test_bad_token_raises_not_authenticated(hearth: HearthProcess) -> None:
    # One call only: pyoverkiz retries once (GET, POST events/register, GET), and bad tokens count
    # towards the address ban.
    client = make_client(hearth, "not-a-real-token")
    try:
        with pytest.raises(NotAuthenticatedError):
            await client.get_setup()
    finally:
        await client.close()


async def test_lost_listener_is_re_registered(
    overkiz: OverkizClient, hearth: HearthProcess, api: httpx.AsyncClient
) -> None:
    # The gateway forgets the client's listener (unregistered by the same token behind pyoverkiz's back, as a
    # restart or an expiry would): "Invalid event listener id" on the next fetch makes pyoverkiz register anew.
    stale = overkiz.event_listener_id
    assert stale
    forgotten = await api.post(f"/events/{stale}/unregister")
    assert forgotten.status_code == 200, forgotten.text
    assert await overkiz.fetch_events() is not None
    assert overkiz.event_listener_id and overkiz.event_listener_id != stale
    # And the new listener works.
    exec_id = await ovk.execute_command(overkiz, hearth.device_url(LIGHT), ovk.command("identify"))
    end, _ = await run_to_end(overkiz, exec_id)
    assert end.new_state is ExecutionState.COMPLETED


# ---------------------------------------------------------------------------------- tokens and options


async def test_local_tokens_are_listed(overkiz: OverkizClient, hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    gateway = hearth.gateway_id
    generated = (await api.get(f"/config/{gateway}/local/tokens/generate")).json()["token"]
    label = f"pyoverkiz {uuid.uuid4().hex[:6]}"
    activated = await api.post(
        f"/config/{gateway}/local/tokens", json={"label": label, "token": generated, "scope": "devmode"}
    )
    assert activated.status_code == 200, activated.text
    tokens = await overkiz.get_local_tokens(gateway)
    mine = next(t for t in tokens if t.label == label)
    assert mine.uuid == activated.json()["requestId"]
    assert mine.gateway_id == gateway and mine.gateway_creation_time > 0
    assert mine.expiration_time is None  # Hearth's tokens last until revoked
    assert generated not in repr(tokens)
    await ovk.delete_local_token(overkiz, gateway, mine.uuid)
    assert label not in {t.label for t in await overkiz.get_local_tokens(gateway)}


async def test_setup_options_say_developer_mode_is_on(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    developer_mode = f"developerMode-{hearth.gateway_id}"
    options = await overkiz.get_setup_options()
    assert [o.option_id for o in options] == [developer_mode]
    assert options[0].creation_time > 0 and options[0].start_date == options[0].creation_time
    one = await overkiz.get_setup_option(developer_mode)
    assert one is not None and one.option_id == developer_mode
    assert [(p.name, p.value) for p in one.parameters or []] == [("gatewayId", hearth.gateway_id)]
    parameter = await overkiz.get_setup_option_parameter(developer_mode, "gatewayId")
    assert parameter is not None and parameter.value == hearth.gateway_id
    with pytest.raises(BaseOverkizError):
        await overkiz.get_setup_option("nightMode-0000")
    with pytest.raises(BaseOverkizError):
        await overkiz.get_setup_option_parameter(developer_mode, "colour")


# ------------------------------------------------------------------------------ heating, as Home Assistant drives it

RADIATOR = "22"  # zigbee:ThermostaticValveComponent
# What Home Assistant's overkiz climate entity for this widget reads (its ValveHeatingTemperatureInterface):
# the derogation modes it maps to presets (a value outside them is an error there), and the states it needs.
VALVE_DEROGATION_MODES = {"geofencingMode", "suddenDropMode", "away", "comfort", "eco", "frostprotection", "manual"}


async def test_a_radiator_valve_is_a_climate_device_pyoverkiz_can_drive(
    overkiz: OverkizClient, hearth: HearthProcess
) -> None:
    url = hearth.device_url(RADIATOR)
    device = next(d for d in await overkiz.get_devices(refresh=True) if d.device_url == url)
    assert device.ui_class is UIClass.HEATING_SYSTEM
    assert device.widget is UIWidget.VALVE_HEATING_TEMPERATURE_INTERFACE
    assert {"setDerogation", "setTargetTemperature"} <= set(ovk.command_parameters(device.definition.commands))
    low = device.states["core:MinSetpointState"]
    high = device.states["core:MaxSetpointState"]
    assert low is not None and high is not None and low.value_as_float == 5.0 and high.value_as_float == 30.0
    # Home Assistant sets a temperature with setDerogation(<temperature>, "further_notice"), a preset with the mode.
    exec_id = await ovk.execute_command(overkiz, url, ovk.command("setDerogation", [21.5, "further_notice"]))
    end, _ = await run_to_end(overkiz, exec_id)
    assert end.new_state is ExecutionState.COMPLETED, end
    await events_until(overkiz, lambda seen: True)
    assert await state_value(overkiz, url, "core:TargetTemperatureState") == 21.5
    assert await state_value(overkiz, url, "io:DerogationHeatingModeState") == "manual"
    exec_id = await ovk.execute_command(overkiz, url, ovk.command("setDerogation", ["eco", "further_notice"]))
    end, _ = await run_to_end(overkiz, exec_id)
    assert end.new_state is ExecutionState.COMPLETED, end
    await events_until(overkiz, lambda seen: True)
    assert await state_value(overkiz, url, "io:DerogationHeatingModeState") == "eco"
    assert await state_value(overkiz, url, "core:TargetTemperatureState") == 17.0
    assert await state_value(overkiz, url, "io:DerogationHeatingModeState") in VALVE_DEROGATION_MODES
    assert await state_value(overkiz, url, "core:OpenClosedValveState") in ("open", "closed")
    for bad in ([45, "further_notice"], ["sauna", "further_notice"], [20, "tomorrow"]):
        with pytest.raises(BaseOverkizError) as refused:
            await ovk.execute_command(overkiz, url, ovk.command("setDerogation", bad))
        code, message = ovk.refusal(refused.value)
        assert code and "setDerogation" in message, (code, message)
    # The Z-Wave thermostat is the same kind of climate device to Home Assistant.
    thermostat = hearth.device_url("8")
    zwave = next(d for d in await overkiz.get_devices() if d.device_url == thermostat)
    assert (zwave.ui_class, zwave.widget) == (UIClass.HEATING_SYSTEM, UIWidget.VALVE_HEATING_TEMPERATURE_INTERFACE)
    exec_id = await ovk.execute_command(overkiz, thermostat, ovk.command("setDerogation", [19.5, "further_notice"]))
    end, _ = await run_to_end(overkiz, exec_id)
    assert end.new_state is ExecutionState.COMPLETED, end
    await events_until(overkiz, lambda seen: True)
    assert await state_value(overkiz, thermostat, "core:TargetTemperatureState") == 19.5
    assert await state_value(overkiz, thermostat, "io:DerogationHeatingModeState") in VALVE_DEROGATION_MODES
    # Each measured state carries its own unit: the battery is no temperature.
    units = ovk.attributes(device)
    assert units.get("core:TemperatureStateMeasuredValueType") == "core:TemperatureInCelcius"
    assert units.get("core:BatteryLevelStateMeasuredValueType") == "core:RelativeValueInPercentage"
    assert "core:MeasuredValueType" not in units


GARAGE = "17"  # zwave:GarageDoorZWaveComponent: open/closed, no position


async def test_the_garage_door_takes_its_travel_time_both_ways(overkiz: OverkizClient, hearth: HearthProcess) -> None:
    url = hearth.device_url(GARAGE)
    took: dict[str, float] = {}
    for command in ("open", "close", "open", "close"):
        start = time.monotonic()
        exec_id = await ovk.execute_command(overkiz, url, ovk.command(command))
        end, _ = await run_to_end(overkiz, exec_id)
        assert end.new_state is ExecutionState.COMPLETED, end
        took[command] = time.monotonic() - start
        await events_until(overkiz, lambda seen: True)
        assert await state_value(overkiz, url, "core:OpenClosedUnknownState") == (
            "open" if command == "open" else "closed"
        )
    # The tests' travel time is 1 s: each way takes about that (closing took 1 ms before).
    assert took["open"] > 0.7 and took["close"] > 0.7, took
