"""The web page in a real browser (Debian's chromium, driven by Playwright) against a real gateway process.

One gateway serves the whole module: the demo house on the virtual driver, and the RTS driver on a CUL
transmitter emulated at the far end of a socat pty pair. It runs from a plain ``pip install .[rts]`` of this
checkout (tests.support.user_install), not from the dev venv: what a person sees is what a user's install
serves. Each test gets a fresh browser context (no token stored), and leaves a screenshot in
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import wait_for
from tests.integration.test_rts import rts_env
from tests.peers.rts import CulEmulator
from tests.support.process import REPO, HearthProcess
from tests.support.user_install import shared_user_install

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
API_REFUSAL = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cul(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CulEmulator]:
    emu = await CulEmulator.start(tmp_path_factory.mktemp("cul"), time_scale=0.1)
    yield emu
    await emu.stop()


@pytest.fixture(scope="session")
def user_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hearth as a user with an RTS transmitter installs it."""
    return shared_user_install(tmp_path_factory, extras=("rts",))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, cul: CulEmulator, user_python: Path
) -> AsyncIterator[HearthProcess]:
    proc = HearthProcess(tmp_path_factory.mktemp("hearth-web"), env=rts_env("cul", cul.port_path), python=user_python)
    await asyncio.to_thread(proc.start, 60)
    await wait_for(lambda: any("RTS transmitter" in line and "ready" in line for line in proc.output), timeout=10)
    yield proc
    await asyncio.to_thread(proc.stop)
    proc.kill()


@pytest.fixture(scope="module")
def token(gateway: HearthProcess) -> str:
    assert gateway.first_token, "the first start prints an admin token"
    return gateway.first_token


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(gateway: HearthProcess, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=gateway.base_url, verify=False, timeout=10, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    async with playwright_api.async_playwright() as pw:
        # Root needs --no-sandbox; Playwright cannot download its own browsers here.
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        await launched.close()


class PageErrors(list[str]):
    """Uncaught exceptions of the page's scripts and refused resources: a working page has none."""


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    viewport = getattr(request, "param", DESKTOP)
    context = await browser.new_context(ignore_https_errors=True, viewport=viewport)
    context.set_default_timeout(10_000)
    opened = await context.new_page()
    errors = PageErrors()
    opened.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    # Content-Security-Policy refusals and failed module loads are console errors; the API's own refusals
    # (4xx, which the page shows in words) are logged by the browser too, and are not the page's fault.
    opened.on(
        "console", lambda m: errors.append(m.text) if m.type == "error" and not API_REFUSAL.match(m.text) else None
    )
    opened.errors = errors
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    await opened.evaluate("window.scrollTo(0, 0)")  # else the sticky bar is drawn where the page was scrolled to
    await opened.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    await context.close()
    assert not errors, errors


async def log_in(page: Any, gateway: HearthProcess, token: str) -> None:
    """Open the gateway's page and log in with the token, as a person would; wait for the live stream."""
    await page.goto(gateway.root_url + "/")
    await page.get_by_label("Access token").fill(token)
    await page.get_by_role("button", name="Log in").click()
    await playwright_api.expect(page.get_by_role("status", name="Live updates")).to_have_text("live")
