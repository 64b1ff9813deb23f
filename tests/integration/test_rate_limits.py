"""Rate limits per token and category: a client over its quota gets 429 in the API's format, others don't."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.process import HearthProcess


async def test_polling_and_exec_quotas_per_token(tmp_path: Path) -> None:
    proc = HearthProcess(
        tmp_path / "data",
        env={
            "HEARTH_API__RATE_POLLING_PER_S": "1",
            "HEARTH_API__RATE_POLLING_BURST": "3",
            "HEARTH_API__RATE_EXEC_PER_S": "1",
            "HEARTH_API__RATE_EXEC_BURST": "2",
        },
    )
    proc.start()
    try:
        first = proc.first_token
        second = proc.token("control", "second")
        async with httpx.AsyncClient(
            base_url=proc.base_url, verify=False, headers={"Authorization": f"Bearer {first}"}
        ) as api:
            listener = (await api.post("/events/register")).json()["id"]
            codes = [(await api.post(f"/events/{listener}/fetch")).status_code for _ in range(5)]
            assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
            refused = await api.post(f"/events/{listener}/fetch")
            assert refused.json() == {"errorCode": "TOO_MANY_REQUESTS", "error": "Too many requests (polling)"}
            # Other categories of the same token are not affected.
            assert (await api.get("/setup/gateways")).status_code == 200
            body = {"actions": [{"deviceURL": proc.device_url("3"), "commands": [{"name": "on"}]}]}
            results = [(await api.post("/exec/apply", json=body)).status_code for _ in range(4)]
            assert results[:2] == [200, 200] and 429 in results[2:]
            await asyncio.sleep(1.1)
            assert (await api.post(f"/events/{listener}/fetch")).status_code == 200, "the bucket refills"
        async with httpx.AsyncClient(
            base_url=proc.base_url, verify=False, headers={"Authorization": f"Bearer {second}"}
        ) as other:
            body = {"actions": [{"deviceURL": proc.device_url("3"), "commands": [{"name": "off"}]}]}
            assert (await other.post("/exec/apply", json=body)).status_code == 200, "quotas are per token"
    finally:
        proc.kill()
