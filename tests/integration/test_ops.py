"""Operating a gateway: ``/metrics`` (parsed with prometheus-client's own parser), readiness, ``/ext/system``,
per-device health, ``/ext/logs``, and ``hearth doctor``.

One gateway of its own for the module (on a fixed port, so that ``hearth doctor`` can find it serving its
API port), its virtual devices the peers; the counters are compared before and after commands this module
alone sends.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from hearth import __version__
from tests.conftest import wait_for
from tests.support.gateway_client import GatewayClient
from tests.support.process import REPO, HearthProcess

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def box(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayClient]:
    proc = HearthProcess(tmp_path_factory.mktemp("hearth-ops"), env={"HEARTH_API__PORT": str(free_port())})
    client = GatewayClient(proc, "virtual")
    await client.open()
    yield client
    await client.close()
    proc.kill()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def root(box: GatewayClient) -> AsyncIterator[httpx.AsyncClient]:
    """Outside the End-User API's base path, with a view token (what a Prometheus scraper would hold)."""
    view = await asyncio.to_thread(box.proc.token, "view", "prometheus")
    async with httpx.AsyncClient(
        base_url=box.proc.root_url, verify=False, timeout=10, headers={"Authorization": f"Bearer {view}"}
    ) as client:
        yield client


async def scrape(root: httpx.AsyncClient) -> Samples:
    response = await root.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_need_a_token(box: GatewayClient) -> None:
    async with httpx.AsyncClient(base_url=box.proc.root_url, verify=False, timeout=10) as anonymous:
        missing = await anonymous.get("/metrics")
        wrong = await anonymous.get("/metrics", headers={"Authorization": "Bearer hth_" + "x" * 43})
    assert missing.status_code == 401 and missing.json()["errorCode"] == "RESOURCE_ACCESS_DENIED"
    assert wrong.status_code == 401 and wrong.json()["error"] == "Not authenticated"


async def test_metrics_move_when_commands_run(box: GatewayClient, root: httpx.AsyncClient) -> None:
    lamp, plug = box.url("4"), box.url("9")
    before = await scrape(root)
    for name in ("on", "off", "on"):
        assert (await box.run(plug, name))["newState"] == "COMPLETED"
    # An unreachable virtual device answers nothing: its command fails after the simulated radio timeout (0.2 s).
    await box.api.put(f"/setup/devices/{quote(lamp, safe='')}/states/core:StatusState/3/unavailable")
    try:
        failed = await box.run(lamp, "on")
    finally:
        await box.api.put(f"/setup/devices/{quote(lamp, safe='')}/states/core:StatusState/3/available")
    assert failed["newState"] == "FAILED" and failed["failureType"] == "DEVICE_NO_ANSWER"
    after = await scrape(root)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("hearth_commands_total", driver="virtual", outcome="completed") == 3
    assert moved("hearth_commands_total", driver="virtual", outcome="failed") == 1
    assert moved("hearth_command_failures_total", driver="virtual", failure_type="DEVICE_NO_ANSWER") == 1
    assert moved("hearth_executions_total", outcome="completed") == 3
    assert moved("hearth_executions_total", outcome="failed") == 1
    assert moved("hearth_events_total", event="ExecutionRegisteredEvent") == 4
    # All four were handed to the driver: four latencies, the failed one at least its 0.2 s.
    assert moved("hearth_command_latency_seconds_count", driver="virtual") == 4
    assert moved("hearth_command_latency_seconds_sum", driver="virtual") >= 0.2
    assert moved("hearth_command_latency_seconds_bucket", driver="virtual", le="0.1") == 3
    assert moved("hearth_command_latency_seconds_bucket", driver="virtual", le="+Inf") == 4
    assert value(after, "hearth_executions_running") == 0
    assert value(after, "hearth_driver_up", driver="virtual") == 1
    devices = await box.devices()
    assert value(after, "hearth_devices", driver="virtual") == len(devices)
    assert value(after, "hearth_store_rows_written_total") > value(before, "hearth_store_rows_written_total")
    assert value(after, "hearth_info", version=__version__, gateway_id=box.proc.gateway_id) == 1


