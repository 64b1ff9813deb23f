"""Somfy RTS radio peers: a culfw CUL and an RFXtrx433E on socat pty pairs, and the RTS frame codec."""

from tests.peers.rts.cul import CulEmulator, CulFrame
from tests.peers.rts.rfxtrx import RfxtrxEmulator, RfyRecord
from tests.peers.rts.rts_frame import RtsFrame, RtsMotor, decode, encode

__all__ = ["CulEmulator", "CulFrame", "RfxtrxEmulator", "RfyRecord", "RtsFrame", "RtsMotor", "decode", "encode"]
