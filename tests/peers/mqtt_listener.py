"""A test client on a broker that keeps what it hears: the tests' cloud, the tests' Home Assistant."""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt


class TopicListener:
    """Subscribes to ``topics`` and calls ``record`` for every message; reconnects if the broker goes away.

    ``clean_session=False`` keeps its subscription on the broker while it is away (a cloud that must not miss a
    record); ``start`` returns once it is subscribed."""

    def __init__(self, port: int, topics: list[str], identifier: str, *, clean_session: bool = True) -> None:
        self.port = port
        self.topics = topics
        self.identifier = identifier
        self.clean_session = clean_session
        self._task: asyncio.Task[None] | None = None

    def record(self, topic: str, payload: bytes, retain: bool) -> None:
        raise NotImplementedError

    async def start(self) -> Any:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(ready))
        await asyncio.wait_for(ready.wait(), 10)
        return self

    async def _listen(self, ready: asyncio.Event) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", self.port, identifier=self.identifier, clean_session=self.clean_session
                ) as client:
                    for topic in self.topics:
                        await client.subscribe(topic, qos=1)
                    ready.set()
                    async for message in client.messages:
                        self.record(str(message.topic), bytes(message.payload), message.retain)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def publish(self, topic: str, payload: str | bytes) -> None:
        """One message at QoS 1, from a client of its own (the listener's connection only listens)."""
        async with aiomqtt.Client("127.0.0.1", self.port, identifier=f"{self.identifier}-pub") as client:
            await client.publish(topic, payload, qos=1)
