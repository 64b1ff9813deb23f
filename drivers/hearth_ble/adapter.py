"""Is the Bluetooth adapter there? BlueZ's object manager says, on the system bus.

bleak scans on an adapter but does not tell its caller when that adapter leaves (unplugged, powered off,
bluetoothd restarted): scanning just goes quiet. This watch listens to the same bus bleak uses, through
dbus-fast (bleak's own D-Bus library on Linux), and says when the adapter is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

BLUEZ = "org.bluez"
ADAPTER_IFACE = "org.bluez.Adapter1"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
PROPERTIES = "org.freedesktop.DBus.Properties"


class AdapterMissing(Exception):
    """The adapter is not on the bus, or is powered off."""


class AdapterWatch:
    """One system-bus connection watching one adapter; ``gone`` returns when the adapter leaves."""

    def __init__(self, adapter: str) -> None:
        self.path = f"/org/bluez/{adapter}"
        self._bus: MessageBus | None = None
        self._gone = asyncio.Event()
        self._bus_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Connect and check the adapter is there and powered; AdapterMissing otherwise.

        The signals are subscribed to before the check, so a loss in between is not missed.
        """
        self._bus = bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        bus.add_message_handler(self._on_message)
        for rule in (
            f"type='signal',sender='{BLUEZ}',interface='{OBJECT_MANAGER}',member='InterfacesRemoved'",
            f"type='signal',sender='{BLUEZ}',interface='{PROPERTIES}',path='{self.path}'",
            f"type='signal',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{BLUEZ}'",
        ):
            await self._call(
                "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", [rule]
            )
        reply = await self._call(BLUEZ, "/", OBJECT_MANAGER, "GetManagedObjects")
        adapter = reply.body[0].get(self.path, {}).get(ADAPTER_IFACE) if reply.body else None
        if adapter is None:
            raise AdapterMissing(f"no adapter {self.path} on the system bus")
        powered = adapter.get("Powered")
        if powered is not None and not powered.value:
            raise AdapterMissing(f"adapter {self.path} is powered off")
        # The bus itself can go (dbus-daemon restarted): that is a loss too.
        self._bus_task = asyncio.create_task(self._watch_bus(bus), name=f"watch {self.path}")

    async def _call(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        body: list[Any] | None = None,
    ) -> Message:
        assert self._bus is not None
        reply = await self._bus.call(
            Message(
                destination=destination,
                path=path,
                interface=interface,
                member=member,
                signature=signature,
                body=body or [],
            )
        )
        if reply is None or reply.message_type == MessageType.ERROR:
            error = reply.error_name if reply is not None else "no reply"
            raise AdapterMissing(f"{interface}.{member}: {error} {reply.body if reply is not None else ''}")
        return reply

    async def _watch_bus(self, bus: MessageBus) -> None:
        with contextlib.suppress(Exception):
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]  # dbus_fast leaves it unannotated
        self._gone.set()

    def _on_message(self, message: Message) -> None:
        if message.message_type != MessageType.SIGNAL:
            return
        body = message.body
        if message.member == "InterfacesRemoved" and body and body[0] == self.path and ADAPTER_IFACE in body[1]:
            self._gone.set()
        elif message.member == "PropertiesChanged" and message.path == self.path and body[0] == ADAPTER_IFACE:
            powered = body[1].get("Powered")
            if powered is not None and not powered.value:
                self._gone.set()
        elif message.member == "NameOwnerChanged" and body and body[0] == BLUEZ and not body[2]:
            self._gone.set()  # bluetoothd left the bus

    async def gone(self) -> None:
        await self._gone.wait()

    def close(self) -> None:
        if self._bus_task is not None:
            self._bus_task.cancel()
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None
