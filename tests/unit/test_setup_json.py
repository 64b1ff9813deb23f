"""The cached /setup serialiser gives exactly Device.to_json, and never a stale device."""

from __future__ import annotations

import json
from typing import Any

from hearth.api.setup_json import SetupJson
from tests.bench.common import in_process_gateway


def _devices(gateway: Any) -> list[dict[str, Any]]:
    return [d.to_json() for d in gateway.registry.all()]


async def test_cached_json_is_to_json_and_follows_every_change() -> None:
    async with in_process_gateway(40) as gateway:
        cache = SetupJson(gateway.bus)
        devices = gateway.registry.all()

        def body() -> Any:
            return json.loads(bytes(cache.response(devices).body))

        assert body() == _devices(gateway)
        assert body() == _devices(gateway)  # from the cache now
        light = next(d for d in devices if "core:OnOffState" in d.states)
        before = light.states["core:OnOffState"].value
        gateway.states.report(light, {"core:OnOffState": "on" if before == "off" else "off"})
        await gateway.registry.update(light, label="Renamed lamp")
        gateway.states.set_available(devices[0], False)
        after = body()
        assert after == _devices(gateway)
        shown = next(d for d in after if d["deviceURL"] == light.url_text)
        assert shown["label"] == "Renamed lamp"
        assert {s["name"]: s["value"] for s in shown["states"]}["core:OnOffState"] != before
        assert after[0]["available"] is False


async def test_big_setups_are_streamed_whole() -> None:
    async with in_process_gateway(30) as gateway:
        cache = SetupJson(gateway.bus)
        devices = gateway.registry.all() * 100  # more than STREAM_ABOVE: streamed in chunks
        fields = {"creationTime": 1, "id": "SETUP-x", "devices": None, "zones": [], "features": []}
        response = cache.setup_response(fields, devices)
        chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
        assert len(chunks) > 2
        body = json.loads(b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks))
        assert list(body) == ["creationTime", "id", "devices", "zones", "features"]
        assert body["devices"] == [d.to_json() for d in devices]