async def test_event_loop_lag_is_sampled(root: httpx.AsyncClient) -> None:
    first = value(await scrape(root), "hearth_event_loop_lag_seconds_count")
    await asyncio.sleep(1.2)  # the sampler ticks every 0.5 s
    later = await scrape(root)
    assert value(later, "hearth_event_loop_lag_seconds_count") >= first + 2
    assert value(later, "hearth_event_loop_lag_seconds_bucket", le="+Inf") == value(
        later, "hearth_event_loop_lag_seconds_count"
    )


async def test_device_health_counts_commands_and_failures(box: GatewayClient, root: httpx.AsyncClient) -> None:
    # Its own device: the counts are this test's alone.
    shutter = box.url("20")
    for position in (0, 100):
        await box.run(shutter, "setClosure", position)
    await box.api.put(f"/setup/devices/{quote(shutter, safe='')}/states/core:StatusState/3/unavailable")
    try:
        await box.run(shutter, "open")
    finally:
        await box.api.put(f"/setup/devices/{quote(shutter, safe='')}/states/core:StatusState/3/available")
    one = await box.api.get(f"/ext/devices/health/{quote(shutter, safe='')}")
    assert one.status_code == 200, one.text
    health = one.json()
    assert health["deviceURL"] == shutter and health["available"] is True
    assert health["commands"] == 3 and health["failures"] == 1
    # Nearest rank over three latencies: the median is a travel (1 s in tests), the p95 the slowest.
    assert 0 < health["latencyMs"]["p50"] <= health["latencyMs"]["p95"]
    assert isinstance(health["lastSeen"], int) and health["lastSeen"] > 1_700_000_000_000

    listing = await box.api.get("/ext/devices/health")
    assert listing.status_code == 200
    by_url = {d["deviceURL"]: d for d in listing.json()}
    assert set(by_url) == set(await box.devices())
    assert by_url[shutter] == health
    assert by_url[box.url("1")]["commands"] == 0 and by_url[box.url("1")]["latencyMs"] == {"p50": None, "p95": None}

    unknown = await box.api.get(f"/ext/devices/health/{quote(box.url('999'), safe='')}")
    assert unknown.status_code == 400 and unknown.json()["errorCode"] == "NO_SUCH_DEVICE"
    bad = await box.api.get("/ext/devices/health/" + quote("virtual://not-a-gateway/1", safe=""))
    assert bad.status_code in (400, 404) and "errorCode" in bad.json()


async def test_readiness_and_liveness(box: GatewayClient) -> None:
    async with httpx.AsyncClient(base_url=box.proc.root_url, verify=False, timeout=10) as anonymous:
        ready = await anonymous.get("/health/ready")
        live = await anonymous.get("/health/live")
        health = await anonymous.get("/health")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "reasons": []}
    assert live.status_code == 200 and live.json()["status"] == "ok"
    assert health.json()["gatewayId"] == box.proc.gateway_id and "writerBacklog" in health.json()


async def test_system_summary(box: GatewayClient, root: httpx.AsyncClient) -> None:
    response = await root.get("/enduser-mobile-web/1/enduserAPI/ext/system")  # a view token reads it
    assert response.status_code == 200, response.text
    system = response.json()
    assert system["gatewayId"] == box.proc.gateway_id and system["uptimeSeconds"] > 0
    assert system["version"] == __version__
    devices = await box.devices()
    assert system["drivers"] == [
        {
            "name": "virtual",
            "protocol": "virtual",
            "status": "running",
            "devices": len(devices),
            "unavailable": sum(not d["available"] for d in devices.values()),
        }
    ]
    assert system["cloud"] == {"enabled": False, "connectivity": "disabled", "syncInProgress": False, "outboxDepth": 0}
    assert system["store"]["backlog"] >= 0 and system["store"]["writeLagMs"] >= 0


