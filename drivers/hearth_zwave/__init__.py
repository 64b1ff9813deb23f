"""The Z-Wave driver: a client of a zwave-js server (zwave-js-server-python), which Hearth may also run itself.

Imported only when ``[drivers.zwave]`` is enabled; zwave-js-server-python is imported here, never at Hearth's
import time.
"""

from __future__ import annotations

from hearth_zwave.driver import ZWaveDriver

__all__ = ["ZWaveDriver"]
