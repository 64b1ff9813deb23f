"""BlueZ's D-Bus API, mocked: a private system bus with python-dbusmock's ``bluez5`` template on it.

bleak on Linux talks only D-Bus to ``org.bluez``, so a gateway whose ``DBUS_SYSTEM_BUS_ADDRESS`` points at this
bus scans, connects, reads and gets notifications exactly as it would with bluetoothd and a radio. What a radio
would hear is played by setting properties of the mocked objects: an advertisement is a change of a device's
``ServiceData``/``RSSI``, a notification a change of a characteristic's ``Value``.

The template misses a few things bleak relies on, added here rather than bent in the driver:
- its ``AddDevice`` gives ``ManufacturerData`` and ``ServiceData`` as arrays, where BlueZ has dictionaries, and
  its ``Connect`` never sets ``ServicesResolved``, which bleak waits for: devices are declared here instead;
- there is no GATT at all: services and characteristics are added as objects, with ``ReadValue`` and
  ``StartNotify``/``StopNotify``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dbus
from dbusmock.testcase import BusType, PrivateDBus, SpawnedMock

BLUEZ = "org.bluez"
MOCK_IFACE = "org.bluez.Mock"
DBUSMOCK_IFACE = "org.freedesktop.DBus.Mock"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
DEVICE_IFACE = "org.bluez.Device1"
SERVICE_IFACE = "org.bluez.GattService1"
CHAR_IFACE = "org.bluez.GattCharacteristic1"

# A connection as BlueZ makes it: connected, then the GATT database resolved.
_CONNECT = (
    "self.UpdateProperties('org.bluez.Device1', "
    "{'Connected': dbus.Boolean(True), 'ServicesResolved': dbus.Boolean(True)})"
)
_DISCONNECT = (
    "self.UpdateProperties('org.bluez.Device1', "
    "{'Connected': dbus.Boolean(False), 'ServicesResolved': dbus.Boolean(False)})"
)
_READ = "ret = self.props['org.bluez.GattCharacteristic1']['Value']"
_START_NOTIFY = "self.UpdateProperties('org.bluez.GattCharacteristic1', {'Notifying': dbus.Boolean(True)})"
_STOP_NOTIFY = "self.UpdateProperties('org.bluez.GattCharacteristic1', {'Notifying': dbus.Boolean(False)})"


def full_uuid(short: int) -> str:
    """A 16-bit Bluetooth SIG UUID in its 128-bit form, as BlueZ writes them."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


