"""The page as people expect a home dashboard: values in their words and units, a device page (states, history
chart, health, executions, rename, move, delete), search, filters and folding rooms, errors that say what to do,
every trigger kind without JSON, the backup passphrase shown once, /docs offline, every view on a phone.

Each test checks the effect in the API (or on disk) as well as on the page. Screenshots of every view, on a
desktop and on a phone, land in ``test-artifacts/screenshots/`` (``desktop-<view>.png``, ``phone-<view>.png``).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import pytest

from tests.browser.conftest import DESKTOP, SCREENSHOTS, log_in, playwright_api
from tests.conftest import wait_for
from tests.support.process import REPO, HearthProcess

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]
expect = playwright_api.expect
PHONE = {"width": 390, "height": 844}
VIEWS = ["home", "groups", "automation", "pairing", "system"]


# The Device State History routes (seed 003) are built on another branch. Remove this mark once they are merged:
# the test below then runs against the gateway's own history.
def enc(url: str) -> str:
    return quote(url, safe="")


async def url_of(api: httpx.AsyncClient, label: str) -> str:
    [url] = [d["deviceURL"] for d in (await api.get("/setup/devices")).json() if d["label"] == label]
    return str(url)


async def state(api: httpx.AsyncClient, url: str, name: str) -> Any:
    return (await api.get(f"/setup/devices/{enc(url)}/states/{name}")).json()["value"]


async def put_state(api: httpx.AsyncClient, url: str, name: str, kind: int, value: Any) -> None:
    response = await api.put(f"/setup/devices/{enc(url)}/states/{name}/{kind}/{value}")
    assert response.status_code == 200, response.text


async def apply(api: httpx.AsyncClient, url: str, command: str, *parameters: Any) -> None:
    response = await api.post(
        "/exec/apply",
        json={
            "label": command,
            "actions": [{"deviceURL": url, "commands": [{"name": command, "parameters": list(parameters)}]}],
        },
    )
    assert response.status_code == 200, response.text


async def history_routes_present(api: httpx.AsyncClient, url: str) -> bool:
    """Whether this gateway has the seed's history routes: a missing route answers 404 'Unknown object'."""
    response = await api.get(f"/setup/devices/{enc(url)}/states/core:TemperatureState/history/0/1")
    return not (response.status_code == 404 and response.json().get("error") == "Unknown object")


# ---------------------------------------------------------------------------------------------- backup


