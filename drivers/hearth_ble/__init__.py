"""BLE sensors through BlueZ with bleak: BTHome v2 and ATC/pvvx thermometer advertisements, active GATT links.

Imported only when ``[drivers.ble]`` is enabled; bleak is imported here, never at Hearth's import time.
"""

from __future__ import annotations

from hearth_ble.driver import BleDriver

__all__ = ["BleDriver"]
