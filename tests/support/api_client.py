"""A client of one gateway process over its API, with one event listener: calls that check their status,
and the events seen so far by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx

from tests.support.process import HearthProcess


class ApiClient:
    def __init__(self, proc: HearthProcess, http: httpx.AsyncClient) -> None:
        self.proc = proc
        self.http = http
        self.listener = ""
        self.seen: list[dict[str, Any]] = []

    def url(self, address: str) -> str:
        return self.proc.device_url(address)

    async def call(
        self, method: str, path: str, body: Any = None, status: int = 200, params: dict[str, str] | None = None
    ) -> Any:
        response = await self.http.request(method, path, json=body, params=params)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    async def events(self, name: str) -> list[dict[str, Any]]:
        self.seen.extend(await self.call("POST", f"/events/{self.listener}/fetch"))
        return [e for e in self.seen if e["name"] == name]


C = TypeVar("C", bound=ApiClient)


async def api_client(proc: HearthProcess, kind: type[C] = ApiClient) -> AsyncIterator[C]:  # type: ignore[assignment]
    """A client (``kind``, an ApiClient or a subclass) with the first admin token and a registered event listener
    (use with ``async for``)."""
    assert proc.first_token
    async with httpx.AsyncClient(
        base_url=proc.base_url, verify=False, timeout=10, headers={"Authorization": f"Bearer {proc.first_token}"}
    ) as http:
        client = kind(proc, http)
        client.listener = (await client.call("POST", "/events/register"))["id"]
        yield client
