"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.process import HearthProcess


@pytest.fixture(scope="session")
def hearth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthProcess]:
    """One gateway on the demo house for the read-mostly tests of a session."""
    proc = HearthProcess(tmp_path_factory.mktemp("hearth-shared")).start()
    yield proc
    proc.stop()


@pytest.fixture
def fresh_hearth(tmp_path: Path) -> Iterator[HearthProcess]:
    """A gateway of its own, for tests that kill, restart or fill it."""
    proc = HearthProcess(tmp_path / "data")
    yield proc
    proc.kill()


@pytest.fixture(scope="session")
def admin_token(hearth: HearthProcess) -> str:
    assert hearth.first_token, "the first start must print an admin token"
    return hearth.first_token


@pytest.fixture
async def api(hearth: HearthProcess, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=hearth.base_url, verify=False, timeout=10, headers={"Authorization": f"Bearer {admin_token}"}
    ) as client:
        yield client


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Any]:
    """A real mosquitto of the test's own (tests/peers/mosquitto.py), stopped at the end."""
    from tests.peers.mosquitto import Mosquitto

    mosquitto = await Mosquitto(tmp_path / "broker").start()
    yield mosquitto
    await mosquitto.stop()
