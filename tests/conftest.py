"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
import json
import os
import sys
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


# ----------------------------------------------------------------------------- the conformance figures
#
# A run that swept the End-User API (tests/conformance) prints its coverage at the end. Under pytest-xdist the
# sweep runs in a worker process: the worker hands its figures to the controller in ``workeroutput`` (the
# channel xdist gives for that), and the controller prints them. Here, not in tests/conformance/conftest.py: the
# controller of an xdist run loads no conftest below tests/.

_CONFORMANCE: dict[str, Any] = {}  # "report": the printed table, "served": the keys of the operations served


def _sweep_results() -> list[Any]:
    module = sys.modules.get("tests.conformance.test_enduser_conformance")
    return list(getattr(module, "RESULTS", []))


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook, on the controller: a worker has finished
def pytest_testnodedown(node: Any, error: Any) -> None:
    figures = getattr(node, "workeroutput", {}).get("hearth_conformance")
    if figures:
        _CONFORMANCE.update(figures)


def pytest_sessionfinish(session: pytest.Session) -> None:
    results = _sweep_results()
    if results:
        from tests.conformance import sweep

        _CONFORMANCE.update(report=sweep.report(results), served=sorted(r.op.key for r in results if r.served))
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller prints and dumps
        if _CONFORMANCE:
            workeroutput["hearth_conformance"] = dict(_CONFORMANCE)
        return
    target = os.environ.get("HEARTH_CONFORMANCE_DUMP")
    if _CONFORMANCE and target:  # the served set, for updating left_out.MUST_SERVE by hand
        with open(target, "w", encoding="utf-8") as out:
            json.dump(_CONFORMANCE["served"], out, indent=0)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _CONFORMANCE:
        terminalreporter.write_sep("=", "End-User API conformance")
        terminalreporter.write_line(_CONFORMANCE["report"])