class FakeBlueZ:
    """One private system bus and one mocked bluetoothd; use as a context manager."""

    def __init__(self, log_path: Path) -> None:
        self._log_path = log_path
        self._log: Any = None
        self._bus: PrivateDBus | None = None
        self._mock: SpawnedMock | None = None
        self._saved_env: str | None = None
        self._conn: dbus.bus.BusConnection | None = None
        self._chars = 0

    # ------------------------------------------------------------------ life

    def __enter__(self) -> FakeBlueZ:
        self._saved_env = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
        self._bus = PrivateDBus(BusType.SYSTEM)
        self._bus.start()  # also points this process's DBUS_SYSTEM_BUS_ADDRESS at it, undone in __exit__
        self._log = self._log_path.open("w")
        # The mock logs every call on its stdout: a file, never an unread pipe that would fill and block it.
        self._mock = SpawnedMock.spawn_with_template("bluez5", stdout=self._log, stderr=subprocess.STDOUT)
        self._conn = dbus.bus.BusConnection(self._bus.address)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._mock is not None:
            self._mock.terminate()
        if self._bus is not None:
            self._bus.stop()
        if self._log is not None:
            self._log.close()
        if self._saved_env is None:
            os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = self._saved_env

    @property
    def address(self) -> str:
        """The bus address to give a gateway as ``DBUS_SYSTEM_BUS_ADDRESS``."""
        assert self._bus is not None
        return self._bus.address

    def _obj(self, path: str) -> Any:
        assert self._conn is not None
        return self._conn.get_object(BLUEZ, path)

    @property
    def _root(self) -> Any:
        return self._obj("/")

    # ------------------------------------------------------------------ adapters

    def add_adapter(self, name: str = "hci0") -> str:
        path: str = self._root.AddAdapter(name, "hearth-test", dbus_interface=MOCK_IFACE)
        return path

    def remove_adapter(self, name: str = "hci0") -> None:
        """The adapter is unplugged: it and its devices leave the bus."""
        self._root.RemoveAdapterWithDevices(name, dbus_interface=MOCK_IFACE)

    def adapter_discovering(self, name: str = "hci0") -> bool:
        props = self._obj(f"/org/bluez/{name}").GetAll("org.bluez.Adapter1", dbus_interface=dbus.PROPERTIES_IFACE)
        return bool(props["Discovering"])

    # ------------------------------------------------------------------ devices

    def add_device(self, mac: str, name: str, adapter: str = "hci0") -> str:
        """A device in range, as bluetoothd declares it once it has heard it (no advertisement data yet)."""
        path = self.device_path(mac, adapter)
        props = {
            "Address": dbus.String(mac),
            "AddressType": dbus.String("public"),
            "Name": dbus.String(name),
            "Alias": dbus.String(name),
            "Adapter": dbus.ObjectPath(f"/org/bluez/{adapter}"),
            "Paired": dbus.Boolean(False),
            "Bonded": dbus.Boolean(False),
            "Trusted": dbus.Boolean(False),
            "Blocked": dbus.Boolean(False),
            "Connected": dbus.Boolean(False),
            "ServicesResolved": dbus.Boolean(False),
            "LegacyPairing": dbus.Boolean(False),
            "UUIDs": dbus.Array([], signature="s"),
            "RSSI": dbus.Int16(-90),
            # BlueZ's types: dictionaries (the template's AddDevice has arrays, on which bleak fails).
            "ManufacturerData": dbus.Dictionary({}, signature="qv"),
            "ServiceData": dbus.Dictionary({}, signature="sv"),
        }
        self._root.AddObject(
            path,
            DEVICE_IFACE,
            props,
            [
                ("Connect", "", "", _CONNECT),
                ("Disconnect", "", "", _DISCONNECT),
            ],
            dbus_interface=DBUSMOCK_IFACE,
        )
        self._interfaces_added(path, DEVICE_IFACE, props)
        return path

    @staticmethod
    def device_path(mac: str, adapter: str = "hci0") -> str:
        return f"/org/bluez/{adapter}/dev_{mac.replace(':', '_').upper()}"

    def advertise(self, mac: str, service_data: Mapping[str, bytes], rssi: int = -60, adapter: str = "hci0") -> None:
        """The device's next advertisement, as bluetoothd reports it: its service data and signal strength."""
        data = dbus.Dictionary(
            {uuid: dbus.Array(payload, signature="y") for uuid, payload in service_data.items()}, signature="sv"
        )
        self._obj(self.device_path(mac, adapter)).UpdateProperties(
            DEVICE_IFACE, {"ServiceData": data, "RSSI": dbus.Int16(rssi)}, dbus_interface=DBUSMOCK_IFACE
        )

    def set_rssi(self, mac: str, rssi: int, adapter: str = "hci0") -> None:
        self._obj(self.device_path(mac, adapter)).UpdateProperties(
            DEVICE_IFACE, {"RSSI": dbus.Int16(rssi)}, dbus_interface=DBUSMOCK_IFACE
        )

    def connected(self, mac: str, adapter: str = "hci0") -> bool:
        props = self._obj(self.device_path(mac, adapter)).GetAll(DEVICE_IFACE, dbus_interface=dbus.PROPERTIES_IFACE)
        return bool(props["Connected"])

    def drop_connection(self, mac: str, adapter: str = "hci0") -> None:
        """The link is lost (out of range): BlueZ says so with Connected = False."""
        self._obj(self.device_path(mac, adapter)).UpdateProperties(
            DEVICE_IFACE,
            {"Connected": dbus.Boolean(False), "ServicesResolved": dbus.Boolean(False)},
            dbus_interface=DBUSMOCK_IFACE,
        )

    # ------------------------------------------------------------------ GATT

    def add_characteristic(
        self,
        mac: str,
        service_uuid: str,
        char_uuid: str,
        value: bytes,
        flags: tuple[str, ...] = ("read", "notify"),
        adapter: str = "hci0",
    ) -> str:
        """A primary service with one characteristic on the device; returns the characteristic's path."""
        self._chars += 1
        device = self.device_path(mac, adapter)
        service = f"{device}/service{self._chars:04x}"
        char = f"{service}/char{self._chars:04x}"
        service_props = {
            "UUID": dbus.String(service_uuid),
            "Primary": dbus.Boolean(True),
            "Device": dbus.ObjectPath(device),
            "Handle": dbus.UInt16(self._chars * 16),
        }
        self._root.AddObject(service, SERVICE_IFACE, service_props, [], dbus_interface=DBUSMOCK_IFACE)
        char_props = {
            "UUID": dbus.String(char_uuid),
            "Service": dbus.ObjectPath(service),
            "Value": dbus.Array(value, signature="y"),
            "Notifying": dbus.Boolean(False),
            "Flags": dbus.Array(list(flags), signature="s"),
            "Handle": dbus.UInt16(self._chars * 16 + 2),
            "MTU": dbus.UInt16(23),
        }
        self._root.AddObject(
            char,
            CHAR_IFACE,
            char_props,
            [
                ("ReadValue", "a{sv}", "ay", _READ),
                ("StartNotify", "", "", _START_NOTIFY),
                ("StopNotify", "", "", _STOP_NOTIFY),
            ],
            dbus_interface=DBUSMOCK_IFACE,
        )
        self._interfaces_added(service, SERVICE_IFACE, service_props)
        self._interfaces_added(char, CHAR_IFACE, char_props)
        return char

    def _interfaces_added(self, path: str, iface: str, props: dict[str, Any]) -> None:
        """What bluetoothd's object manager says of a new object (AddObject alone says nothing)."""
        self._root.EmitSignal(
            OBJECT_MANAGER,
            "InterfacesAdded",
            "oa{sa{sv}}",
            [
                dbus.ObjectPath(path),
                dbus.Dictionary({iface: dbus.Dictionary(props, signature="sv")}, signature="sa{sv}"),
            ],
            dbus_interface=DBUSMOCK_IFACE,
        )

    def notify(self, char_path: str, value: bytes) -> None:
        """The device changes the characteristic's value; a subscribed central is told."""
        self._obj(char_path).UpdateProperties(
            CHAR_IFACE, {"Value": dbus.Array(value, signature="y")}, dbus_interface=DBUSMOCK_IFACE
        )

    def calls(self, path: str) -> list[str]:
        """Names of the methods called on one object, in order (the mock's own record)."""
        return [str(call[1]) for call in self._obj(path).GetCalls(dbus_interface=DBUSMOCK_IFACE)]

    def monitor_patterns(self, adapter: str = "hci0") -> list[tuple[int, int, bytes]]:
        """The or-patterns of the advertisement monitor a client registered, read from that client as
        bluetoothd reads them (the monitor object lives on the client's own connection)."""
        registered = [
            call
            for call in self._obj(f"/org/bluez/{adapter}").GetCalls(dbus_interface=DBUSMOCK_IFACE)
            if call[1] == "RegisterMonitor"
        ]
        path = str(registered[-1][2][0])
        assert self._conn is not None
        bus = self._conn.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
        for name in bus.ListNames(dbus_interface="org.freedesktop.DBus"):
            # Connections of this very process cannot answer (no main loop runs here): a short timeout for all.
            if not str(name).startswith(":") or name == self._conn.get_unique_name():
                continue
            try:
                patterns = self._conn.get_object(name, path, introspect=False).Get(
                    "org.bluez.AdvertisementMonitor1", "Patterns", dbus_interface=dbus.PROPERTIES_IFACE, timeout=1
                )
            except dbus.exceptions.DBusException:
                continue
            return [(int(start), int(ad_type), bytes(content)) for start, ad_type, content in patterns]
        raise AssertionError(f"no client exports the monitor {path}")
