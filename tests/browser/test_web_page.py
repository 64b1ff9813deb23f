"""The gateway's web page, used as a person would: log in, switch a light, run an action group, create a trigger,
add an RTS device, make and revoke a token. Every effect is checked in the API (and on the air for RTS), and the
page must show what the gateway says, live. Screenshots land in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.browser.conftest import log_in, playwright_api
from tests.conftest import wait_for
from tests.integration.test_rts import frames_of
from tests.peers.rts import CulEmulator
from tests.peers.rts import rts_frame as rf
from tests.support.process import HearthProcess

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]
expect = playwright_api.expect
PHONE = {"width": 390, "height": 844}


async def state(api: httpx.AsyncClient, url: str, name: str) -> Any:
    return (await api.get(f"/setup/devices/{quote(url, safe='')}/states/{name}")).json()["value"]


async def apply(api: httpx.AsyncClient, url: str, command: str, *parameters: Any) -> None:
    response = await api.post(
        "/exec/apply",
        json={
            "label": command,
            "actions": [{"deviceURL": url, "commands": [{"name": command, "parameters": list(parameters)}]}],
        },
    )
    assert response.status_code == 200, response.text


async def make_token(api: httpx.AsyncClient, gateway: HearthProcess, scope: str, label: str) -> str:
    base = f"/config/{gateway.gateway_id}/local/tokens"
    value: str = (await api.get(f"{base}/generate")).json()["token"]
    assert (await api.post(base, json={"token": value, "scope": scope, "label": label})).status_code == 200
    return value


async def test_the_page_and_its_modules_are_served_with_their_types_and_nothing_else(gateway: HearthProcess) -> None:
    async with httpx.AsyncClient(base_url=gateway.root_url, verify=False) as http:
        page = await http.get("/")
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        modules = re.findall(r'src="/static/([a-z]+\.js)"', page.text)
        assert modules == ["main.js"]
        main = await http.get("/static/main.js")
        assert main.headers["content-type"].startswith("text/javascript")
        for imported in re.findall(r'from "\./([a-z]+\.js)"', main.text):
            assert (await http.get(f"/static/{imported}")).status_code == 200, imported
        assert (await http.get("/static/app.css")).headers["content-type"].startswith("text/css")
        for missing in ("/static/nothing.js", "/static/..%2Fapp.py", "/static/%2e%2e/app.py"):
            response = await http.get(missing)
            assert response.status_code == 404 and response.json()["errorCode"] == "UNKNOWN_OBJECT", missing


async def test_login_keeps_the_token_until_log_out_and_a_revoked_token_brings_the_login_back(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    await page.goto(gateway.root_url + "/")
    await page.get_by_label("Access token").fill("hth_not-a-token-of-this-gateway")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#login-reason")).to_contain_text("Not authenticated")

    await log_in(page, gateway, token)
    await expect(page.get_by_role("region", name="Kitchen")).to_be_visible()
    await page.reload()  # the token stays in the browser
    await expect(page.get_by_role("article", name="Kitchen light")).to_be_visible()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_label("Access token")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('hearth.token')") is None

    # A token revoked while in use: the next answer is a 401, and the login comes back saying why.
    doomed = await make_token(api, gateway, "view", "doomed tablet")
    await log_in(page, gateway, doomed)
    listed = (await api.get(f"/config/{gateway.gateway_id}/local/tokens/devmode")).json()
    [uuid] = [t["uuid"] for t in listed if t["label"] == "doomed tablet"]
    assert (await api.delete(f"/config/{gateway.gateway_id}/local/tokens/{uuid}")).status_code == 204
    await page.get_by_role("link", name="Action groups").click()
    await expect(page.locator("#login-reason")).to_contain_text("Not authenticated")
    assert await page.evaluate("localStorage.getItem('hearth.token')") is None


async def test_switching_a_light_changes_its_state_and_outside_changes_show_live(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    light = gateway.device_url("10")  # Kitchen light, zigbee:OnOffLightComponent
    await apply(api, light, "off")
    await log_in(page, gateway, token)
    switch = page.get_by_role("article", name="Kitchen light").get_by_role("switch", name="On/off")
    await expect(switch).to_have_attribute("aria-checked", "false")
    await switch.click()
    await expect(switch).to_have_attribute("aria-checked", "true")
    assert await state(api, light, "core:OnOffState") == "on"

    await apply(api, light, "off")  # someone else switches it: the event stream tells the page
    await expect(switch).to_have_attribute("aria-checked", "false")
    card = page.get_by_role("article", name="Hall light")
    await card.get_by_label("Brightness").fill("70")  # a range input: "change" sends setIntensity
    await wait_for(lambda: _equals(api, gateway.device_url("16"), "core:LightIntensityState", 70), timeout=5)
    await expect(card.locator("[data-state='core:LightIntensityState']")).to_have_text("70")
    # A label is shown as text, whatever it holds (names come from radios and from other users).
    hostile = "<img src=x onerror=window.pwned=1>Garage light"
    renamed = await api.put(f"/setup/devices/{quote(gateway.device_url('19'), safe='')}/{quote(hostile, safe='')}")
    assert renamed.status_code == 200, renamed.text
    await expect(page.get_by_role("article", name=hostile).locator(".name")).to_have_text(hostile)
    assert await page.evaluate("window.pwned === undefined && !document.querySelector('#view img')")
    # One-way RTS devices are shown with assumed states.
    await expect(page.get_by_role("article", name="Living room shutter (RTS)").get_by_text("assumed")).to_be_visible()


async def _equals(api: httpx.AsyncClient, url: str, name: str, value: Any) -> bool:
    return bool(await state(api, url, name) == value)


async def test_an_action_group_made_on_the_page_runs_to_completed(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    hall = gateway.device_url("16")
    await apply(api, hall, "off")
    await log_in(page, gateway, token)
    await page.get_by_role("link", name="Action groups").click()
    await page.get_by_role("button", name="New action group").click()
    editor = page.get_by_role("form", name="Action group editor")
    await editor.get_by_label("Name").fill("Evening lights")
    await editor.get_by_label("Device", exact=True).select_option(label="Hall light (Hall)")
    await editor.get_by_label("Command", exact=True).select_option("on")
    await editor.get_by_role("button", name="Add a command").click()
    await editor.get_by_label("Command", exact=True).nth(1).select_option("setIntensity")
    await editor.get_by_label("intensity").fill("500")
    await editor.get_by_role("button", name="Save").click()
    await expect(editor.get_by_role("alert")).to_contain_text("intensity must be between 0 and 100")
    await editor.get_by_label("intensity").fill("30")
    await editor.get_by_label("Delay (s)").nth(1).fill("1")
    await editor.get_by_role("button", name="Save").click()

    card = page.get_by_role("article", name="Evening lights")
    await expect(card).to_be_visible()
    [group] = [g for g in (await api.get("/actionGroups")).json() if g["label"] == "Evening lights"]
    assert group["actions"] == [
        {
            "deviceURL": hall,
            "commands": [{"name": "on", "parameters": []}, {"name": "setIntensity", "parameters": [30], "delay": 1}],
        }
    ]

    await card.get_by_role("button", name="Run").click()
    item = {"role": "listitem", "name": "Execution Evening lights"}
    running = page.get_by_role("list", name="Running executions").get_by_role(**item)
    await expect(running).to_have_attribute("data-state", "COMPLETED")  # followed state by state from the events
    past = page.get_by_role("list", name="Execution history").get_by_role(**item)
    await expect(past.first).to_have_attribute("data-state", "COMPLETED")
    history = (await api.get("/history/executions")).json()
    assert [e["state"] for e in history if e["label"] == "Evening lights"] == ["COMPLETED"]
    assert await state(api, hall, "core:LightIntensityState") == 30

    # A run an hour from now: scheduled on the gateway, listed, and cancelled from the page.
    when = (datetime.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    await card.get_by_label("When to run Evening lights").fill(when.strftime("%Y-%m-%dT%H:%M"))
    await card.get_by_role("button", name="Schedule").click()
    [scheduled] = await wait_for(lambda: _scheduled(api, group["oid"]), timeout=5)
    assert scheduled["utcTime"] == int(when.timestamp() * 1000)
    runs = page.get_by_role("list", name="Scheduled runs")
    await runs.get_by_role("button", name="Cancel").click()
    await expect(runs).to_contain_text("No scheduled runs.")
    assert (await api.get("/exec/schedule")).json() == []


async def _scheduled(api: httpx.AsyncClient, oid: str) -> list[dict[str, Any]]:
    return list((await api.get(f"/exec/schedule/{oid}")).json())


async def test_a_trigger_made_on_the_page_exists_fires_and_can_be_disabled(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    door, light = gateway.device_url("15"), gateway.device_url("10")
    await api.put(f"/setup/devices/{quote(door, safe='')}/states/core:ContactState/3/closed")
    await apply(api, light, "off")
    created = await api.post(
        "/actionGroups", json={"label": "Kitchen on", "actions": [{"deviceURL": light, "commands": [{"name": "on"}]}]}
    )
    assert created.status_code == 201
    await log_in(page, gateway, token)
    await page.get_by_role("link", name="Automation").click()
    await page.get_by_role("button", name="New trigger").click()
    editor = page.get_by_role("form", name="Trigger editor")
    await editor.get_by_label("Name").fill("Door opens")
    await editor.get_by_label("Device", exact=True).select_option(label="Front door contact (Hall)")
    await editor.get_by_label("State").select_option("core:ContactState")
    await editor.get_by_label("Operator").select_option("EQUALS")
    await editor.get_by_label("Value").select_option("open")
    await editor.get_by_label("Then run the action group").select_option(label="Kitchen on")
    await editor.get_by_role("button", name="Save").click()

    card = page.get_by_role("article", name="Door opens")
    await expect(card.get_by_role("switch", name="Enabled")).to_have_attribute("aria-checked", "true")
    [trigger] = [
        t["ifThenSetupTrigger"]
        for t in (await api.get("/triggers")).json()
        if t.get("ifThenSetupTrigger", {}).get("label") == "Door opens"
    ]
    assert trigger["rootConditionBlock"]["staticDeviceStateCondition"]["deviceURL"] == door
    assert trigger["mode"] == 1

    await api.put(f"/setup/devices/{quote(door, safe='')}/states/core:ContactState/3/open")
    await expect(card.locator("[data-role='status']")).to_have_text("Holds now")
    await wait_for(lambda: _equals(api, light, "core:OnOffState", "on"), timeout=5)

    # The API's refusal is shown in words, and nothing changes.
    await card.get_by_role("button", name="Edit").click()
    await page.get_by_role("button", name="Edit as JSON").click()
    json_editor = page.get_by_role("form", name="JSON editor")
    text = await json_editor.get_by_label("Definition").input_value()
    await json_editor.get_by_label("Definition").fill(text.replace('"EQUALS"', '"SOMETIMES"'))
    await json_editor.get_by_role("button", name="Save").click()
    await expect(json_editor.get_by_role("alert")).to_contain_text("INVALID_FIELD_VALUE")
    await expect(json_editor.get_by_role("alert")).to_contain_text("operator")
    await json_editor.get_by_role("button", name="Cancel").click()

    await card.get_by_role("switch", name="Enabled").click()
    await expect(card.get_by_role("switch", name="Enabled")).to_have_attribute("aria-checked", "false")
    stored = (await api.get(f"/triggers/ifThenSetupTrigger/{trigger['oid']}")).json()["ifThenSetupTrigger"]
    assert stored["mode"] == 2
    assert stored["rootConditionBlock"]["staticDeviceStateCondition"]["operator"] == "EQUALS"


async def test_a_condition_group_made_on_the_page_shows_whether_it_holds(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    thermometer = gateway.device_url("5")  # Living room temperature
    await api.put(f"/setup/devices/{quote(thermometer, safe='')}/states/core:TemperatureState/2/20.0")
    await log_in(page, gateway, token)
    await page.get_by_role("link", name="Automation").click()
    await page.get_by_role("button", name="New condition group").click()
    editor = page.get_by_role("form", name="Condition group editor")
    await editor.get_by_label("Name").fill("Warm living room")
    await editor.get_by_label("Device", exact=True).select_option(label="Living room temperature (Living room)")
    await editor.get_by_label("State").select_option("core:TemperatureState")
    await editor.get_by_label("Operator").select_option("GREATER_THAN")
    await editor.get_by_label("Value").fill("25")
    await editor.get_by_role("button", name="Save").click()

    card = page.get_by_role("article", name="Warm living room")
    await expect(card.locator("[data-role='status']")).to_have_text(
        "Does not hold now (because of Living room temperature)"
    )
    [group] = [g for g in (await api.get("/conditionGroups")).json() if g["label"] == "Warm living room"]
    assert group["conditions"] == [
        {
            "device": {
                "deviceURL": thermometer,
                "stateName": "core:TemperatureState",
                "operator": "GREATER_THAN",
                "value": "25",
            }
        }
    ]
    await api.put(f"/setup/devices/{quote(thermometer, safe='')}/states/core:TemperatureState/2/27.5")
    await expect(card.locator("[data-role='status']")).to_have_text("Holds now")
    evaluated = (await api.get(f"/conditionGroups/{group['oid']}/evaluate")).json()
    assert evaluated["evaluationStatus"] == "SUCCESS"


async def test_an_rts_remote_is_added_and_its_prog_goes_on_air(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient, cul: CulEmulator
) -> None:
    await log_in(page, gateway, token)
    await page.get_by_role("link", name="Pairing").click()
    # No Z-Wave or Zigbee radio here: the page says so, and the API's refusal is shown in words.
    zwave = page.get_by_role("region", name="Z-Wave")
    await expect(zwave).to_contain_text("No Z-Wave radio is enabled on this gateway")
    await zwave.get_by_role("button", name="Include a device").click()
    await expect(zwave.get_by_role("status").first).to_have_text(
        "The Z-Wave driver is not enabled on this gateway (UNSUPPORTED_OPERATION)"
    )
    zigbee = page.get_by_role("region", name="Zigbee")
    # Without a Zigbee radio, Permit join cannot be pressed, and the page says why; the duration is checked as typed.
    await expect(zigbee.get_by_role("button", name="Permit join")).to_be_disabled()
    await expect(zigbee).to_contain_text("No Zigbee radio is enabled on this gateway")
    await zigbee.get_by_label("Permit join for (s)").fill("300")
    await expect(zigbee.get_by_role("status").first).to_have_text("The duration is 1 to 254 seconds.")

    rts = page.get_by_role("region", name="RTS")
    await expect(rts.get_by_text("No RTS radio")).to_have_count(0)
    await rts.get_by_label("Name").fill("Study blind")
    await rts.get_by_label("Kind").select_option(label="Roller shutter")
    await rts.get_by_role("button", name="Add the remote").click()
    await expect(rts.get_by_role("status").first).to_have_text("Added “Study blind”.")

    devices = (await api.get("/setup/devices")).json()
    [device] = [d for d in devices if d["label"] == "Study blind"]
    assert device["deviceURL"].startswith("rts://") and device["controllableName"] == "rts:RollerShutterRTSComponent"
    address = int(next(a["value"] for a in device["attributes"] if a["name"] == "rts:RemoteAddress"), 16)
    assert frames_of(cul, address) == []

    prog = page.get_by_role("region", name="PROG step")
    await prog.get_by_role("button", name="Send PROG").click()
    await expect(prog.get_by_role("status")).to_contain_text("PROG sent")
    assert [f.command for f in frames_of(cul, address)] == [rf.PROG]
    await page.get_by_role("link", name="Home").click()
    await expect(page.get_by_role("article", name="Study blind").get_by_text("assumed")).to_be_visible()


async def test_system_shows_the_radios_makes_and_revokes_a_token_and_backs_up(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    await log_in(page, gateway, token)
    await page.get_by_role("link", name="System").click()
    radios = page.get_by_role("region", name="Gateway, radios and cloud")
    await expect(radios.get_by_role("row").filter(has_text="rts")).to_contain_text("running")
    await expect(radios).to_contain_text(gateway.gateway_id)

    tokens = page.get_by_role("region", name="Access tokens")
    await tokens.get_by_label("Label").fill("Kitchen tablet")
    await tokens.get_by_label("Scope").select_option("view")
    await tokens.get_by_role("button", name="Make a token").click()
    secret = tokens.locator(".secret")
    await expect(secret).to_have_text(re.compile(r"^\S{20,}$"))
    made = (await secret.text_content() or "").strip()
    listed = (await api.get(f"/config/{gateway.gateway_id}/local/tokens/devmode")).json()
    assert [t["scope"] for t in listed if t["label"] == "Kitchen tablet"] == ["view"]
    async with httpx.AsyncClient(base_url=gateway.base_url, verify=False) as tablet:
        assert (await tablet.get("/setup/gateways", headers={"Authorization": f"Bearer {made}"})).status_code == 200
        await tokens.get_by_role("button", name="Revoke Kitchen tablet").click()
        await expect(tokens.get_by_role("button", name="Revoke Kitchen tablet")).to_have_count(0)
        assert (await tablet.get("/setup/gateways", headers={"Authorization": f"Bearer {made}"})).status_code == 401

    # A backup downloaded from the page is accepted back by the restore, which says a restart applies it.
    backup = page.get_by_role("region", name="Backup")
    async with page.expect_download() as downloading:
        await backup.get_by_role("button", name="Download a backup").click()
    archive = tmp_path / (await downloading.value).suggested_filename
    await (await downloading.value).save_as(archive)
    assert archive.stat().st_size > 0
    await backup.get_by_label("Backup file").set_input_files(archive)
    await backup.get_by_role("button", name="Restore").click()
    await expect(backup.get_by_role("status")).to_contain_text(f"Backup of gateway {gateway.gateway_id}")
    await expect(backup.get_by_role("status")).to_contain_text("restart the gateway to apply it")


@pytest.mark.parametrize("page", [PHONE], indirect=True)
async def test_on_a_phone_the_home_fits_the_screen_and_works(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    plug = gateway.device_url("9")  # Coffee machine plug
    await apply(api, plug, "off")
    await log_in(page, gateway, token)
    switch = page.get_by_role("article", name="Coffee machine plug").get_by_role("switch", name="On/off")
    await switch.click()
    await expect(switch).to_have_attribute("aria-checked", "true")
    assert await state(api, plug, "core:OnOffState") == "on"
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
