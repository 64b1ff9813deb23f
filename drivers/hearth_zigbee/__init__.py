"""The Zigbee driver: a zigpy ControllerApplication on a ZNP, EZSP or deCONZ radio.

Imported only when ``[drivers.zigbee]`` is enabled; zigpy and the radio libraries are imported here, never at
Hearth's import time.
"""

from __future__ import annotations

from hearth_zigbee.driver import ZigbeeDriver

__all__ = ["ZigbeeDriver"]
