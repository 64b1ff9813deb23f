"""The gateway starts from the CLI, serves its API, and refuses strangers."""

from __future__ import annotations

import httpx

from tests.support.process import HearthProcess


async def test_api_version_needs_no_token(hearth: HearthProcess) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        response = await client.get(f"{hearth.base_url}/apiVersion")
    assert response.status_code == 200
    assert response.json()["protocolVersion"]


async def test_setup_lists_the_demo_house(api: httpx.AsyncClient) -> None:
    setup = (await api.get("/setup")).json()
    assert len(setup["devices"]) >= 30
    labels = {p["label"] for p in setup["rootPlace"]["subPlaces"]}
    assert {"Ground floor", "First floor", "Garden"} <= labels


async def test_bad_token_is_refused(hearth: HearthProcess) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        response = await client.get(f"{hearth.base_url}/setup", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json() == {"errorCode": "RESOURCE_ACCESS_DENIED", "error": "Not authenticated"}