async def test_logs_are_for_admins_and_hold_no_tokens(box: GatewayClient, root: httpx.AsyncClient) -> None:
    admin = box.api.headers["Authorization"].removeprefix("Bearer ")
    view = root.headers["Authorization"].removeprefix("Bearer ")
    denied = await root.get("/enduser-mobile-web/1/enduserAPI/ext/logs")
    assert denied.status_code == 403 and denied.json()["errorCode"] == "RESOURCE_ACCESS_DENIED"

    records = (await box.api.get("/ext/logs", params={"limit": 1000})).json()
    assert records and set(records[0]) == {"time", "level", "logger", "message"}
    assert any(r["message"] == "driver virtual started (protocol virtual)" for r in records)
    times = [r["time"] for r in records]
    assert times == sorted(times, reverse=True), "newest first"
    text = json.dumps(records)
    assert admin not in text and view not in text

    warnings = (await box.api.get("/ext/logs", params={"level": "warning"})).json()
    assert all(r["level"] in ("WARNING", "ERROR", "CRITICAL") for r in warnings)
    assert len((await box.api.get("/ext/logs", params={"limit": 2})).json()) == 2
    for params in ({"level": "LOUD"}, {"limit": 0}, {"limit": "many"}):
        refused = await box.api.get("/ext/logs", params=params)
        assert refused.status_code == 400 and refused.json()["errorCode"] == "INVALID_FIELD_VALUE", refused.text


# ----------------------------------------------------------------------------- hearth doctor


def doctor(config: Path) -> tuple[int, dict[str, dict[str, str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    result = subprocess.run(
        [sys.executable, "-m", "hearth", "doctor", "--json", "--config", str(config)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, {c["name"]: c for c in json.loads(result.stdout)}


async def test_doctor_reports_a_missing_radio_and_who_serves_the_port(box: GatewayClient, tmp_path: Path) -> None:
    config = tmp_path / "hearth.toml"
    config.write_text(
        f'[store]\ndata_dir = "{tmp_path / "data"}"\n[api]\nport = {box.proc.port}\n'
        f'[drivers.zigbee]\nenabled = true\nport = "{tmp_path / "ttyNOPE"}"\n'
    )
    code, checks = await asyncio.to_thread(doctor, config)
    assert code == 1
    radio = checks["radio zigbee"]
    assert radio["status"] == "fail" and "no such device" in radio["detail"] and radio["advice"]
    port = checks["api port"]
    assert port["status"] == "ok" and f"running Hearth (gateway {box.proc.gateway_id})" in port["detail"]
    assert checks["clock"]["status"] == "ok" and checks["disk space"]["status"] in ("ok", "warn")


async def test_doctor_fails_a_port_taken_by_another_program(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        config = tmp_path / "hearth.toml"
        config.write_text(
            f'[store]\ndata_dir = "{tmp_path / "data"}"\n'
            f'[api]\nhost = "127.0.0.1"\nport = {squatter.getsockname()[1]}\n'
        )
        code, checks = await asyncio.to_thread(doctor, config)
    assert code == 1
    assert checks["api port"]["status"] == "fail" and "taken by another program" in checks["api port"]["detail"]
    assert checks["database"]["status"] == "ok"


async def test_readiness_reports_a_missing_radio(tmp_path: Path) -> None:
    """A Zigbee radio that is not there: the gateway runs (it waits for the radio), but is not ready."""
    proc = HearthProcess(
        tmp_path / "data",
        env={"HEARTH_DRIVERS__ZIGBEE__ENABLED": "true", "HEARTH_DRIVERS__ZIGBEE__PORT": str(tmp_path / "ttyNOPE")},
    )
    await asyncio.to_thread(proc.start, 60)
    try:
        async with httpx.AsyncClient(base_url=proc.root_url, verify=False, timeout=10) as anonymous:

            async def not_ready() -> httpx.Response | None:
                response = await anonymous.get("/health/ready")
                return response if response.status_code == 503 else None

            response = await wait_for(not_ready, timeout=20, interval=0.2)
        assert response.json() == {"status": "not ready", "reasons": ["driver zigbee: radio-unavailable"]}
    finally:
        await asyncio.to_thread(proc.kill)
