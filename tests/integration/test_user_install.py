"""The install a user gets (``pip install .``, no extras, as ``make run`` and deploy/install.sh do): live events work.

Once the WebSocket library came only with ``[dev]``: the suite passed while ``/events/ws`` answered 404 in every
real install and the web page waited for live updates forever, with doctor and readiness saying all was fine.
This module builds that install and talks to it; the last test removes the library and expects both to say so.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import websockets

from tests.integration.test_events import insecure
from tests.support.process import HearthProcess
from tests.support.user_install import installed_requirements, user_install

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return user_install(tmp_path_factory.mktemp("plain-install"))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(python: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[HearthProcess]:
    proc = HearthProcess(tmp_path_factory.mktemp("plain-data"), python=python)
    await asyncio.to_thread(proc.start, 60)
    yield proc
    await asyncio.to_thread(proc.stop)
    proc.kill()


def doctor(proc: HearthProcess) -> dict[str, dict[str, str]]:
    out = subprocess.run(
        [proc.python, "-m", "hearth", "doctor", "--json", "--config", str(proc.config)],
        cwd=proc.cwd,
        env=proc.env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return {check["name"]: check for check in json.loads(out)}


def test_the_package_itself_requires_a_websocket_library(python: Path) -> None:
    names = {
        re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0].lower()
        for req in installed_requirements(python)
        if "extra ==" not in req
    }
    assert "websockets" in names, names


@pytest.mark.asyncio(loop_scope="module")
async def test_live_events_reach_a_websocket_client_of_the_plain_install(gateway: HearthProcess) -> None:
    assert gateway.first_token
    url = f"wss://127.0.0.1:{gateway.port}/enduser-mobile-web/1/enduserAPI/events/ws"
    light = gateway.device_url("16")  # a dimmable light of the demo house
    headers = {"Authorization": f"Bearer {gateway.first_token}"}
    async with (
        websockets.connect(url, ssl=insecure(), additional_headers=headers) as ws,
        httpx.AsyncClient(base_url=gateway.base_url, verify=False, headers=headers, timeout=10) as api,
    ):
        reply = await api.post(
            "/exec/apply",
            json={
                "label": "plain install",
                "actions": [{"deviceURL": light, "commands": [{"name": "setIntensity", "parameters": [42]}]}],
            },
        )
        assert reply.status_code == 200, reply.text
        seen: list[dict[str, object]] = []
        async with asyncio.timeout(10):
            while not any(e.get("name") == "DeviceStateChangedEvent" and e.get("deviceURL") == light for e in seen):
                seen += json.loads(await ws.recv())
        ready = await api.get(f"https://127.0.0.1:{gateway.port}/health/ready")
        assert ready.json() == {"status": "ready", "reasons": []}
    assert doctor(gateway)["live events"]["status"] == "ok"


@pytest.fixture
def without_websockets(python: Path) -> Iterator[None]:
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "websockets"], check=True, timeout=120)
    yield
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-input", "websockets"], timeout=300)


@pytest.mark.asyncio(loop_scope="module")
async def test_without_the_library_doctor_and_readiness_say_live_events_are_off(
    gateway: HearthProcess, tmp_path: Path, without_websockets: None
) -> None:
    assert doctor(gateway)["live events"]["status"] == "fail"
    bare = HearthProcess(tmp_path / "data", python=Path(gateway.python))
    await asyncio.to_thread(bare.start, 60)
    try:
        async with httpx.AsyncClient(verify=False, timeout=10) as http:
            ready = await http.get(f"{bare.root_url}/health/ready")
        assert ready.status_code == 503
        assert any("live events" in reason for reason in ready.json()["reasons"]), ready.json()
    finally:
        await asyncio.to_thread(bare.stop)
        bare.kill()


@pytest.mark.asyncio(loop_scope="module")
async def test_doctor_of_the_plain_install_recognises_the_running_gateway_on_its_port(
    python: Path, tmp_path: Path
) -> None:
    # On its real port (make run's 8443, here a free one), doctor asks who serves it: a plain install has no
    # HTTP client package, so that probe must use the standard library (it once imported httpx and crashed).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = HearthProcess(tmp_path / "data", python=python, env={"HEARTH_API__PORT": str(port)})
    await asyncio.to_thread(proc.start, 60)
    try:
        env = {**proc.env, "HEARTH_API__PORT": str(port)}
        result = await asyncio.to_thread(
            subprocess.run,
            [proc.python, "-m", "hearth", "doctor", "--json", "--config", str(proc.config)],
            cwd=proc.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        checks = {check["name"]: check for check in json.loads(result.stdout)}
        assert checks["api port"]["status"] == "ok", checks["api port"]
        assert proc.gateway_id in checks["api port"]["detail"], checks["api port"]
    finally:
        await asyncio.to_thread(proc.stop)
        proc.kill()
