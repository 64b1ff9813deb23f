"""A Z-Stack 3.x coordinator (CC2652-like) speaking TI's MT protocol, for the real zigpy-znp to drive.

zigpy_znp's command definitions and types are used as a codec for MT frames and NVRAM structures; what the
coordinator does with them (NVRAM, formation, permit join, the air with its simulated devices) is written here.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zigpy.zdo.types as zdo_t
import zigpy_znp.commands as c
import zigpy_znp.types as t
from zigpy_znp.frames import GeneralFrame, TransportFrame
from zigpy_znp.types.nvids import ExNvIds, NvSysIds, OsalNvIds

from tests.peers.pty import PtyLink
from tests.peers.znp import zcl
from tests.peers.znp.devices import Outgoing, ReceivedCommand, SimDevice
from tests.peers.znp.zcl import normalize_ieee

LOGGER = logging.getLogger(__name__)

SOF = 0xFE
LEGACY = (int(NvSysIds.ZSTACK), int(ExNvIds.LEGACY))
TABLE_SIZES = {
    ExNvIds.ADDRMGR: 32,
    ExNvIds.TCLK_TABLE: 16,
    ExNvIds.APS_KEY_DATA_TABLE: 16,
    ExNvIds.NWK_SEC_MATERIAL_TABLE: 4,
}
APS_LINK_KEY_TABLE_SIZE = 2 + 16 * 6  # uint16 count + room for 16 entries
BROADCASTS = (0xFFFC, 0xFFFD, 0xFFFF)
VERSION = {"TransportRev": 2, "ProductId": 1, "MajorRel": 2, "MinorRel": 7, "MaintRel": 1}
CODE_REVISION = 20230507
CAPABILITIES = (
    t.MTCapabilities.SYS
    | t.MTCapabilities.MAC
    | t.MTCapabilities.AF
    | t.MTCapabilities.ZDO
    | t.MTCapabilities.SAPI
    | t.MTCapabilities.UTIL
    | t.MTCapabilities.DEBUG
    | t.MTCapabilities.APP
    | t.MTCapabilities.GP
    | t.MTCapabilities.APP_CNF
    | t.MTCapabilities.ZOAD
)


@dataclass(frozen=True)
class NetworkState:
    """The network the coordinator has formed, read back from its NVRAM."""

    channel: int
    pan_id: int
    extended_pan_id: str
    network_key: bytes
    nwk_update_id: int
    frame_counter: int = field(default=0, compare=False)  # moves on; not part of the network's identity


def _eui64(ieee: str) -> t.EUI64:
    return t.EUI64.convert(ieee)


# ---------------------------------------------------------------------------------------------------------------
# Links: the serial port zigpy opens


class _TcpLink:
    """The coordinator on a TCP port, like a network-attached Zigbee stick: ``socket://127.0.0.1:PORT``."""

    def __init__(self, on_data: Callable[[bytes], None]) -> None:
        self._on_data = on_data
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def port_path(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:  # one host at a time, the newest wins
            self._writer.close()
        self._writer = writer
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while data := await reader.read(4096):
                self._on_data(data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            if self._writer is writer:
                self._writer = None
            writer.close()

    def write(self, data: bytes) -> None:
        if self._writer is not None:
            self._writer.write(data)

    async def wait_closed(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for task in list(self._tasks):
            task.cancel()


# ---------------------------------------------------------------------------------------------------------------
# The coordinator


class ZnpEmulator:
    """A Z-Stack 3.30 coordinator on a serial port, with simulated devices on its air.

    Start with ``await ZnpEmulator.start(tmp_path)``; point zigpy at ``emulator.port_path``.
    """

    def __init__(
        self,
        directory: Path,
        *,
        transport: str = "pty",
        persist: bool = True,
        name: str = "ttyZNP",
        ieee: str = "00:12:4b:00:24:c0:ff:ee",
    ) -> None:
        if transport not in ("pty", "tcp"):
            raise ValueError("transport is 'pty' or 'tcp'")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.transport = transport
        self.ieee = normalize_ieee(ieee)
        self.state_file: Path | None = self.directory / f"{name}.nvram.json" if persist else None
        self.reply_delay = 0.002  # seconds between a request reaching a device and its answer
        self.devices: dict[str, SimDevice] = {}
        self.mt_log: deque[tuple[str, Any]] = deque(maxlen=10000)  # ("rx"/"tx", MT command), for debugging
        self._buffer = bytearray()
        self._nv: dict[tuple[int, int, int], bytearray] = {}
        self._endpoints: dict[int, Any] = {}
        self._running = False
        self._network_identity: tuple[Any, ...] | None = None
        self._identity_checked = True
        self._permit_until = 0.0
        self._permit_via: int | None = None
        # Install codes given by the host (IEEE -> link key) and whether joins need one; BDB config is not
        # persistent in Z-Stack, so a reset forgets both.
        self.install_codes: dict[str, bytes] = {}
        self.joins_need_install_code = False
        self._bdb_primary: int | None = None
        self._save_handle: asyncio.TimerHandle | None = None
        self._handles: set[asyncio.TimerHandle] = set()
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._plugged = False
        self._link: PtyLink | _TcpLink = (
            PtyLink(self.directory, name, self._on_data) if transport == "pty" else _TcpLink(self._on_data)
        )
        self._handlers: dict[type, Callable[[Any], list[Any]]] = self._build_handlers()
        self._load()

    # -- lifecycle -------------------------------------------------------------------------------------------------

    @classmethod
    async def start(cls, tmp_path: Path | str, **kwargs: Any) -> ZnpEmulator:
        """Make the port and serve the coordinator on it. kwargs: transport="pty"|"tcp", persist, name, ieee."""
        emulator = cls(Path(tmp_path), **kwargs)
        await emulator._link.open()
        emulator._plugged = True
        return emulator

    @property
    def port_path(self) -> str:
        """What zigpy's ``device: {path: ...}`` takes: a pty path, or ``socket://127.0.0.1:PORT``."""
        return self._link.port_path

    @property
    def plugged(self) -> bool:
        return self._plugged

    @property
    def connected(self) -> bool:
        """A host has the port open (always true for a plugged pty: its far end cannot tell)."""
        return self._plugged and self._link.connected

    async def stop(self) -> None:
        """Shut the emulator down: port closed and removed, NVRAM saved."""
        self.unplug()
        await self._link.wait_closed()

    def unplug(self) -> None:
        """The stick is pulled out: the port disappears and the radio loses power (NVRAM is kept)."""
        self._power_off()
        self._link.close()
        self._plugged = False
        self._save()

    async def replug(self) -> None:
        """The stick is put back: the same port path appears again, the radio boots from NVRAM."""
        if self._plugged:
            return
        self._buffer.clear()
        await self._link.open()
        self._plugged = True

    def _power_off(self) -> None:
        self._running = False
        self._endpoints.clear()
        self._permit_until = 0.0
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
        self._buffer.clear()

    # -- network state -------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """The coordinator has started its network (after zigpy-znp's BDB commissioning)."""
        return self._running

    @property
    def network(self) -> NetworkState | None:
        """The formed network (channel, PAN id, extended PAN id, key), or None before formation."""
        nib = self._read_nib()
        if nib is None or nib.nwkLogicalChannel == 0 or self._osal_int(OsalNvIds.BDBNODEISONANETWORK) != 1:
            return None
        key_raw = self._nv.get((*LEGACY, OsalNvIds.NWK_ACTIVE_KEY_INFO))
        key = t.NwkKeyDesc.deserialize(bytes(key_raw))[0].Key if key_raw else t.KeyData([0] * 16)
        return NetworkState(
            channel=int(nib.nwkLogicalChannel),
            pan_id=int(nib.nwkPanId),
            extended_pan_id=str(nib.extendedPANID).lower(),
            network_key=bytes(key),
            nwk_update_id=int(nib.nwkUpdateId),
            frame_counter=self._frame_counter(nib.extendedPANID),
        )

    @property
    def permit_join_open(self) -> bool:
        return self._running and time.monotonic() < self._permit_until

    @property
    def permit_join_via(self) -> int | None:
        """The NWK address of the router joins were permitted through, None when permitted network-wide."""
        return self._permit_via if self.permit_join_open else None

    @property
    def registered_endpoints(self) -> dict[int, Any]:
        return dict(self._endpoints)

    # -- simulated devices -----------------------------------------------------------------------------------------

    def add_device(self, device: SimDevice, *, joined: bool = False) -> SimDevice:
        """Put a device in range. ``joined=True``: it is already on the (formed) network, e.g. for a new emulator
        on a saved NVRAM whose devices zigpy's database already knows."""
        self.devices[device.ieee] = device
        if joined:
            device.joined = True
            self._addrmgr_add(device)
        return device

    def device(self, ieee: Any) -> SimDevice:
        return self.devices[normalize_ieee(ieee)]

    async def join(self, ieee: Any, *, parent_nwk: int | None = None) -> None:
        """The device joins (only while joins are permitted): TC device indication, then its Device_annce."""
        dev = self.device(ieee)
        if not self.permit_join_open:
            raise RuntimeError("joins are not permitted on the emulated network")
        if self.joins_need_install_code and dev.ieee not in self.install_codes:
            raise RuntimeError(f"joins need an install code and {dev.ieee} has none")
        parent = parent_nwk if parent_nwk is not None else (self._permit_via or 0x0000)
        dev.joined = True
        dev.answered.clear()
        self._addrmgr_add(dev)
        self._send(c.ZDO.TCDevInd.Callback(SrcNwk=dev.nwk, SrcIEEE=_eui64(dev.ieee), ParentNwk=parent))
        announce = zcl.u16(dev.nwk) + zcl.ieee_to_bytes(dev.ieee) + zcl.u8(dev.mac_capabilities)
        self._send_zdo(dev.nwk, zcl.DEVICE_ANNCE, random.randint(0, 255), announce, broadcast=True)

    async def leave(self, ieee: Any, *, rejoin: bool = False) -> None:
        """The device leaves the network by itself (ZDO leave indication)."""
        dev = self.device(ieee)
        self._device_left(dev, rejoin=rejoin)

    def remove_device(self, ieee: Any) -> None:
        """The device is taken out of range without a word (no leave indication)."""
        dev = self.devices.pop(normalize_ieee(ieee))
        dev.joined = False

    def set_attribute(self, ieee: Any, endpoint: int, cluster: int, attr: int, value: Any, report: bool = True) -> None:
        """Change an attribute as the device would; reported if ``report`` or if reporting is configured."""
        dev = self.device(ieee)
        out = dev.set_attribute(endpoint, cluster, attr, value, report)
        if dev.joined and not dev.silent:
            for item in out:
                self._device_frame(dev, item)

    def send_zcl(self, ieee: Any, endpoint: int, cluster: int, data: bytes, *, dst_endpoint: int = 1) -> None:
        """Send a raw ZCL frame from a device to the coordinator (for anything the helpers do not cover)."""
        dev = self.device(ieee)
        self._device_frame(dev, Outgoing(endpoint, cluster, data, dst_endpoint))

    def silence(self, ieee: Any, silent: bool = True, *, mode: str = "ack") -> None:
        """The device stops answering. ``mode``: "ack" (frames are acknowledged, no ZCL/ZDO answer: zigpy times
        out), "no_ack" (AF.DataConfirm MAC_NO_ACK at once: a delivery failure), "none" (no DataConfirm either)."""
        if mode not in ("ack", "no_ack", "none"):
            raise ValueError("mode is 'ack', 'no_ack' or 'none'")
        dev = self.device(ieee)
        dev.silent = silent
        dev.silence_mode = mode

    def fail_next(self, ieee: Any, status: int) -> None:
        """The device's next cluster command is refused with a Default Response carrying ``status``."""
        self.device(ieee).fail_queue.append(int(status))

    def received(self, ieee: Any, *, general: bool = False) -> list[ReceivedCommand]:
        """Cluster-specific ZCL commands the device received, as (endpoint, cluster, command id, payload);
        ``general=True``: the profile-wide ones instead (read attributes, configure reporting...)."""
        dev = self.device(ieee)
        return list(dev.general_log if general else dev.received_log)

    def reporting(self, ieee: Any) -> dict[tuple[int, int, int], tuple[int, int, int, Any]]:
        """Reporting the driver configured: {(ep, cluster, attr): (type, min interval, max interval, change)}."""
        return dict(self.device(ieee).reporting)

    def bindings(self, ieee: Any) -> list[tuple[int, int, bytes]]:
        """Bind requests the device accepted: (source endpoint, cluster, raw destination address)."""
        return list(self.device(ieee).bindings)

    def interviewed(self, ieee: Any) -> bool:
        """The device answered its node descriptor, endpoints and every simple descriptor."""
        dev = self.device(ieee)
        needed = {("node",), ("active",)} | {("simple", ep) for ep in dev.endpoints}
        return needed <= dev.answered

    async def wait_interviewed(self, ieee: Any, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: self.interviewed(ieee), timeout)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` is true; checked whenever the emulator handles a frame."""
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            async with asyncio.timeout(timeout):
                await future
        finally:
            self._waiters = [w for w in self._waiters if w[1] is not future]

    def _wake(self) -> None:
        for predicate, future in list(self._waiters):
            if not future.done() and predicate():
                future.set_result(None)

    # -- MT framing ------------------------------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        self._buffer += data
        while True:
            start = self._buffer.find(SOF)
            if start < 0:
                self._buffer.clear()
                return
            del self._buffer[:start]
            if len(self._buffer) < 5:
                return
            length = self._buffer[1]
            if length > 250:
                del self._buffer[:1]
                continue
            if len(self._buffer) < length + 5:
                return
            raw = bytes(self._buffer[: length + 5])
            fcs = 0
            for b in raw[1:-1]:
                fcs ^= b
            if fcs != raw[-1]:
                del self._buffer[:1]
                continue
            del self._buffer[: length + 5]
            header = t.CommandHeader(int.from_bytes(raw[2:4], "little"))
            self._on_frame(GeneralFrame(header, raw[4:-1]))

    def _on_frame(self, frame: GeneralFrame) -> None:
        cls = c.COMMANDS_BY_ID.get(frame.header)
        if cls is None or cls.Req is not cls:
            if frame.header.type == t.CommandType.SREQ:
                self._send(
                    c.RPCError.CommandNotRecognized.Rsp(
                        ErrorCode=c.rpc_error.ErrorCode.InvalidCommandId, RequestHeader=frame.header
                    )
                )
            return
        try:
            request = cls.from_frame(frame, align=True)
        except ValueError:
            if frame.header.type == t.CommandType.SREQ:
                self._send(
                    c.RPCError.CommandNotRecognized.Rsp(
                        ErrorCode=c.rpc_error.ErrorCode.InvalidParameter, RequestHeader=frame.header
                    )
                )
            return
        self.mt_log.append(("rx", request))
        handler = self._handlers.get(cls)
        if handler is None:
            LOGGER.debug("emulator: no handler for %s", request)
            if frame.header.type == t.CommandType.SREQ:
                self._send(
                    c.RPCError.CommandNotRecognized.Rsp(
                        ErrorCode=c.rpc_error.ErrorCode.InvalidCommandId, RequestHeader=frame.header
                    )
                )
            return
        try:
            responses = handler(request)
        except Exception:
            LOGGER.exception("emulator: failed to handle %s", request)
            responses = []
            if frame.header.type == t.CommandType.SREQ:
                responses = [
                    c.RPCError.CommandNotRecognized.Rsp(
                        ErrorCode=c.rpc_error.ErrorCode.InvalidParameter, RequestHeader=frame.header
                    )
                ]
        for response in responses:
            self._send(response)
        self._wake()

    def _send(self, command: Any) -> None:
        if not self._plugged:
            return
        self.mt_log.append(("tx", command))
        frame = command.to_frame(align=True)
        self._link.write(TransportFrame(frame).serialize())

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()

        def run() -> None:
            self._handles.discard(handle)
            action()
            self._wake()

        handle = loop.call_later(delay, run)
        self._handles.add(handle)

    def _build_handlers(self) -> dict[type, Callable[[Any], list[Any]]]:
        return {
            c.SYS.Ping.Req: lambda r: [c.SYS.Ping.Rsp(Capabilities=CAPABILITIES)],
            c.SYS.Version.Req: lambda r: [
                c.SYS.Version.Rsp(
                    **VERSION,
                    CodeRevision=CODE_REVISION,
                    BootloaderBuildType=c.sys.BootloaderBuildType.NON_BOOTLOADER_BUILD,
                    BootloaderRevision=0xFFFFFFFF,
                )
            ],
            c.SYS.ResetReq.Req: self._reset,
            c.SYS.GetExtAddr.Req: lambda r: [c.SYS.GetExtAddr.Rsp(ExtAddr=self._coordinator_ieee())],
            c.SYS.SetTxPower.Req: lambda r: [c.SYS.SetTxPower.Rsp(StatusOrPower=0)],
            c.SYS.Random.Req: lambda r: [c.SYS.Random.Rsp(Value=random.randint(0, 0xFFFF))],
            c.SYS.OSALNVItemInit.Req: self._osal_item_init,
            c.SYS.OSALNVRead.Req: lambda r: self._nv_read(c.SYS.OSALNVRead, (*LEGACY, r.Id), r.Offset),
            c.SYS.OSALNVReadExt.Req: lambda r: self._nv_read(c.SYS.OSALNVReadExt, (*LEGACY, r.Id), r.Offset),
            c.SYS.OSALNVWrite.Req: lambda r: self._nv_write(c.SYS.OSALNVWrite, (*LEGACY, r.Id), r.Offset, r.Value),
            c.SYS.OSALNVWriteExt.Req: lambda r: self._nv_write(
                c.SYS.OSALNVWriteExt, (*LEGACY, r.Id), r.Offset, r.Value
            ),
            c.SYS.OSALNVDelete.Req: self._osal_delete,
            c.SYS.OSALNVLength.Req: lambda r: [c.SYS.OSALNVLength.Rsp(ItemLen=len(self._nv.get((*LEGACY, r.Id), b"")))],
            c.SYS.NVCreate.Req: self._nv_create,
            c.SYS.NVDelete.Req: self._nv_delete,
            c.SYS.NVLength.Req: lambda r: [
                c.SYS.NVLength.Rsp(Length=len(self._nv.get((r.SysId, r.ItemId, r.SubId), b"")))
            ],
            c.SYS.NVRead.Req: lambda r: self._nv_read(c.SYS.NVRead, (r.SysId, r.ItemId, r.SubId), r.Offset, r.Length),
            c.SYS.NVWrite.Req: lambda r: self._nv_write(c.SYS.NVWrite, (r.SysId, r.ItemId, r.SubId), r.Offset, r.Value),
            c.UTIL.AssocFindDevice.Req: lambda r: [
                c.UTIL.AssocFindDevice.Rsp(Device=t.Bytes(self._assoc_device(0xFFFE, 0xFF).serialize(align=True)))
            ],
            c.UTIL.AssocGetWithAddress.Req: self._assoc_get,
            c.UTIL.AssocRemove.Req: lambda r: [c.UTIL.AssocRemove.Rsp(Status=t.Status.SUCCESS)],
            c.UTIL.AssocAdd.Req: lambda r: [c.UTIL.AssocAdd.Rsp(Status=t.Status.SUCCESS)],
            c.UTIL.LEDControl.Req: lambda r: [c.UTIL.LEDControl.Rsp(Status=t.Status.SUCCESS)],
            c.UTIL.GetDeviceInfo.Req: self._device_info,
            c.AppConfig.BDBSetChannel.Req: self._bdb_set_channel,
            c.AppConfig.BDBStartCommissioning.Req: self._bdb_start_commissioning,
            c.AppConfig.BDBAddInstallCode.Req: self._add_install_code,
            c.AppConfig.BDBSetJoinUsesInstallCodeKey.Req: self._set_joins_need_install_code,
            c.AppConfig.BDBSetTcRequireKeyExchange.Req: lambda r: [
                c.AppConfig.BDBSetTcRequireKeyExchange.Rsp(Status=t.Status.SUCCESS)
            ],
            c.AppConfig.SetNwkFrameCounter.Req: lambda r: [c.AppConfig.SetNwkFrameCounter.Rsp(Status=t.Status.SUCCESS)],
            c.ZDO.MsgCallbackRegister.Req: lambda r: [c.ZDO.MsgCallbackRegister.Rsp(Status=t.Status.SUCCESS)],
            c.ZDO.ExtRouteChk.Req: lambda r: [c.ZDO.ExtRouteChk.Rsp(Status=c.zdo.RoutingStatus.SUCCESS)],
            c.ZDO.ExtRouteDisc.Req: lambda r: [c.ZDO.ExtRouteDisc.Rsp(Status=t.Status.SUCCESS)],
            c.ZDO.MgmtPermitJoinReq.Req: self._permit_join,
            c.ZDO.MgmtNWKUpdateReq.Req: self._nwk_update,
            c.ZDO.ExtAddGroup.Req: lambda r: [c.ZDO.ExtAddGroup.Rsp(Status=t.Status.SUCCESS)],
            c.ZDO.ExtRemoveGroup.Req: lambda r: [c.ZDO.ExtRemoveGroup.Rsp(Status=t.Status.SUCCESS)],
            c.ZDO.ExtFindGroup.Req: lambda r: [c.ZDO.ExtFindGroup.Rsp(Group=t.Bytes(b""))],
            c.AF.Register.Req: self._af_register,
            c.AF.Delete.Req: self._af_delete,
            c.AF.DataRequestExt.Req: lambda r: self._af_data(
                c.AF.DataRequestExt, r.DstAddrModeAddress.mode, r.DstAddrModeAddress.address, r
            ),
            c.AF.DataRequest.Req: lambda r: self._af_data(c.AF.DataRequest, t.AddrMode.NWK, r.DstAddr, r),
            c.AF.DataRequestSrcRtg.Req: lambda r: self._af_data(c.AF.DataRequestSrcRtg, t.AddrMode.NWK, r.DstAddr, r),
        }

    # -- NVRAM -------------------------------------------------------------------------------------------------------

    def _factory_nvram(self) -> None:
        """A freshly flashed CC2652: configuration items and empty tables, no network."""
        osal: dict[int, bytes] = {
            OsalNvIds.EXTADDR: _eui64(self.ieee).serialize(),
            OsalNvIds.STARTUP_OPTION: b"\x00",
            OsalNvIds.LOGICAL_TYPE: b"\x00",
            OsalNvIds.PANID: t.uint16_t(0xFFFF).serialize(),
            OsalNvIds.CHANLIST: t.Channels.from_channel_list([11]).serialize(),
            OsalNvIds.APS_USE_EXT_PANID: bytes(8),
            OsalNvIds.EXTENDED_PAN_ID: bytes(8),
            OsalNvIds.PRECFGKEY: bytes(16),
            OsalNvIds.PRECFGKEYS_ENABLE: b"\x00",
            OsalNvIds.BDBNODEISONANETWORK: b"\x00",
            OsalNvIds.CONCENTRATOR_ENABLE: b"\x00",
            OsalNvIds.CONCENTRATOR_DISCOVERY: b"\x78",
            OsalNvIds.CONCENTRATOR_RC: b"\x00",
            OsalNvIds.SRC_RTG_EXPIRY_TIME: b"\x0a",
            OsalNvIds.NWK_CHILD_AGE_ENABLE: b"\x01",
            OsalNvIds.BCAST_DELIVERY_TIME: b"\x1e",
            OsalNvIds.ZDO_DIRECT_CB: b"\x00",
            OsalNvIds.APS_LINK_KEY_TABLE: bytes(APS_LINK_KEY_TABLE_SIZE),
            OsalNvIds.TCLK_SEED: os.urandom(16),  # Z-Stack makes its seed on first boot
        }
        self._nv = {(*LEGACY, int(k)): bytearray(v) for k, v in osal.items()}
        self._reset_tables()

    def _recreate_missing(self) -> None:
        """At boot Z-Stack recreates configuration items that were deleted, with their defaults."""
        current = self._nv
        self._factory_nvram()
        defaults = self._nv
        self._nv = current
        for key, value in defaults.items():
            self._nv.setdefault(key, value)

    def _reset_tables(self) -> None:
        fills = {
            ExNvIds.ADDRMGR: self._empty_addrmgr(),
            ExNvIds.TCLK_TABLE: self._empty_tclk(),
            ExNvIds.APS_KEY_DATA_TABLE: t.APSKeyDataTableEntry(
                Key=t.KeyData([0] * 16), TxFrameCounter=0, RxFrameCounter=0
            ).serialize(align=True),
            ExNvIds.NWK_SEC_MATERIAL_TABLE: t.NwkSecMaterialDesc(
                FrameCounter=0, ExtendedPanID=t.EUI64(bytes(8))
            ).serialize(align=True),
        }
        for item, size in TABLE_SIZES.items():
            for sub in range(size):
                self._nv[(int(NvSysIds.ZSTACK), int(item), sub)] = bytearray(fills[item])
        self._nv[(*LEGACY, int(OsalNvIds.APS_LINK_KEY_TABLE))] = bytearray(APS_LINK_KEY_TABLE_SIZE)

    @staticmethod
    def _empty_addrmgr() -> bytes:
        return t.AddrMgrEntry(
            type=t.AddrMgrUserType(0xFF), nwkAddr=0xFFFF, extAddr=t.EUI64.convert("FF:FF:FF:FF:FF:FF:FF:FF")
        ).serialize(align=True)

    @staticmethod
    def _empty_tclk() -> bytes:
        return t.TCLKDevEntry(
            txFrmCntr=0,
            rxFrmCntr=0,
            extAddr=t.EUI64(bytes(8)),
            keyAttributes=t.KeyAttributes.DEFAULT_KEY,
            keyType=t.KeyType.NONE,
            SeedShift_IcIndex=0,
        ).serialize(align=True)

    def _load(self) -> None:
        if self.state_file is not None and self.state_file.exists():
            data = json.loads(self.state_file.read_text())
            self._nv = {
                tuple(int(p) for p in key.split(":")): bytearray.fromhex(value)  # type: ignore[misc]
                for key, value in data["nvram"].items()
            }
        else:
            self._factory_nvram()

    def _save(self) -> None:
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        if self.state_file is None:
            return
        data = {"nvram": {f"{s}:{i}:{sub}": bytes(v).hex() for (s, i, sub), v in sorted(self._nv.items())}}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=0))
        tmp.replace(self.state_file)

    def _dirty(self) -> None:
        if self.state_file is None or self._save_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._save()
            return
        self._save_handle = loop.call_later(0.2, self._save)

    def _osal(self, nvid: int) -> bytes | None:
        value = self._nv.get((*LEGACY, int(nvid)))
        return bytes(value) if value is not None else None

    def _osal_int(self, nvid: int) -> int | None:
        value = self._osal(nvid)
        return int.from_bytes(value, "little") if value else None

    def _osal_set(self, nvid: int, value: bytes) -> None:
        self._nv[(*LEGACY, int(nvid))] = bytearray(value)
        self._dirty()

    def _read_nib(self) -> Any:
        raw = self._osal(OsalNvIds.NIB)
        if raw is None:
            return None
        try:
            return t.NIB.deserialize(raw, align=True)[0]
        except ValueError:
            return None

    def _coordinator_ieee(self) -> t.EUI64:
        raw = self._osal(OsalNvIds.EXTADDR)
        return t.EUI64.deserialize(raw)[0] if raw else _eui64(self.ieee)

    def _frame_counter(self, epid: t.EUI64) -> int:
        for sub in range(TABLE_SIZES[ExNvIds.NWK_SEC_MATERIAL_TABLE]):
            raw = self._nv.get((int(NvSysIds.ZSTACK), int(ExNvIds.NWK_SEC_MATERIAL_TABLE), sub))
            if raw is None:
                break
            entry = t.NwkSecMaterialDesc.deserialize(bytes(raw), align=True)[0]
            if entry.ExtendedPanID == epid:
                return int(entry.FrameCounter)
        return 0

    def _osal_item_init(self, r: Any) -> list[Any]:
        key = (*LEGACY, int(r.Id))
        if key in self._nv:
            return [c.SYS.OSALNVItemInit.Rsp(Status=t.Status.SUCCESS)]
        value = bytearray(bytes(r.Value)[: r.ItemLen]).ljust(r.ItemLen, b"\x00")
        self._nv[key] = value
        self._dirty()
        return [c.SYS.OSALNVItemInit.Rsp(Status=t.Status.NV_ITEM_UNINIT)]

    def _osal_delete(self, r: Any) -> list[Any]:
        key = (*LEGACY, int(r.Id))
        if key not in self._nv:
            return [c.SYS.OSALNVDelete.Rsp(Status=t.Status.NV_ITEM_UNINIT)]
        if len(self._nv[key]) != r.ItemLen:
            return [c.SYS.OSALNVDelete.Rsp(Status=t.Status.NV_BAD_ITEM_LEN)]
        del self._nv[key]
        self._dirty()
        return [c.SYS.OSALNVDelete.Rsp(Status=t.Status.SUCCESS)]

    def _nv_create(self, r: Any) -> list[Any]:
        key = (int(r.SysId), int(r.ItemId), int(r.SubId))
        if key in self._nv:
            return [c.SYS.NVCreate.Rsp(Status=t.Status.NV_ITEM_UNINIT)]
        self._nv[key] = bytearray(int(r.Length))
        self._dirty()
        return [c.SYS.NVCreate.Rsp(Status=t.Status.SUCCESS)]

    def _nv_delete(self, r: Any) -> list[Any]:
        key = (int(r.SysId), int(r.ItemId), int(r.SubId))
        if self._nv.pop(key, None) is None:
            return [c.SYS.NVDelete.Rsp(Status=t.Status.NV_ITEM_UNINIT)]
        self._dirty()
        return [c.SYS.NVDelete.Rsp(Status=t.Status.SUCCESS)]

    def _nv_read(self, command: Any, key: tuple[int, int, int], offset: int, length: int = 244) -> list[Any]:
        value = self._nv.get((int(key[0]), int(key[1]), int(key[2])))
        if value is None:
            return [command.Rsp(Status=t.Status.INVALID_PARAMETER, Value=t.ShortBytes(b""))]
        if offset > len(value):
            return [command.Rsp(Status=t.Status.INVALID_PARAMETER, Value=t.ShortBytes(b""))]
        chunk = bytes(value[offset : offset + min(int(length), 244)])
        return [command.Rsp(Status=t.Status.SUCCESS, Value=t.ShortBytes(chunk))]

    def _nv_write(self, command: Any, key: tuple[int, int, int], offset: int, data: bytes) -> list[Any]:
        key = (int(key[0]), int(key[1]), int(key[2]))
        value = self._nv.get(key)
        if value is None:
            return [command.Rsp(Status=t.Status.NV_ITEM_UNINIT)]
        data = bytes(data)
        if offset + len(data) > len(value):
            return [command.Rsp(Status=t.Status.NV_BAD_ITEM_LEN)]
        value[offset : offset + len(data)] = data
        self._dirty()
        return [command.Rsp(Status=t.Status.SUCCESS)]

    # -- address manager: the devices the coordinator knows (what zigpy-znp backs up) --------------------------------

    def _table_key(self, item: ExNvIds, sub: int) -> tuple[int, int, int]:
        return (int(NvSysIds.ZSTACK), int(item), sub)

    def _addrmgr_add(self, dev: SimDevice) -> None:
        self._addrmgr_remove(dev)
        entry_type = t.AddrMgrUserType.Security
        if not dev.is_router:
            entry_type |= t.AddrMgrUserType.Assoc
        entry = t.AddrMgrEntry(type=entry_type, nwkAddr=dev.nwk, extAddr=_eui64(dev.ieee)).serialize(align=True)
        key_entry = t.TCLKDevEntry(
            txFrmCntr=0,
            rxFrmCntr=0,
            extAddr=_eui64(dev.ieee),
            keyAttributes=t.KeyAttributes.VERIFIED_KEY,
            keyType=t.KeyType.NONE,
            SeedShift_IcIndex=0,
        ).serialize(align=True)
        for item, value, empty in (
            (ExNvIds.ADDRMGR, entry, self._empty_addrmgr()),
            (ExNvIds.TCLK_TABLE, key_entry, self._empty_tclk()),
        ):
            for sub in range(TABLE_SIZES[item]):
                current = self._nv.get(self._table_key(item, sub))
                if current is not None and bytes(current) == empty:
                    self._nv[self._table_key(item, sub)] = bytearray(value)
                    break
        self._dirty()

    def _addrmgr_remove(self, dev: SimDevice) -> None:
        ieee = _eui64(dev.ieee).serialize()
        for item, empty, offset in (
            (ExNvIds.ADDRMGR, self._empty_addrmgr(), 3),
            (ExNvIds.TCLK_TABLE, self._empty_tclk(), 8),
        ):
            for sub in range(TABLE_SIZES[item]):
                current = self._nv.get(self._table_key(item, sub))
                if current is not None and bytes(current[offset : offset + 8]) == ieee:
                    self._nv[self._table_key(item, sub)] = bytearray(empty)
        self._dirty()

    def _assoc_device(self, nwk: int, relation: int) -> Any:
        device, _ = c.util.Device.deserialize(bytes(36), align=True)
        return device.replace(shortAddr=nwk, nodeRelation=c.util.NodeRelation(relation))

    def _assoc_get(self, r: Any) -> list[Any]:
        dev = self._find_device(t.AddrMode.IEEE, r.IEEE) or self._find_device(t.AddrMode.NWK, r.NWK)
        if dev is None or not dev.joined or dev.is_router:
            device = self._assoc_device(0xFFFE, c.util.NodeRelation.NOTUSED)
        else:
            device = self._assoc_device(dev.nwk, c.util.NodeRelation.CHILD_RFD)
        return [c.UTIL.AssocGetWithAddress.Rsp(Device=device)]

    def _device_info(self, r: Any) -> list[Any]:
        state = t.DeviceState.StartedAsCoordinator if self._running else t.DeviceState.InitializedNotStarted
        children = [d.nwk for d in self.devices.values() if d.joined and not d.is_router]
        return [
            c.UTIL.GetDeviceInfo.Rsp(
                Status=t.Status.SUCCESS,
                IEEE=self._coordinator_ieee(),
                NWK=0x0000,
                DeviceType=t.DeviceTypeCapabilities.Coordinator | t.DeviceTypeCapabilities.Router,
                DeviceState=state,
                AssociatedDevices=t.NWKList(children),
            )
        ]

    # -- reset, formation, startup -----------------------------------------------------------------------------------

    def _reset(self, r: Any) -> list[Any]:
        """SYS.ResetReq: the chip reboots; startup options may wipe network state and configuration."""
        self._running = False
        self._endpoints.clear()
        self._permit_until = 0.0
        self._bdb_primary = None
        self.install_codes.clear()
        self.joins_need_install_code = False
        options = self._osal_int(OsalNvIds.STARTUP_OPTION) or 0
        if options & t.StartupOptions.ClearConfig:
            ieee = self._osal(OsalNvIds.EXTADDR)
            kept = {
                k: v
                for k, v in self._nv.items()
                if k[:2] == LEGACY
                and k[2]
                in (
                    OsalNvIds.HAS_CONFIGURED_ZSTACK3,
                    OsalNvIds.ZIGPY_ZNP_MIGRATION_ID,
                    OsalNvIds.TCLK_SEED,
                    OsalNvIds.NIB,
                    OsalNvIds.NWK_ACTIVE_KEY_INFO,
                    OsalNvIds.NWK_ALTERN_KEY_INFO,
                )
            }
            tables = {k: v for k, v in self._nv.items() if k[:2] != LEGACY}
            self._factory_nvram()
            self._nv.update(kept)
            self._nv.update(tables)
            self._nv[(*LEGACY, int(OsalNvIds.APS_LINK_KEY_TABLE))] = bytearray(APS_LINK_KEY_TABLE_SIZE)
            if ieee:
                self._osal_set(OsalNvIds.EXTADDR, ieee)
        if options & t.StartupOptions.ClearState:
            for nvid in (OsalNvIds.NIB, OsalNvIds.NWK_ACTIVE_KEY_INFO, OsalNvIds.NWK_ALTERN_KEY_INFO):
                self._nv.pop((*LEGACY, int(nvid)), None)
            self._osal_set(OsalNvIds.BDBNODEISONANETWORK, b"\x00")
            self._reset_tables()
        self._osal_set(OsalNvIds.STARTUP_OPTION, b"\x00")
        self._recreate_missing()
        self._save()
        self._later(0.005, lambda: self._send(c.SYS.ResetInd.Callback(Reason=t.ResetReason.PowerUp, **VERSION)))
        return []

    def _bdb_set_channel(self, r: Any) -> list[Any]:
        if r.IsPrimary:
            self._bdb_primary = int(r.Channel)
        return [c.AppConfig.BDBSetChannel.Rsp(Status=t.Status.SUCCESS)]

    def _bdb_start_commissioning(self, r: Any) -> list[Any]:
        out: list[Any] = [c.AppConfig.BDBStartCommissioning.Rsp(Status=t.Status.SUCCESS)]
        mode = c.app_config.BDBCommissioningMode
        status = c.app_config.BDBCommissioningStatus
        if not r.Mode & mode.NwkFormation:
            out.append(
                c.AppConfig.BDBCommissioningNotification.Callback(
                    Status=status.Success, Mode=r.Mode, RemainingModes=mode.NONE
                )
            )
            return out
        if self.network is None:
            out.append(c.ZDO.StateChangeInd.Callback(State=t.DeviceState.StartingAsCoordinator))
            out.append(
                c.AppConfig.BDBCommissioningNotification.Callback(
                    Status=status.InProgress, Mode=mode.NwkFormation, RemainingModes=mode.NwkFormation
                )
            )
            self._form()
            result = status.Success
        else:
            result = status.FormationFailure  # already on a network: Z-Stack resumes it
        self._start_network()
        out.append(c.ZDO.StateChangeInd.Callback(State=t.DeviceState.StartedAsCoordinator))
        out.append(
            c.AppConfig.BDBCommissioningNotification.Callback(
                Status=result, Mode=mode.NwkFormation, RemainingModes=mode.NONE
            )
        )
        return out

    def _form(self) -> None:
        """Form a network from the configuration items, as Z-Stack's BDB formation does."""
        mask = self._bdb_primary or self._osal_int(OsalNvIds.CHANLIST) or int(t.Channels.from_channel_list([11]))
        channels = [ch for ch in range(11, 27) if mask & (1 << ch)] or [11]
        channel = channels[0]
        pan_id = self._osal_int(OsalNvIds.PANID) or 0xFFFF
        if pan_id in (0xFFFF, 0xFFFE, 0):
            pan_id = random.randint(0x0001, 0xFFF0)
        epid_raw = self._osal(OsalNvIds.APS_USE_EXT_PANID) or bytes(8)
        if epid_raw == bytes(8):
            epid_raw = self._coordinator_ieee().serialize()
        epid = t.EUI64.deserialize(epid_raw)[0]
        key_raw = self._osal(OsalNvIds.PRECFGKEY) or bytes(16)
        if key_raw == bytes(16):
            key_raw = os.urandom(16)
        key = t.KeyData(key_raw)
        empty_key = t.NwkKeyDesc(KeySeqNum=0, Key=t.KeyData([0] * 16))
        nib = t.NIB(
            SequenceNum=0,
            PassiveAckTimeout=5,
            MaxBroadcastRetries=2,
            MaxChildren=0,
            MaxDepth=20,
            MaxRouters=0,
            dummyNeighborTable=0,
            BroadcastDeliveryTime=30,
            ReportConstantCost=0,
            RouteDiscRetries=0,
            dummyRoutingTable=0,
            SecureAllFrames=1,
            SecurityLevel=5,
            SymLink=1,
            CapabilityFlags=0x8F,
            TransactionPersistenceTime=7,
            nwkProtocolVersion=2,
            RouteDiscoveryTime=13,
            RouteExpiryTime=30,
            nwkDevAddress=0x0000,
            nwkLogicalChannel=channel,
            nwkCoordAddress=0x0000,
            nwkCoordExtAddress=t.EUI64(bytes(8)),
            nwkPanId=pan_id,
            nwkState=t.NwkState.NWK_ROUTER,
            channelList=t.Channels(mask),
            beaconOrder=15,
            superFrameOrder=15,
            scanDuration=0,
            battLifeExt=0,
            allocatedRouterAddresses=1,
            allocatedEndDeviceAddresses=1,
            nodeDepth=0,
            extendedPANID=epid,
            nwkKeyLoaded=True,
            spare1=empty_key,
            spare2=empty_key,
            spare3=0,
            spare4=0,
            nwkLinkStatusPeriod=15,
            nwkRouterAgeLimit=3,
            nwkUseMultiCast=False,
            nwkIsConcentrator=True,
            nwkConcentratorDiscoveryTime=120,
            nwkConcentratorRadius=10,
            nwkAllFresh=1,
            nwkManagerAddr=0x0000,
            nwkTotalTransmissions=0,
            nwkUpdateId=0,
        )
        key_desc = t.NwkKeyDesc(KeySeqNum=0, Key=key).serialize(align=True)
        self._osal_set(OsalNvIds.NIB, nib.serialize(align=True))
        self._osal_set(OsalNvIds.NWK_ACTIVE_KEY_INFO, key_desc)
        self._osal_set(OsalNvIds.NWK_ALTERN_KEY_INFO, key_desc)
        self._osal_set(OsalNvIds.EXTENDED_PAN_ID, epid.serialize())
        self._osal_set(OsalNvIds.BDBNODEISONANETWORK, b"\x01")
        self._nv[self._table_key(ExNvIds.NWK_SEC_MATERIAL_TABLE, 0)] = bytearray(
            t.NwkSecMaterialDesc(FrameCounter=1, ExtendedPanID=epid).serialize(align=True)
        )
        self._save()

    def _start_network(self) -> None:
        self._running = True
        self._identity_checked = False

    def _check_identity(self) -> None:
        """Once the host has started the network for real (it registers its endpoints), a network other than the
        one the devices joined (a new PAN id, extended PAN id or key) leaves them orphaned."""
        if self._identity_checked:
            return
        self._identity_checked = True
        network = self.network
        identity = None if network is None else (network.pan_id, network.extended_pan_id, network.network_key)
        if self._network_identity is not None and identity != self._network_identity:
            for dev in self.devices.values():
                if dev.joined:
                    dev.joined = False
                    self._addrmgr_remove(dev)
        self._network_identity = identity

    # -- ZDO to the coordinator itself -------------------------------------------------------------------------------

    def _permit_join(self, r: Any) -> list[Any]:
        out: list[Any] = [c.ZDO.MgmtPermitJoinReq.Rsp(Status=t.Status.SUCCESS)]
        if r.AddrMode == t.AddrMode.Broadcast or r.Dst == 0x0000:
            self._set_permit(r.Duration, None)
            out.append(c.ZDO.MgmtPermitJoinRsp.Callback(Src=0x0000, Status=zdo_t.Status.SUCCESS))
        else:
            dev = self._find_device(t.AddrMode.NWK, r.Dst)
            if dev is not None and dev.joined and not dev.silent and dev.is_router:
                self._set_permit(r.Duration, dev.nwk)
                self._later(
                    self.reply_delay,
                    lambda: self._send(c.ZDO.MgmtPermitJoinRsp.Callback(Src=r.Dst, Status=zdo_t.Status.SUCCESS)),
                )
        return out

    def _add_install_code(self, r: Any) -> list[Any]:
        # zigpy-znp sends the derived key (format 2); format 1 would be the raw code with its CRC.
        if r.InstallCodeFormat != c.app_config.InstallCodeFormat.KeyDerivedFromInstallCode or len(r.InstallCode) != 16:
            return [c.AppConfig.BDBAddInstallCode.Rsp(Status=t.Status.INVALID_PARAMETER)]
        self.install_codes[normalize_ieee(str(r.IEEE))] = bytes(r.InstallCode)
        return [c.AppConfig.BDBAddInstallCode.Rsp(Status=t.Status.SUCCESS)]

    def _set_joins_need_install_code(self, r: Any) -> list[Any]:
        self.joins_need_install_code = bool(r.BdbJoinUsesInstallCodeKey)
        return [c.AppConfig.BDBSetJoinUsesInstallCodeKey.Rsp(Status=t.Status.SUCCESS)]

    def _set_permit(self, duration: int, via: int | None) -> None:
        if duration == 0:
            self._permit_until = 0.0
        else:
            self._permit_until = time.monotonic() + (10**9 if duration == 0xFF else duration)
        self._permit_via = via

    def _nwk_update(self, r: Any) -> list[Any]:
        if r.ScanDuration == 0xFE:
            self._change_channel(r.Channels)
        return [c.ZDO.MgmtNWKUpdateReq.Rsp(Status=t.Status.SUCCESS)]

    def _change_channel(self, channels: int) -> None:
        nib = self._read_nib()
        wanted = [ch for ch in range(11, 27) if int(channels) & (1 << ch)]
        if nib is None or not wanted:
            return
        nib = nib.replace(nwkLogicalChannel=wanted[0], nwkUpdateId=(nib.nwkUpdateId + 1) & 0xFF)
        self._osal_set(OsalNvIds.NIB, nib.serialize(align=True))

    def _af_register(self, r: Any) -> list[Any]:
        self._check_identity()
        if r.Endpoint in self._endpoints:
            return [c.AF.Register.Rsp(Status=t.Status.APS_DUPLICATE_ENTRY)]
        self._endpoints[int(r.Endpoint)] = r
        return [c.AF.Register.Rsp(Status=t.Status.SUCCESS)]

    def _af_delete(self, r: Any) -> list[Any]:
        found = self._endpoints.pop(int(r.Endpoint), None)
        return [c.AF.Delete.Rsp(Status=t.Status.SUCCESS if found else t.Status.INVALID_PARAMETER)]

    def _coordinator_zdo(self, cluster: int, tsn: int, data: bytes) -> None:
        """ZDO requests zigpy sends to the coordinator itself: Z-Stack answers them as MsgCbIncoming."""
        ieee = self._coordinator_ieee().serialize()
        payload: bytes | None
        if cluster == zcl.NODE_DESC_REQ:
            payload = (
                zcl.u8(0)
                + zcl.u16(0)
                + zcl.node_descriptor(
                    logical_type=zcl.LOGICAL_COORDINATOR,
                    mac_capabilities=0x8F,
                    manufacturer_code=0x0000,
                    server_mask=0x2C41,
                    buffer_size=80,
                    transfer_size=160,
                )
            )
        elif cluster == zcl.ACTIVE_EP_REQ:
            eps = sorted(self._endpoints)
            payload = zcl.u8(0) + zcl.u16(0) + zcl.u8(len(eps)) + bytes(eps)
        elif cluster == zcl.SIMPLE_DESC_REQ:
            ep = data[2] if len(data) > 2 else 0
            reg = self._endpoints.get(ep)
            if reg is None:
                payload = zcl.u8(zcl.ZDO_NOT_ACTIVE) + zcl.u16(0) + zcl.u8(0)
            else:
                payload = (
                    zcl.u8(0)
                    + zcl.u16(0)
                    + zcl.simple_descriptor(
                        ep,
                        reg.ProfileId,
                        reg.DeviceId,
                        reg.DeviceVersion,
                        list(reg.InputClusters),
                        list(reg.OutputClusters),
                    )
                )
        elif cluster in (zcl.IEEE_ADDR_REQ, zcl.NWK_ADDR_REQ):
            payload = zcl.u8(0) + ieee + zcl.u16(0)
        elif cluster == zcl.MGMT_NWK_UPDATE_REQ:
            channels = int.from_bytes(data[:4], "little")
            duration = data[4] if len(data) > 4 else 0
            if duration == 0xFE:
                self._change_channel(channels)
                return
            if duration > 5:
                return
            scanned = [ch for ch in range(11, 27) if channels & (1 << ch)]
            energies = bytes(40 + (ch * 37) % 90 for ch in scanned)  # a fixed, uneven RF landscape
            payload = (
                zcl.u8(0)
                + channels.to_bytes(4, "little")
                + zcl.u16(100)
                + zcl.u16(0)
                + zcl.u8(len(energies))
                + energies
            )
        elif cluster == zcl.MGMT_LQI_REQ:
            payload = self._lqi_response(data[0] if data else 0, coordinator=True)
        elif cluster == zcl.MGMT_RTG_REQ:
            payload = zcl.u8(0) + zcl.u8(0) + zcl.u8(data[0] if data else 0) + zcl.u8(0)
        elif cluster in (zcl.BIND_REQ, zcl.UNBIND_REQ):
            payload = zcl.u8(0)
        elif cluster == zcl.MGMT_PERMIT_JOINING_REQ:
            payload = zcl.u8(0)
        else:
            payload = zcl.u8(zcl.ZDO_NOT_SUPPORTED)
        self._later(self.reply_delay, lambda: self._send_zdo(0x0000, cluster | 0x8000, tsn, payload))

    def _lqi_response(self, start: int, *, coordinator: bool) -> bytes:
        network = self.network
        epid = zcl.ieee_to_bytes(network.extended_pan_id) if network else bytes(8)
        neighbours = [d for d in self.devices.values() if d.joined] if coordinator else []
        shown = neighbours[start : start + 2]
        entries = b""
        for d in shown:
            device_type = 1 if d.is_router else 2
            packed = device_type | ((1 if d.is_router else 0) << 2) | (1 << 4)  # rx on when idle, a child
            entries += (
                epid
                + zcl.ieee_to_bytes(d.ieee)
                + zcl.u16(d.nwk)
                + zcl.u8(packed)
                + zcl.u8(0x02)
                + zcl.u8(1)
                + zcl.u8(200)
            )
        return zcl.u8(0) + zcl.u8(len(neighbours)) + zcl.u8(start) + zcl.u8(len(shown)) + entries

    # -- the air -------------------------------------------------------------------------------------------------------

    def _find_device(self, mode: Any, address: Any) -> SimDevice | None:
        if mode == t.AddrMode.IEEE:
            return self.devices.get(normalize_ieee(address))
        for dev in self.devices.values():
            if dev.nwk == int(address):
                return dev
        return None

    def _af_data(self, command: Any, mode: Any, address: Any, r: Any) -> list[Any]:
        """A frame zigpy asks the coordinator to send: SRSP now, then DataConfirm and the far end's answer."""
        out: list[Any] = [command.Rsp(Status=t.Status.SUCCESS)]
        data = bytes(r.Data)
        dst_ep, src_ep, cluster, tsn = int(r.DstEndpoint), int(r.SrcEndpoint), int(r.ClusterId), int(r.TSN)
        confirm = lambda status: c.AF.DataConfirm.Callback(Status=status, Endpoint=src_ep, TSN=tsn)  # noqa: E731
        if not self._running:
            if mode not in (t.AddrMode.Broadcast,) and dst_ep != 0:
                out.append(confirm(t.Status.NWK_INVALID_REQUEST))
            return out
        if mode == t.AddrMode.Group:  # multicast: the endpoint field is unused
            out.append(confirm(t.Status.SUCCESS))
            for dev in self._reachable():
                for ep, groups in dev.groups.items():
                    if int(address) in groups:
                        self._later(
                            self.reply_delay,
                            functools.partial(self._device_zcl, dev, ep, src_ep, cluster, data, unicast=False),
                        )
            return out
        is_broadcast = mode == t.AddrMode.Broadcast or (mode == t.AddrMode.NWK and int(address) in BROADCASTS)
        if dst_ep == 0:
            if is_broadcast:
                self._broadcast_zdo(cluster, data)
            elif (mode == t.AddrMode.NWK and int(address) == 0x0000) or (
                mode == t.AddrMode.IEEE and normalize_ieee(address) == normalize_ieee(self._coordinator_ieee())
            ):
                if data:
                    self._coordinator_zdo(cluster, data[0], data[1:])
            else:
                target = self._find_device(mode, address)
                if target is not None and target.joined and not target.silent and data:
                    self._device_zdo(target, cluster, data[0], data[1:])
            return out
        if is_broadcast:
            for dev in self._reachable():
                for ep in list(dev.endpoints) if dst_ep == 0xFF else [dst_ep]:
                    self._later(
                        self.reply_delay,
                        functools.partial(self._device_zcl, dev, ep, src_ep, cluster, data, unicast=False),
                    )
            return out
        if mode == t.AddrMode.NWK and int(address) == 0x0000:
            out.append(confirm(t.Status.SUCCESS))
            return out
        found = self._find_device(mode, address)
        if found is None or not found.joined:
            out.append(confirm(t.Status.MAC_NO_ACK))
            return out
        dev = found
        if dev.silent:
            if dev.silence_mode == "ack":
                out.append(confirm(t.Status.SUCCESS))
            elif dev.silence_mode == "no_ack":
                out.append(confirm(t.Status.MAC_NO_ACK))
            return out
        out.append(confirm(t.Status.SUCCESS))
        self._later(self.reply_delay, lambda: self._device_zcl(dev, dst_ep, src_ep, cluster, data))
        return out

    def _reachable(self) -> list[SimDevice]:
        return [d for d in self.devices.values() if d.joined and not d.silent]

    def _device_zcl(
        self, dev: SimDevice, dst_ep: int, src_ep: int, cluster: int, data: bytes, *, unicast: bool = True
    ) -> None:
        if not dev.joined or dev.silent:
            return
        for item in dev.handle_zcl(dst_ep, src_ep, cluster, data, unicast=unicast):
            self._device_frame(dev, item)

    def _device_frame(self, dev: SimDevice, item: Outgoing) -> None:
        """A device's frame reaching the coordinator: AF.IncomingMsg (dropped if the network is not up)."""
        if not self._running:
            return
        self._send(
            c.AF.IncomingMsg.Callback(
                GroupId=0x0000,
                ClusterId=item.cluster,
                SrcAddr=dev.nwk,
                SrcEndpoint=item.src_ep,
                DstEndpoint=item.dst_ep if item.dst_ep is not None else 1,
                WasBroadcast=False,
                LQI=200,
                SecurityUse=False,
                TimeStamp=int(time.monotonic() * 1000) & 0xFFFFFFFF,
                TSN=dev.next_tsn(),
                Data=t.ShortBytes(item.data),
                MacSrcAddr=dev.nwk,
                MsgResultRadius=29,
            )
        )

    def _send_zdo(self, src: int, cluster: int, tsn: int, payload: bytes, *, broadcast: bool = False) -> None:
        if not self._running:
            return
        self._send(
            c.ZDO.MsgCbIncoming.Callback(
                Src=src,
                IsBroadcast=broadcast,
                ClusterId=cluster,
                SecurityUse=0,
                TSN=tsn & 0xFF,
                MacDst=0xFFFF if broadcast else 0x0000,
                Data=t.Bytes(payload),
            )
        )

    def _broadcast_zdo(self, cluster: int, data: bytes) -> None:
        if not data:
            return
        tsn, body = data[0], data[1:]
        if cluster == zcl.MGMT_PERMIT_JOINING_REQ and body:
            self._set_permit(body[0], None)
        elif cluster in (zcl.NWK_ADDR_REQ, zcl.IEEE_ADDR_REQ):
            if cluster == zcl.NWK_ADDR_REQ and len(body) >= 8:
                target = self.devices.get(zcl.bytes_to_ieee(body[:8]))
            elif cluster == zcl.IEEE_ADDR_REQ and len(body) >= 2:
                target = self._find_device(t.AddrMode.NWK, int.from_bytes(body[:2], "little"))
            else:
                return
            if target is not None and target.joined and not target.silent:
                payload = zcl.u8(0) + zcl.ieee_to_bytes(target.ieee) + zcl.u16(target.nwk)
                self._later(
                    self.reply_delay, functools.partial(self._send_zdo, target.nwk, cluster | 0x8000, tsn, payload)
                )

    def _device_zdo(self, dev: SimDevice, cluster: int, tsn: int, body: bytes) -> None:
        """A ZDO request unicast to a simulated device, and its answer (Zigbee spec 2.4.4)."""
        after: Callable[[], None] | None = None
        if cluster == zcl.NODE_DESC_REQ:
            payload = zcl.u8(0) + zcl.u16(dev.nwk) + dev.node_descriptor()
            dev.answered.add(("node",))
        elif cluster == zcl.ACTIVE_EP_REQ:
            eps = sorted(dev.endpoints)
            payload = zcl.u8(0) + zcl.u16(dev.nwk) + zcl.u8(len(eps)) + bytes(eps)
            dev.answered.add(("active",))
        elif cluster == zcl.SIMPLE_DESC_REQ:
            ep = body[2] if len(body) > 2 else 0
            if ep in dev.endpoints:
                payload = zcl.u8(0) + zcl.u16(dev.nwk) + dev.simple_descriptor(ep)
                dev.answered.add(("simple", ep))
            else:
                payload = zcl.u8(zcl.ZDO_NOT_ACTIVE) + zcl.u16(dev.nwk) + zcl.u8(0)
        elif cluster == zcl.POWER_DESC_REQ:
            level = 0xC0 if dev.power_source == "mains" else 0xC2
            source = 0x01 if dev.power_source == "mains" else 0x04
            payload = zcl.u8(0) + zcl.u16(dev.nwk) + zcl.u8((source << 4) | 0x00) + zcl.u8(level | source)
        elif cluster in (zcl.IEEE_ADDR_REQ, zcl.NWK_ADDR_REQ):
            payload = zcl.u8(0) + zcl.ieee_to_bytes(dev.ieee) + zcl.u16(dev.nwk)
        elif cluster == zcl.BIND_REQ:
            dev.bindings.append((body[8], int.from_bytes(body[9:11], "little"), bytes(body[11:])))
            payload = zcl.u8(0)
        elif cluster == zcl.UNBIND_REQ:
            wanted = (body[8], int.from_bytes(body[9:11], "little"), bytes(body[11:]))
            found = wanted in dev.bindings
            dev.bindings = [b for b in dev.bindings if b != wanted]
            payload = zcl.u8(0 if found else 0x88)  # NO_ENTRY
        elif cluster == zcl.MGMT_LEAVE_REQ:
            payload = zcl.u8(0)
            rejoin = bool(body[8] & 0x80) if len(body) > 8 else False
            after = lambda: self._device_left(dev, rejoin=rejoin)  # noqa: E731
        elif cluster == zcl.MGMT_PERMIT_JOINING_REQ:
            if dev.is_router:
                self._set_permit(body[0] if body else 0, dev.nwk)
                payload = zcl.u8(0)
            else:
                payload = zcl.u8(zcl.ZDO_NOT_SUPPORTED)
        elif cluster == zcl.MGMT_LQI_REQ and dev.is_router:
            payload = self._lqi_response(body[0] if body else 0, coordinator=False)
        elif cluster == zcl.MGMT_RTG_REQ and dev.is_router:
            payload = zcl.u8(0) + zcl.u8(0) + zcl.u8(body[0] if body else 0) + zcl.u8(0)
        elif cluster >= 0x8000:
            return  # a response, not ours to answer
        else:
            payload = zcl.u8(zcl.ZDO_NOT_SUPPORTED)

        def answer() -> None:
            if dev.joined and not dev.silent:
                self._send_zdo(dev.nwk, cluster | 0x8000, tsn, payload)
                if after is not None:
                    after()

        self._later(self.reply_delay, answer)

    def _device_left(self, dev: SimDevice, *, rejoin: bool) -> None:
        dev.joined = rejoin
        if not rejoin:
            self._addrmgr_remove(dev)
        if self._running:
            self._send(
                c.ZDO.LeaveInd.Callback(NWK=dev.nwk, IEEE=_eui64(dev.ieee), Request=False, Remove=False, Rejoin=rejoin)
            )
