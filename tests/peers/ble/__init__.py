"""BLE peers: BlueZ's D-Bus API mocked by python-dbusmock, and advertisement payloads as sensors send them."""

from tests.peers.ble.bluez import FakeBlueZ, full_uuid

__all__ = ["FakeBlueZ", "full_uuid"]
