"""RtsDriver: Somfy RTS motors and receivers driven through one serial transmitter, with assumed states.

RTS is one-way: a motor never answers. Each device is one of our virtual remotes (an address this gateway
allocated, see remotes.py); an execution completes when its frame has gone on air, and the states are the
gateway's estimate from the commands it sent and the travel times (``rts:StatesAssumed`` says so, and
``rts:LastCommandTimeState`` says when the device was last commanded).

One transmitter sends one command at a time: every frame goes through one queue, in order, with its repeats and
the gap after it. A command cancelled before its frame left takes the frame out of the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hearth.sdk import (
    ChannelAllocating,
    CommandCall,
    CommandFailed,
    DeviceSpec,
    DeviceURL,
    Driver,
    DriverContext,
    FailureType,
    HasStackDevice,
    LinkLog,
    SupervisedLink,
    cancel_and_wait,
    reconnect_backoff,
)
from hearth_rts.motion import DOWN, STILL, UP, Motion
from hearth_rts.remotes import Frame, RollingCodeStore
from hearth_rts.settings import RtsSettings, parse_settings
from hearth_rts.transmitter import DOWN as RTS_DOWN
from hearth_rts.transmitter import MY, PROG, Transmitter, TransmitterError, make_transmitter
from hearth_rts.transmitter import UP as RTS_UP

__all__ = ["RtsDriver"]

STACK_ADDRESS = "stack"
STACK_CONTROLLABLE = "rts:StackComponent"
# deviceType of the End-User API's create-device call (and of createRTSDevice) -> controllable.
DEVICE_TYPES = {
    "1": "rts:RollerShutterRTSComponent",
    "2": "rts:ExteriorVenetianBlindRTSComponent",
    "3": "rts:AwningRTSComponent",
    "4": "rts:GarageDoorRTSComponent",
    "5": "rts:LightRTSComponent",
    "6": "rts:OnOffRTSComponent",
}
_KINDS = {
    "rts:RollerShutterRTSComponent": "shutter",
    "rts:ExteriorVenetianBlindRTSComponent": "venetian",
    "rts:AwningRTSComponent": "awning",
    "rts:GarageDoorRTSComponent": "garage",
    "rts:LightRTSComponent": "switch",
    "rts:OnOffRTSComponent": "switch",
}


def _device_key(address: int) -> str:
    return f"device.{address:06x}"


@dataclass(slots=True)
class RtsDevice:
    url: DeviceURL
    address: int
    kind: str
    motion: Motion
    my_level: int
    tilt_s: float
    tilt: int = 0
    stop_at: asyncio.TimerHandle | None = None
    ticker: asyncio.Task[None] | None = None


@dataclass(order=True)
class _Job:
    seq: int
    command: int = field(compare=False)
    address: int = field(compare=False)
    done: asyncio.Future[None] = field(compare=False)


class RtsDriver(Driver, ChannelAllocating, HasStackDevice):
    protocol: ClassVar[str] = "rts"
    # Commands are taken at once and queued in order for the one transmitter (see _transmit).
    max_concurrency: ClassVar[int] = 64
    command_timeout_s: ClassVar[float] = 300.0

    def __init__(self, ctx: DriverContext) -> None:
        super().__init__(ctx)
        self.settings: RtsSettings = parse_settings(ctx.config)
        self.log: logging.Logger = ctx.log
        self.codes = RollingCodeStore(ctx.storage)
        self.devices: dict[str, RtsDevice] = {}
        self.stack_url: DeviceURL = ctx.device_url(STACK_ADDRESS)
        self.transmitter: Transmitter | None = None
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._seq = 0
        self._worker: asyncio.Task[None] | None = None
        s = self.settings
        self.link = SupervisedLink(
            self._open,
            self._close,
            reconnect_backoff(s.reconnect_min_s, s.reconnect_max_s),
            owner=ctx,
            says=LinkLog(
                # The start's failure is the first; then every tenth, and the first again after a loss.
                retry_failed="RTS transmitter not usable (%(message)s); retrying in %(delay).1f s",
                lost="RTS transmitter on %(port)s is gone; commands fail until it is back",
                fields={"port": s.port},
            ),
            unavailable=(FailureType.SERIAL_IO_ERROR, f"the RTS transmitter ({s.port}) is gone"),
            stack=self.stack_url,
            watch=self._watch,
            on_down=self._fail_queued,
            # A stick gone is opened again at once (replugged, it is back before any wait would end).
            retry_at_once_after_loss=True,
        )

    @property
    def up(self) -> bool:
        return self.link.up

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        parse_settings(dict(config))

    # ------------------------------------------------------------------ life of the transmitter

    async def start(self) -> None:
        await self.ctx.add_device(
            DeviceSpec(address=STACK_ADDRESS, controllable_name=STACK_CONTROLLABLE, label="RTS transmitter")
        )
        for key in await self.ctx.storage.keys():
            if key.startswith("device."):
                await self._load(key)
        self._worker = self.ctx.create_task(self._transmit(), "transmit")
        # In the background: a stick that does not answer must not hold the gateway's start.
        await self.link.start(in_background=True)

    async def stop(self) -> None:
        for device in self.devices.values():
            self._halt(device)
        await cancel_and_wait(self._worker)  # no frame on its way when the port closes
        await self.link.stop()

    async def _open(self) -> None:
        """The transmitter opened and checked (its handshake); TransmitterError if it is not usable."""
        s = self.settings
        transmitter = make_transmitter(
            s.transmitter,
            port=s.port,
            baudrate=s.baudrate,
            repeats=s.repeats,
            frame_s=s.frame_s,
            gap_s=s.gap_s,
            answer_timeout_s=s.answer_timeout_s,
        )
        await transmitter.open()
        self.log.info("RTS transmitter %s on %s ready (%s)", transmitter.name, s.port, transmitter.version)
        self.transmitter = transmitter

    async def _watch(self) -> None:
        """Returns when the transmitter goes away."""
        assert self.transmitter is not None
        await self.transmitter.watch()

    async def _close(self) -> None:
        if self.transmitter is not None:
            await self.transmitter.close()

    def _fail_queued(self, reason: str = "the RTS transmitter is gone") -> None:
        """What is queued failed: with no transmitter it cannot go on air."""
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.done.done():
                job.done.set_exception(CommandFailed(FailureType.SERIAL_IO_ERROR, reason))

    async def _transmit(self) -> None:
        """The one sender: frames leave in the order they were queued, each after the previous one's air time."""
        while True:
            job = await self._queue.get()
            if job.done.done():
                continue  # cancelled before it left: dropped
            outcome: BaseException | None = None
            try:
                await self._send_now(job.command, job.address)
            except CommandFailed as exc:
                outcome = exc
            except Exception as exc:  # the sender must outlive any one frame's trouble
                self.log.exception("RTS frame for %06x not sent", job.address)
                outcome = CommandFailed(FailureType.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
            if job.done.done():
                continue  # cancelled while on air: the frame went anyway
            if outcome is None:
                job.done.set_result(None)
            else:
                job.done.set_exception(outcome)

    async def _send_now(self, command: int, address: int) -> None:
        transmitter = self.transmitter
        if not self.up or transmitter is None:
            raise CommandFailed(FailureType.SERIAL_IO_ERROR, f"the RTS transmitter ({self.settings.port}) is gone")
        # The code is on disk before the frame leaves: a crash in between burns a code, never reuses one.
        frame = await self.codes.next(address) if self.settings.transmitter == "cul" else Frame(address, 0, 0)
        try:
            await transmitter.send(command, frame)
        except TransmitterError as exc:
            raise CommandFailed(FailureType.SERIAL_IO_ERROR, str(exc)) from None

    async def _send(self, command: int, address: int) -> None:
        """Queue a frame and wait until it has gone on air."""
        if not self.up:
            raise CommandFailed(FailureType.SERIAL_IO_ERROR, f"the RTS transmitter ({self.settings.port}) is gone")
        self._seq += 1
        job = _Job(self._seq, command, address, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(job)
        try:
            await job.done
        except asyncio.CancelledError:
            if not job.done.done():
                job.done.cancel()  # still queued: the sender skips it
            raise

    # ------------------------------------------------------------------ devices

    async def _load(self, key: str) -> None:
        info = await self.ctx.storage.get(key)
        if not isinstance(info, dict):
            return
        address = int(info["address"])
        url = await self.ctx.add_device(self._spec(address, info))
        self._track(url, address, info)

    def _spec(self, address: int, info: Mapping[str, Any]) -> DeviceSpec:
        return DeviceSpec(
            address=str(address),
            controllable_name=str(info["controllable"]),
            label=str(info["label"]),
            attributes={
                "rts:StatesAssumed": True,
                "rts:RemoteAddress": f"{address:06X}",
                "rts:Transmitter": self.settings.transmitter,
            },
        )

    def _track(self, url: DeviceURL, address: int, info: Mapping[str, Any]) -> RtsDevice:
        kind = _KINDS[str(info["controllable"])]
        level_state = "core:DeploymentState" if kind == "awning" else "core:ClosureState"
        level = self.ctx.state(url, level_state)
        if level is None:  # never told: assume the end an "open"/"off" state names
            level = 0 if self.ctx.state(url, "core:OpenClosedState") == "open" else 100
            if kind in ("switch", "awning"):
                level = 0
        device = RtsDevice(
            url,
            address,
            kind,
            Motion(float(level), float(info["travel_down_s"]), float(info["travel_up_s"])),
            int(info["my_closure"]),
            float(info["tilt_s"]),
            int(self.ctx.state(url, "core:SlateOrientationState") or 0),
        )
        self.devices[str(url)] = device
        return device

    async def free_channel(self) -> int:
        return await self.codes.free_channel()

    async def create_device(self, address: str, device_type: str, label: str) -> DeviceURL:
        """A new RTS device on channel ``address`` (from GET /config/{gw}/rts/channel)."""
        controllable = DEVICE_TYPES.get(device_type, device_type if device_type in _KINDS else None)
        if controllable is None:
            raise ValueError(
                f"unknown RTS device type {device_type!r} (1 roller shutter, 2 venetian blind, "
                f"3 awning, 4 garage door, 5 light, 6 on/off receiver, or a controllable name)"
            )
        if not (address.isascii() and address.isdigit()):
            raise ValueError(f"the device address of an RTS device is its channel number, not {address!r}")
        remote = await self.codes.claim(int(address))
        s = self.settings
        info = {
            "address": remote,
            "controllable": controllable,
            "label": label[:64] or "RTS device",
            "travel_down_s": s.travel_down_s,
            "travel_up_s": s.travel_up_s,
            "my_closure": s.my_closure,
            "tilt_s": s.tilt_s,
        }
        await self.ctx.storage.put(_device_key(remote), info)
        url = await self.ctx.add_device(self._spec(remote, info))
        self._track(url, remote, info)
        return url

    async def delete_device(self, url: DeviceURL) -> None:
        """Forget the device; its remote address is never given out again (a motor may still obey it)."""
        device = self.devices.pop(str(url), None)
        if device is not None:
            self._halt(device)
            await self.ctx.storage.delete(_device_key(device.address))

    # ------------------------------------------------------------------ commands

    async def read_back(self, url: DeviceURL) -> bool:
        """RTS is one-way: a motor neither acknowledges nor tells its position, so it cannot be read back."""
        return False

    async def execute(self, call: CommandCall) -> None:
        url = str(call.device_url)
        if url == str(self.stack_url):
            await self._stack_command(call)
            return
        device = self.devices.get(url)
        if device is None:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"{url} is not an RTS device of this gateway")
        name, p = call.name, call.parameters
        if name in ("pair", "unpair"):
            # The motor must be in programming mode (PROG held on a remote it already obeys); PROG from our
            # address then adds it, or removes it if it was there.
            await self._send(PROG, device.address)
            self._commanded(device)
            return
        if device.kind == "switch":
            if name not in ("on", "off"):
                raise CommandFailed(FailureType.CMDUNKNOWN, f"{name} is not an RTS receiver command")
            await self._send(RTS_UP if name == "on" else RTS_DOWN, device.address)
            self._commanded(device, {"core:OnOffState": name})
            return
        await self._move(device, name, p, call)

    async def _move(self, device: RtsDevice, name: str, p: list[Any], call: CommandCall) -> None:
        now = time.monotonic()
        motion = device.motion
        motion.settle(now)
        if name in ("open", "up", "undeploy"):
            target: float | None = 0.0
        elif name in ("close", "down", "deploy"):
            target = 100.0
        elif name in ("setClosure", "setDeployment"):
            target = float(p[0])
        elif name == "my":
            if not motion.moving(now):
                await self._go_to_favourite(device, call)
                return
            target = None  # My stops a moving motor
        elif name == "stop":
            if not motion.moving(now):
                # Not moving as far as we know: My would send it to its favourite position, which a stop must
                # never do. Nothing goes on air.
                self._commanded(device)
                return
            target = None
        elif name == "setOrientation" and device.kind == "venetian":
            await self._tilt(device, int(p[0]))
            return
        else:
            raise CommandFailed(FailureType.CMDUNKNOWN, f"{name} is not a command of this RTS device")
        self._cancel_stop(device)
        if target is None:
            await self._send(MY, device.address)
            self._arrived(device)
            self._commanded(device)
            return
        direction, seconds = motion.seconds_to(target, now)
        if direction == STILL and target in (0.0, 100.0):
            # We think it is there already, but we only think so: the frame goes anyway (it costs nothing).
            direction = DOWN if target == 100.0 else UP
        elif direction == STILL:
            self._commanded(device)
            return
        await self._send(RTS_DOWN if direction == DOWN else RTS_UP, device.address)
        motion.go(direction, time.monotonic())
        self._commanded(device)
        if target not in (0.0, 100.0):
            # A position between the ends: My stops the motor when it should be there.
            device.stop_at = asyncio.get_running_loop().call_later(
                seconds, lambda: self.ctx.create_task(self._stop_at_target(device), "stop at target")
            )
        self._follow(device)
        call.in_progress(int(seconds * 1000))

    async def _go_to_favourite(self, device: RtsDevice, call: CommandCall) -> None:
        """My on a still motor: the motor goes to its favourite position by itself and stops there."""
        self._cancel_stop(device)
        await self._send(MY, device.address)
        now = time.monotonic()
        direction, seconds = device.motion.seconds_to(float(device.my_level), now)
        if direction != STILL:
            device.motion.go(direction, now)
            device.stop_at = asyncio.get_running_loop().call_later(seconds, lambda: self._arrived(device))
            self._follow(device)
            call.in_progress(int(seconds * 1000))
        self._commanded(device)

    async def _stop_at_target(self, device: RtsDevice) -> None:
        device.stop_at = None
        try:
            await self._send(MY, device.address)
        except CommandFailed as exc:
            self.log.warning("RTS %s: the stop at the target position was not sent (%s)", device.url, exc.message)
        self._arrived(device)

    def _arrived(self, device: RtsDevice) -> None:
        device.motion.stop(time.monotonic())
        self._halt(device)
        self._report(device)

    async def _tilt(self, device: RtsDevice, orientation: int) -> None:
        """Slats turn with a short movement: down closes them, up opens them, My stops them."""
        delta = orientation - device.tilt
        if delta == 0:
            self._commanded(device)
            return
        self._cancel_stop(device)
        await self._send(RTS_DOWN if delta > 0 else RTS_UP, device.address)
        await asyncio.sleep(abs(delta) / 100 * device.tilt_s)
        await self._send(MY, device.address)
        device.tilt = orientation
        self._commanded(device, {"core:SlateOrientationState": orientation})

    def _cancel_stop(self, device: RtsDevice) -> None:
        if device.stop_at is not None:
            device.stop_at.cancel()
            device.stop_at = None

    def _halt(self, device: RtsDevice) -> None:
        self._cancel_stop(device)
        if device.ticker is not None and device.ticker is not asyncio.current_task():
            device.ticker.cancel()
        device.ticker = None

    def _follow(self, device: RtsDevice) -> None:
        """While the motor moves, report where we think it is."""
        if device.ticker is not None:
            device.ticker.cancel()
        device.ticker = self.ctx.create_task(self._tick(device), f"follow {device.address:06x}")

    async def _tick(self, device: RtsDevice) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while device.motion.moving(time.monotonic()):
                self._report(device)
                await asyncio.sleep(
                    min(self.settings.position_report_s, max(0.05, device.motion.seconds_left(time.monotonic())))
                )
            device.motion.settle(time.monotonic())
            device.ticker = None
            self._report(device)

    def _commanded(self, device: RtsDevice, extra: Mapping[str, Any] | None = None) -> None:
        values = {"rts:LastCommandTimeState": time.time_ns() // 1_000_000, **(extra or {})}
        self.ctx.report_states(device.url, values)
        if device.kind != "switch":
            self._report(device)

    def _report(self, device: RtsDevice) -> None:
        now = time.monotonic()
        level = int(round(device.motion.at(now)))
        moving = device.motion.moving(now)
        values: dict[str, Any] = {"core:MovingState": moving}
        if device.kind == "awning":
            values["core:DeploymentState"] = level
            values["core:OpenClosedState"] = "open" if level > 0 else "closed"
        elif device.kind == "garage":
            values["core:OpenClosedState"] = "closed" if level >= 100 else "open"
        else:
            values["core:ClosureState"] = level
            values["core:OpenClosedState"] = "closed" if level >= 100 else "open"
        self.ctx.report_states(device.url, values)

    # ------------------------------------------------------------------ the stack device

    async def _stack_command(self, call: CommandCall) -> None:
        p = call.parameters
        if call.name == "createRTSDevice":
            channel = await self.codes.free_channel()
            try:
                await self.create_device(str(channel), str(p[0]), str(p[1]) if len(p) > 1 and p[1] else "RTS device")
            except ValueError as exc:
                raise CommandFailed(FailureType.BAD_PARAM, str(exc)) from None
        elif call.name == "sendRTSProg":
            await self._send(PROG, self._address_of(p[0]))
        elif call.name == "setRTSChannel":
            # Carry a remote's code over (e.g. from a transmitter's notes): it may only go up.
            try:
                await self.codes.raise_code(self._address_of(p[0]), int(p[1]))
            except ValueError as exc:
                raise CommandFailed(FailureType.BAD_PARAM, str(exc)) from None
        else:
            raise CommandFailed(FailureType.CMDUNKNOWN, f"{call.name} is not an RTS stack command")

    def _address_of(self, text: Any) -> int:
        try:
            address = int(str(text), 16)
        except ValueError:
            raise CommandFailed(FailureType.BAD_PARAM, f"{text!r} is not an RTS address (6 hex digits)") from None
        if not any(d.address == address for d in self.devices.values()):
            raise CommandFailed(FailureType.BAD_ADDRESS, f"{text} is not one of this gateway's RTS remotes")
        return address
