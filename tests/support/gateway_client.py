"""An API client of one gateway process for the radio tests: executions, their outcome, states, events."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

from tests.conftest import wait_for
from tests.support.process import HearthProcess


class GatewayClient:
    """Starts a HearthProcess, then talks to it as a client would, with one event listener."""

    def __init__(self, proc: HearthProcess, protocol: str) -> None:
        self.proc = proc
        self.protocol = protocol
        self.api: httpx.AsyncClient
        self.listener = ""
        self.events: list[dict[str, Any]] = []

    async def open(self, timeout: float = 60.0) -> None:
        await asyncio.to_thread(self.proc.start, timeout)
        # A first start printed its admin token; a later one has none, and a token is made with the CLI.
        token = self.proc.first_token or await asyncio.to_thread(self.proc.token)
        self.api = httpx.AsyncClient(
            base_url=self.proc.base_url, verify=False, timeout=20, headers={"Authorization": f"Bearer {token}"}
        )
        self.listener = await self._register()

    async def _register(self) -> str:
        """The event listener; a token just made with the CLI may take the gateway a moment to see."""
        for _ in range(50):
            response = await self.api.post("/events/register")
            if response.status_code == 200:
                listener: str = response.json()["id"]
                return listener
            await asyncio.sleep(0.2)
        raise AssertionError(f"cannot register an event listener: {response.status_code} {response.text}")

    async def close(self) -> None:
        await self.api.aclose()
        await asyncio.to_thread(self.proc.stop)

    def url(self, address: str, subsystem: int | None = None) -> str:
        return f"{self.protocol}://{self.proc.gateway_id}/{address}" + (f"#{subsystem}" if subsystem else "")

    @property
    def stack(self) -> str:
        return self.url("stack")

    async def fetch(self) -> list[dict[str, Any]]:
        new = (await self.api.post(f"/events/{self.listener}/fetch")).json()
        self.events.extend(new)
        return self.events

    async def event(self, name: str, timeout: float = 20, after: int = 0, **fields: Any) -> dict[str, Any]:
        """The first event so named with those fields, among those fetched after the first ``after`` (pass
        ``len(client.events)`` taken before an act to wait for what the act causes, not an older one)."""

        async def find() -> dict[str, Any] | None:
            for e in (await self.fetch())[after:]:
                if e["name"] == name and all(e.get(k) == v for k, v in fields.items()):
                    return e
            return None

        found: dict[str, Any] = await wait_for(find, timeout=timeout, interval=0.1)
        return found

    async def devices(self) -> dict[str, dict[str, Any]]:
        return {d["deviceURL"]: d for d in (await self.api.get("/setup/devices")).json()}

    async def apply(self, url: str, name: str, *params: Any) -> str:
        response = await self.api.post(
            "/exec/apply",
            json={
                "label": name,
                "actions": [{"deviceURL": url, "commands": [{"name": name, "parameters": list(params)}]}],
            },
        )
        assert response.status_code == 200, response.text
        exec_id: str = response.json()["execId"]
        return exec_id

    async def outcome(self, exec_id: str, timeout: float = 30) -> dict[str, Any]:
        async def final() -> dict[str, Any] | None:
            for e in await self.fetch():
                if (
                    e["name"] == "ExecutionStateChangedEvent"
                    and e["execId"] == exec_id
                    and e["newState"] in ("COMPLETED", "FAILED")
                ):
                    return e
            return None

        done: dict[str, Any] = await wait_for(final, timeout=timeout, interval=0.1)
        return done

    async def run(self, url: str, name: str, *params: Any, timeout: float = 30) -> dict[str, Any]:
        return await self.outcome(await self.apply(url, name, *params), timeout)

    async def state(self, url: str, name: str) -> Any:
        response = await self.api.get(f"/setup/devices/{quote(url, safe='')}/states/{name}")
        return response.json().get("value") if response.status_code == 200 else None
