"""The Somfy RTS driver: one serial transmitter (CUL with culfw, or RFXtrx433E), virtual remotes, assumed states.

Imported only when ``[drivers.rts]`` is enabled; pyserial-asyncio-fast is imported here, never at Hearth's
import time.
"""

from __future__ import annotations

from hearth_rts.driver import RtsDriver

__all__ = ["RtsDriver"]