async def test_the_first_backup_shows_its_passphrase_once_and_it_opens_the_archive_on_another_box(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    assert (await api.get("/ext/backups")).json()["passphraseSet"] is False
    await log_in(page, gateway, token)
    await page.get_by_role("link", name="System").click()
    backup = page.get_by_role("region", name="Backup")
    async with page.expect_download() as downloading:
        await backup.get_by_role("button", name="Download a backup").click()
    archive = tmp_path / (await downloading.value).suggested_filename
    await (await downloading.value).save_as(archive)

    shown = backup.locator("[data-role='passphrase']")
    await expect(shown).to_have_text(re.compile(r"^[a-z2-9]{4}(-[a-z2-9]{4}){5}$"))
    passphrase = (await shown.text_content() or "").strip()
    await expect(backup).to_contain_text("Write it down or keep it in a password manager")
    await expect(backup).to_contain_text("cannot be restored on another box")
    info = (await api.get("/ext/backups")).json()
    assert info["passphraseSet"] is True
    stored = await asyncio.to_thread(Path(info["passphraseFile"]).read_text)
    assert stored.strip() == passphrase  # the one the box seals with

    # Shown once: asking again is refused, and the page's own next backup shows nothing more.
    again = await api.post("/ext/backup/passphrase", json={})
    assert again.status_code == 409 and "already set" in again.json()["error"]
    await backup.get_by_role("button", name="I have kept it").click()
    await expect(shown).to_have_count(0)

    # Another box: only the archive and the passphrase the person kept.
    kept = tmp_path / "kept-passphrase"
    kept.write_text(passphrase + "\n")
    kept.chmod(0o600)
    other = {"HEARTH_STORE__DATA_DIR": str(tmp_path / "other-box")}
    checked = _hearth("restore", "--check", str(archive), "--passphrase-file", str(kept), env=other)
    assert checked.returncode == 0 and "a whole, authentic backup of gateway" in checked.stdout, checked.stderr
    kept.write_text("not-the-passphrase-at-all\n")
    refused = _hearth("restore", "--check", str(archive), "--passphrase-file", str(kept), env=other)
    assert refused.returncode != 0


def _hearth(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    full = dict(os.environ)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args, "--config", str(REPO / "config" / "demo.toml")],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_passphrase_of_ones_own_is_refused_when_short(api: httpx.AsyncClient) -> None:
    short = await api.post("/ext/backup/passphrase", json={"passphrase": "short"})
    assert short.status_code in (400, 409), short.text  # 409 once one exists: never replaced


# ---------------------------------------------------------------------------------------------- cards


async def test_cards_read_as_a_person_reads_them(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    motion, thermometer = await url_of(api, "Living room motion"), await url_of(api, "Living room temperature")
    cover, lamp = await url_of(api, "Kids room shutter"), await url_of(api, "Living room lamp")
    await put_state(api, motion, "core:OccupancyState", 3, "noPersonInside")
    await put_state(api, thermometer, "core:TemperatureState", 2, "21.5")
    await apply(api, cover, "setClosure", 30)  # closed 30 %: open 70 %
    await wait_for(lambda: _equals(api, cover, "core:ClosureState", 30), timeout=10)
    await log_in(page, gateway, token)

    card = page.get_by_role("article", name="Living room motion")
    await expect(card.locator("[data-state='core:OccupancyState']")).to_have_text("Clear")
    await expect(card).to_contain_text("Motion")
    await expect(card).not_to_contain_text("noPersonInside")
    await put_state(api, motion, "core:OccupancyState", 3, "personInside")
    await expect(card.locator("[data-state='core:OccupancyState']")).to_have_text("Detected")

    temperature = page.get_by_role("article", name="Living room temperature")
    await expect(
        temperature.locator("dd").filter(has=page.locator("[data-state='core:TemperatureState']"))
    ).to_have_text("21.5 °C")
    assert await temperature.locator("svg.icon").count() == 1

    shutter = page.get_by_role("article", name="Kids room shutter")
    await expect(shutter.locator("[data-state='core:ClosureState']")).to_have_text("70")
    await expect(shutter.get_by_text("Open", exact=True).first).to_be_visible()
    assert await shutter.get_by_label(re.compile("^Open")).input_value() == "70"
    await expect(shutter).not_to_contain_text("closed %")
    # Open 100 % from the slider: setClosure(0) on the air, as the API sees it.
    await shutter.get_by_label(re.compile("^Open")).fill("100")
    await wait_for(lambda: _equals(api, cover, "core:ClosureState", 0), timeout=10)

    colour = page.get_by_role("article", name="Living room lamp")
    await expect(colour.locator("[data-colour]")).to_have_count(1)
    await expect(colour).not_to_contain_text("Red color intensity")
    await expect(colour).not_to_contain_text("Color hue")
    assert lamp


async def _equals(api: httpx.AsyncClient, url: str, name: str, value: Any) -> bool:
    return bool(await state(api, url, name) == value)


async def test_a_setpoint_out_of_range_is_refused_with_its_reason_and_nothing_is_sent(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    heating = await url_of(api, "Living room heating")
    before = await state(api, heating, "core:TargetTemperatureState")
    executions = len((await api.get("/history/executions")).json())
    await log_in(page, gateway, token)
    card = page.get_by_role("article", name="Living room heating")
    await card.get_by_label("Setpoint (°C)").fill("45")
    await card.get_by_label("Setpoint (°C)").press("Enter")
    await card.get_by_label("Setpoint (°C)").blur()
    await expect(card.get_by_role("alert")).to_have_text("45 °C is not sent: this thermostat takes 5 to 30 °C.")
    assert await state(api, heating, "core:TargetTemperatureState") == before
    assert len((await api.get("/history/executions")).json()) == executions
    await card.get_by_label("Setpoint (°C)").fill("21.5")
    await card.get_by_label("Setpoint (°C)").blur()
    await expect(card.get_by_role("alert")).to_have_text("")
    await wait_for(lambda: _equals(api, heating, "core:TargetTemperatureState", 21.5), timeout=10)


async def test_a_wrong_token_at_login_says_so_plainly(page: Any, gateway: HearthProcess) -> None:
    await page.goto(gateway.root_url + "/")
    await page.get_by_label("Access token").fill("hth_not-a-token-of-this-gateway-at-all")
    await page.get_by_role("button", name="Log in").click()
    reason = page.locator("#login-reason")
    await expect(reason).to_contain_text("Wrong token: this gateway does not know it")
    await expect(reason).to_contain_text("hearth token create")
    await expect(reason).not_to_contain_text("Logged out")


async def test_search_filter_and_rooms_that_fold(page: Any, gateway: HearthProcess, token: str) -> None:
    await log_in(page, gateway, token)
    search = page.get_by_label("Search devices")
    await search.fill("kitchen")
    await expect(page.get_by_role("article", name="Kitchen light")).to_be_visible()
    await expect(page.get_by_role("article", name="Hall light")).to_have_count(0)
    await search.fill("hall")  # a room's name finds its devices
    await expect(page.get_by_role("article", name="Front door lock")).to_be_visible()
    await search.fill("nothing like this")
    await expect(page.get_by_text("No device matches the search.")).to_be_visible()
    await search.fill("")

    await page.get_by_label("Show").select_option(label="Covers")
    await expect(page.get_by_role("article", name="Kids room shutter")).to_be_visible()
    await expect(page.get_by_role("article", name="Kitchen light")).to_have_count(0)
    await page.get_by_label("Show").select_option(label="All devices")

    kitchen = page.get_by_role("region", name="Kitchen")
    await kitchen.get_by_role("button", name=re.compile("Kitchen: fold")).click()
    await expect(page.get_by_role("article", name="Kitchen light")).to_have_count(0)
    await expect(kitchen.get_by_role("button", name=re.compile("Kitchen: unfold"))).to_have_attribute(
        "aria-expanded", "false"
    )
    await page.reload()  # remembered in this browser
    await expect(page.get_by_role("article", name="Hall light")).to_be_visible()
    await expect(page.get_by_role("article", name="Kitchen light")).to_have_count(0)
    await page.get_by_role("region", name="Kitchen").get_by_role("button", name=re.compile("unfold")).click()
    await expect(page.get_by_role("article", name="Kitchen light")).to_be_visible()


# ---------------------------------------------------------------------------------------------- device page


async def test_a_device_page_shows_its_health_runs_renames_moves_and_deletes(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    light = await url_of(api, "Bedroom light")
    await apply(api, light, "off")
    await log_in(page, gateway, token)
    card = page.get_by_role("article", name="Bedroom light")
    await card.get_by_role("link", name="Bedroom light").click()
    await expect(page).to_have_url(re.compile(r"#device/"))
    await expect(page.get_by_role("heading", name="Bedroom light", level=2)).to_be_visible()

    health = page.get_by_role("region", name="Device health")
    for words in ("Battery", "Signal (link quality)", "Model", "Firmware", "Protocol"):
        await expect(health).to_contain_text(words)
    await expect(health).not_to_contain_text("atency")

    panel = page.get_by_role("region", name="State")
    await panel.get_by_role("switch", name="On/off").click()
    await wait_for(lambda: _equals(api, light, "core:OnOffState", "on"), timeout=10)
    executions = page.get_by_role("region", name="Recent executions")
    await expect(executions.get_by_role("listitem").first).to_contain_text("Switch on")

    manage = page.get_by_role("region", name="Manage")
    await manage.get_by_label("Name", exact=True).fill("Bedroom ceiling")
    await manage.get_by_role("button", name="Rename").click()
    await expect(manage.get_by_role("status")).to_have_text("Renamed “Bedroom ceiling”.")
    assert (await api.get(f"/setup/devices/{enc(light)}")).json()["label"] == "Bedroom ceiling"
    await expect(page.get_by_role("heading", name="Bedroom ceiling", level=2)).to_be_visible()

    places = (await api.get("/setup/places")).json()
    [kitchen] = [
        p["oid"] for floor in places["subPlaces"] for p in floor.get("subPlaces", []) if p["label"] == "Kitchen"
    ]
    manage = page.get_by_role("region", name="Manage")
    await manage.get_by_label("Room", exact=True).select_option(label="Ground floor › Kitchen")
    await manage.get_by_role("button", name="Move").click()
    await wait_for(lambda: _placed(api, light, kitchen), timeout=5)
    await expect(page.locator(".device-title")).to_contain_text("Ground floor › Kitchen")

    plug = await url_of(api, "Towel warmer plug")
    await page.goto(gateway.root_url + f"/#device/{enc(plug)}")
    await expect(page.get_by_role("heading", name="Towel warmer plug", level=2)).to_be_visible()
    await page.get_by_role("region", name="Manage").get_by_role("button", name="Delete this device").click()
    await expect(page).to_have_url(re.compile(r"#home$"))
    await expect(page.get_by_role("article", name="Towel warmer plug")).to_have_count(0)
    assert plug not in [d["deviceURL"] for d in (await api.get("/setup/devices")).json()]


async def _placed(api: httpx.AsyncClient, url: str, oid: str) -> bool:
    return bool((await api.get(f"/setup/devices/{enc(url)}")).json()["placeOID"] == oid)


def _seed_shaped_history(now_ms: int) -> dict[str, Any]:
    """An answer in the shape of seed 003's GET .../states/{name}/history/{from}/{to} example: historyValues of
    {value, min, max, samples, when}, historizationMethod, deviceUnit. The seed's own example value is a
    placeholder string ("a device state history value value"): kept as one point, which a chart must skip."""
    values = [
        {"value": "19.5", "min": 19, "max": 20, "samples": 2, "when": now_ms - 3 * 3600_000},
        {"value": 20.25, "min": 20, "max": 20.5, "samples": 2, "when": now_ms - 2 * 3600_000},
        {"value": "a device state history value value", "min": 3, "max": 4, "samples": 2, "when": now_ms - 90 * 60_000},
        {"value": 21.0, "min": 20.5, "max": 21.5, "samples": 3, "when": now_ms - 3600_000},
    ]
    return {"historyValues": values, "historizationMethod": 1, "deviceUnit": "core:TemperatureInCelsius"}


async def test_the_history_chart_draws_the_seeds_history_shape(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    """The chart against the seed's documented answer, given to the browser for the history route (the
    gateway's own routes are on another branch; the test after this one runs against them)."""
    thermometer = await url_of(api, "Living room temperature")
    asked: list[str] = []

    async def seed_answer(route: Any) -> None:
        asked.append(route.request.url)
        now = int(__import__("time").time() * 1000)
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(_seed_shaped_history(now)))

    await page.route(re.compile(r".*/states/core%3ATemperatureState/history/.*"), seed_answer)
    await log_in(page, gateway, token)
    await page.goto(gateway.root_url + f"/#device/{enc(thermometer)}")
    history = page.get_by_role("region", name="History")
    chart = history.locator("[data-state]").first
    await expect(chart).to_have_attribute("data-state", "drawn")
    await expect(history.get_by_role("status")).to_have_text("3 values in °C.")
    assert await history.locator("canvas").count() >= 1
    await expect(history.locator(".u-legend")).to_contain_text("Temperature")
    path = urlparse(asked[-1]).path
    assert re.search(r"/setup/devices/[^/]+/states/core%3ATemperatureState/history/\d+/\d+$", path), path
    frm, to = map(int, path.rsplit("/", 2)[1:])
    assert 24 * 3600_000 - 5000 <= to - frm <= 24 * 3600_000 + 5000

    await history.get_by_label("Period").select_option(label="Last 30 days (daily)")
    await expect(chart).to_have_attribute("data-state", "drawn")
    assert "/history/daily/" in asked[-1]


async def test_without_history_routes_the_device_page_says_so(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    thermometer = await url_of(api, "Living room temperature")
    if await history_routes_present(api, thermometer):
        pytest.skip("this gateway has the history routes: the chart test after this one covers it")
    await log_in(page, gateway, token)
    await page.goto(gateway.root_url + f"/#device/{enc(thermometer)}")
    history = page.get_by_role("region", name="History")
    await expect(history.get_by_role("status")).to_contain_text("No history on this gateway")
    await expect(history.get_by_role("status")).to_contain_text("404")
    await expect(history.locator("canvas")).to_have_count(0)


async def test_the_history_chart_draws_the_gateways_own_history(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    thermometer = await url_of(api, "Living room temperature")
    for value in ("18.5", "19.0", "19.5", "20.5"):
        await put_state(api, thermometer, "core:TemperatureState", 2, value)

    async def recorded() -> dict[str, Any] | None:
        # Points of the batch writer's current window are not readable yet: wait for them to be written.
        now = int(__import__("time").time() * 1000)
        answer: dict[str, Any] = (
            await api.get(
                f"/setup/devices/{enc(thermometer)}/states/core:TemperatureState/history/{now - 3600_000}/{now + 1000}"
            )
        ).json()
        values = {float(v["value"]) for v in answer.get("historyValues", [])}
        return answer if {18.5, 19.0, 19.5, 20.5} <= values else None

    answer = await wait_for(recorded, timeout=10)
    assert {"historyValues", "historizationMethod", "deviceUnit"} <= set(answer)  # the seed's shape
    await log_in(page, gateway, token)
    await page.goto(gateway.root_url + f"/#device/{enc(thermometer)}")
    history = page.get_by_role("region", name="History")
    await expect(history.locator("[data-state]").first).to_have_attribute("data-state", "drawn")
    await expect(history.get_by_role("status")).to_have_text(re.compile(r"^\d+ values in °C\.$"))
    assert await history.locator("canvas").count() >= 1


# ---------------------------------------------------------------------------------------------- automation


async def test_every_trigger_kind_is_made_without_json_and_its_card_says_what_it_runs(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    hall = await url_of(api, "Hall light")
    for label in ("Cool down", "Warm up"):
        made = await api.post(
            "/actionGroups", json={"label": label, "actions": [{"deviceURL": hall, "commands": [{"name": "on"}]}]}
        )
        assert made.status_code == 201, made.text
    groups = {g["label"]: g["oid"] for g in (await api.get("/actionGroups")).json()}
    await log_in(page, gateway, token)
    await page.get_by_role("link", name="Automation").click()

    # A value above or below limits.
    await page.get_by_role("button", name="New trigger").click()
    editor = page.get_by_role("form", name="Trigger editor")
    await editor.get_by_label("Name").fill("Living room comfort")
    await editor.get_by_label("Kind of trigger").select_option(label="When a value goes above or below a limit")
    await editor.get_by_label("Device", exact=True).select_option(label="Living room temperature (Living room)")
    await editor.get_by_label("State", exact=True).select_option("core:TemperatureState")
    await editor.get_by_label("Lower limit").fill("24")
    await editor.get_by_label("Upper limit").fill("18")
    await editor.get_by_label("When above, run", exact=True).select_option(label="Cool down")
    await editor.get_by_role("button", name="Save").click()
    await expect(editor.get_by_role("alert")).to_have_text("The lower limit (24) is above the upper limit (18).")
    await editor.get_by_label("Lower limit").fill("18")
    await editor.get_by_label("Upper limit").fill("24")
    await editor.get_by_label("When below, run", exact=True).select_option(label="Warm up")
    await editor.get_by_label("…after staying there for (s)").fill("60")
    await editor.get_by_role("button", name="Save").click()
    card = page.get_by_role("article", name="Living room comfort")
    await expect(card).to_contain_text("above 24, run “Cool down”; below 18, run “Warm up”")
    [threshold] = _of(await api.get("/triggers"), "sensorThreshold", "Living room comfort")
    assert (threshold["lowerBound"], threshold["upperBound"]) == (18, 24)
    assert (
        threshold["upperEffects"] == [{"actionGroupEffect": {"actionGroupOID": groups["Cool down"]}}]
        or threshold["upperEffects"][0]["actionGroupEffect"]["actionGroupOID"] == groups["Cool down"]
    )
    assert threshold["lowerEffects"][0]["actionGroupEffect"]["actionGroupOID"] == groups["Warm up"]
    assert threshold["upperActivationDelay"] == 60 and threshold["middleEffects"] == []

    # A command at set times.
    await page.get_by_role("button", name="New trigger").click()
    editor = page.get_by_role("form", name="Trigger editor")
    await editor.get_by_label("Name").fill("Hall at breakfast")
    await editor.get_by_label("Kind of trigger").select_option(label="A command at set times")
    await editor.get_by_label("Device", exact=True).select_option(label="Hall light (Hall)")
    await editor.get_by_label("Command", exact=True).select_option(label="Set brightness")
    await editor.get_by_label("intensity").fill("40")
    await editor.get_by_label("At", exact=True).fill("7:30, 19:00")
    await editor.get_by_role("button", name="Save").click()
    card = page.get_by_role("article", name="Hall at breakfast")
    await expect(card).to_contain_text("Every day at 07:30, 19:00: Set brightness on Hall light")
    [scheduled] = _of(await api.get("/triggers"), "genericCommandSchedulingTrigger", "Hall at breakfast")
    assert scheduled["commandFunctionName"] == "setIntensity"
    [times] = scheduled["commandSchedules"]
    assert [t["dailyTime"]["minutesOfDay"] for t in times["scheduleTimes"]] == [450, 1140]
    assert times["parameters"] == [40]

    # Each value of a state.
    await page.get_by_role("button", name="New trigger").click()
    editor = page.get_by_role("form", name="Trigger editor")
    await editor.get_by_label("Name").fill("Motion in the living room")
    await editor.get_by_label("Kind of trigger").select_option(label="On each value of a state")
    await editor.get_by_label("Device", exact=True).select_option(label="Living room motion (Living room)")
    await editor.get_by_label("State", exact=True).select_option("core:OccupancyState")
    await editor.get_by_role("button", name="Save").click()
    await expect(editor.get_by_role("alert")).to_have_text("Choose what to run for at least one value.")
    await editor.get_by_label("When Detected, run", exact=True).select_option(label="Warm up")
    await editor.get_by_role("button", name="Save").click()
    card = page.get_by_role("article", name="Motion in the living room")
    await expect(card).to_contain_text("Living room motion: Motion: becomes “Detected”, run “Warm up”")
    [discrete] = _of(await api.get("/triggers"), "discreteTrigger", "Motion in the living room")
    assert [(e["key"], e["effects"][0]["actionGroupEffect"]["actionGroupOID"]) for e in discrete["effectsList"]] == [
        ("personInside", groups["Warm up"])
    ]

    # Conditions held for a while, at dusk only.
    await page.get_by_role("button", name="New trigger").click()
    editor = page.get_by_role("form", name="Trigger editor")
    await editor.get_by_label("Name").fill("Door left open in the evening")
    await editor.get_by_label("Device", exact=True).select_option(label="Front door contact (Hall)")
    await editor.get_by_label("State").select_option("core:ContactState")
    await editor.get_by_label("Operator").select_option("EQUALS")
    await editor.get_by_label("Value").select_option("open")
    await editor.get_by_label("…for at least (s)").fill("30")
    await editor.get_by_label("Active").select_option("daily")
    await editor.get_by_label("From: when").select_option("DUSK")
    await editor.get_by_label("From: minutes after (before if negative)").fill("-15")
    await editor.get_by_label("Until: when").select_option("TIME")
    await editor.get_by_label("Until: time").fill("23:00")
    await editor.get_by_label("Then run the action group").select_option(label="Warm up")
    await editor.get_by_role("button", name="Save").click()
    card = page.get_by_role("article", name="Door left open in the evening")
    await expect(card).to_contain_text(
        "If Front door contact Contact is Open for 30 s, between dusk – 15 min and 23:00, then run “Warm up”"
    )
    [evening] = _of(await api.get("/triggers"), "ifThenSetupTrigger", "Door left open in the evening")
    assert evening["mode"] == 3
    leaf = evening["rootConditionBlock"]["staticDeviceStateCondition"]
    assert leaf["activationDelay"] == 30 and leaf["value1"] == "open"
    [interval] = evening["schedulingIntervals"]
    daily = interval["dailySchedule"]
    assert (daily["startType"], daily["startOffset"]) == ("DUSK", -15)
    assert (daily["stopType"], daily["stopMinutes"]) == ("TIME", 1380)

    # Edited again in the same form (not JSON), nothing lost.
    await card.get_by_role("button", name="Edit").click()
    editor = page.get_by_role("form", name="Trigger editor")
    await expect(editor.get_by_label("…for at least (s)")).to_have_value("30")
    await expect(editor.get_by_label("From: when")).to_have_value("DUSK")


def _of(response: httpx.Response, kind: str, label: str) -> list[dict[str, Any]]:
    return [t[kind] for t in response.json() if t.get(kind, {}).get("label") == label]


# ---------------------------------------------------------------------------------------------- /docs offline


async def test_docs_work_without_the_internet(page: Any, gateway: HearthProcess) -> None:
    elsewhere: list[str] = []

    async def only_the_gateway(route: Any) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:  # as on a box without internet: nothing from elsewhere
            elsewhere.append(route.request.url)
            await route.abort()

    await page.context.route("**/*", only_the_gateway)
    await page.goto(gateway.root_url + "/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Hearth End-User API")
    await expect(page.locator(".opblock").first).to_be_visible()
    assert elsewhere == []
    async with httpx.AsyncClient(base_url=gateway.root_url, verify=False) as http:
        html = (await http.get("/docs")).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            assert (await http.get(asset)).status_code == 200, asset


# ---------------------------------------------------------------------------------------------- every view


async def _every_view(page: Any, gateway: HearthProcess, api: httpx.AsyncClient, prefix: str) -> dict[str, int]:
    """Visit each view (and a device's page), screenshot it; answers each page's height in px."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    heights: dict[str, int] = {}
    hall = await url_of(api, "Hall light")
    for view in [*VIEWS, "device"]:
        target = f"#device/{enc(hall)}" if view == "device" else f"#{view}"
        await page.goto(gateway.root_url + "/" + target)
        await expect(page.locator("#view")).not_to_contain_text("Loading")
        await page.wait_for_load_state("networkidle")
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(SCREENSHOTS / f"{prefix}-{view}.png"), full_page=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{prefix}-{view}-screen.png"))
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{view}: {overflow} px wider than the screen"
        heights[view] = await page.evaluate("document.documentElement.scrollHeight")
    return heights


@pytest.mark.parametrize("page", [PHONE], indirect=True)
async def test_on_a_phone_every_view_fits_and_the_navigation_reaches_all(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    await log_in(page, gateway, token)
    for name in ("Home", "Action groups", "Automation", "Pairing", "System"):
        link = page.get_by_role("navigation", name="Views").get_by_role("link", name=name)
        await expect(link).to_be_in_viewport()
        box = await link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (name, box)
    await page.get_by_role("link", name="System").click()
    await expect(page.get_by_role("region", name="Device health")).to_be_visible()
    heights = await _every_view(page, gateway, api, "phone")
    # 34 devices made a 7,800 px home on a phone: tiles, with sliders on the device page, keep it shorter.
    assert heights["home"] < 6000, heights


@pytest.mark.parametrize("page", [DESKTOP], indirect=True)
async def test_on_a_desktop_every_view_fits(
    page: Any, gateway: HearthProcess, token: str, api: httpx.AsyncClient
) -> None:
    await log_in(page, gateway, token)
    await _every_view(page, gateway, api, "desktop")
