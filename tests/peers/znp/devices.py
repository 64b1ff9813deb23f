"""Simulated Zigbee devices: their descriptors, attributes, and how they answer ZCL like a real device would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from tests.peers.znp import zcl
from tests.peers.znp.zcl import Typed, ZclFrame, normalize_ieee

HA_PROFILE = 0x0104

# Cluster ids
BASIC, POWER_CONFIG, IDENTIFY, GROUPS, SCENES, ON_OFF, LEVEL = 0x0000, 0x0001, 0x0003, 0x0004, 0x0005, 0x0006, 0x0008
DOOR_LOCK, WINDOW_COVERING, THERMOSTAT, COLOR = 0x0101, 0x0102, 0x0201, 0x0300
ILLUMINANCE, TEMPERATURE, PRESSURE, HUMIDITY, OCCUPANCY = 0x0400, 0x0402, 0x0403, 0x0405, 0x0406
IAS_ZONE, METERING, ELECTRICAL = 0x0500, 0x0702, 0x0B04

# MAC capability flags (IEEE 802.15.4 / Zigbee spec 2.3.2.3.6)
MAC_ROUTER = 0x8E  # allocate address | rx on when idle | mains powered | full function device
MAC_SLEEPY = 0x80  # allocate address only


class ReceivedCommand(NamedTuple):
    """One ZCL command a simulated device received: equal to the plain tuple (endpoint, cluster, command, payload)."""

    endpoint: int
    cluster: int
    command: int
    payload: bytes


@dataclass
class Outgoing:
    """A frame a simulated device sends to the coordinator (dst_ep None: the coordinator's endpoint 1)."""

    src_ep: int
    cluster: int
    data: bytes
    dst_ep: int | None = None


class SimDevice:
    """A Zigbee device as the coordinator sees it over the air.

    ``endpoints``: {ep: {"profile", "device_type", "in_clusters", "out_clusters", optional "device_version"}}.
    ``attributes``: {(ep, cluster, attr): value}; values are plain Python (types from the ZCL tables) or
    ``Typed(type_id, value)`` for attributes the tables do not know.
    """

    def __init__(
        self,
        ieee: str,
        nwk: int,
        endpoints: dict[int, dict[str, Any]],
        attributes: dict[tuple[int, int, int], Any] | None = None,
        power_source: str = "mains",
        *,
        manufacturer_code: int = 0x1037,
        logical_type: str | None = None,
    ) -> None:
        if power_source not in ("mains", "battery"):
            raise ValueError("power_source is 'mains' or 'battery'")
        self.ieee = normalize_ieee(ieee)
        self.nwk = int(nwk)
        self.endpoints = {
            int(ep): {
                "profile": HA_PROFILE,
                "device_type": 0,
                "in_clusters": [],
                "out_clusters": [],
                "device_version": 1,
                **desc,
            }
            for ep, desc in endpoints.items()
        }
        self.attributes: dict[tuple[int, int, int], Any] = dict(attributes or {})
        self.power_source = power_source
        self.manufacturer_code = manufacturer_code
        self.logical_type = logical_type or ("router" if power_source == "mains" else "end_device")
        # Runtime state, driven by the emulator
        self.joined = False
        self.silent = False
        self.silence_mode = "ack"
        self.received_log: list[ReceivedCommand] = []
        self.general_log: list[ReceivedCommand] = []
        self.reporting: dict[tuple[int, int, int], tuple[int, int, int, Any]] = {}
        self.bindings: list[tuple[int, int, bytes]] = []
        self.groups: dict[int, set[int]] = {}
        self.answered: set[tuple[Any, ...]] = set()
        self.fail_queue: list[int] = []
        self._tsn = 0x40

    def __repr__(self) -> str:
        return f"SimDevice({self.ieee}, nwk=0x{self.nwk:04x}, endpoints={sorted(self.endpoints)})"

    # -- descriptors ---------------------------------------------------------------------------------------------

    @property
    def is_router(self) -> bool:
        return self.logical_type == "router"

    @property
    def mac_capabilities(self) -> int:
        return MAC_ROUTER if self.is_router else MAC_SLEEPY

    def node_descriptor(self) -> bytes:
        return zcl.node_descriptor(
            logical_type=zcl.LOGICAL_ROUTER if self.is_router else zcl.LOGICAL_END_DEVICE,
            mac_capabilities=self.mac_capabilities,
            manufacturer_code=self.manufacturer_code,
            server_mask=0x2C00,
        )

    def simple_descriptor(self, ep: int) -> bytes:
        d = self.endpoints[ep]
        return zcl.simple_descriptor(
            ep, d["profile"], d["device_type"], d["device_version"], list(d["in_clusters"]), list(d["out_clusters"])
        )

    def next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    # -- attributes ------------------------------------------------------------------------------------------------

    def get(self, ep: int, cluster: int, attr: int, default: Any = None) -> Any:
        return zcl.plain(self.attributes.get((ep, cluster, attr), default))

    def _store(self, ep: int, cluster: int, attr: int, value: Any) -> None:
        old = self.attributes.get((ep, cluster, attr))
        self.attributes[(ep, cluster, attr)] = Typed(old.type_id, value) if isinstance(old, Typed) else value

    def _type_of(self, ep: int, cluster: int, attr: int) -> int:
        return zcl.attribute_type(cluster, attr, self.attributes.get((ep, cluster, attr)))

    def _record(self, ep: int, cluster: int, attr: int) -> bytes:
        type_id = self._type_of(ep, cluster, attr)
        return zcl.u16(attr) + zcl.u8(type_id) + zcl.encode_value(type_id, self.get(ep, cluster, attr))

    def report_frames(self, changes: list[tuple[int, int, int]]) -> list[Outgoing]:
        """Report Attributes frames (one per endpoint and cluster) for the given attributes."""
        grouped: dict[tuple[int, int], list[int]] = {}
        for ep, cluster, attr in changes:
            if (ep, cluster, attr) in self.attributes and attr not in grouped.setdefault((ep, cluster), []):
                grouped[(ep, cluster)].append(attr)
        out = []
        for (ep, cluster), attrs in grouped.items():
            if not attrs:
                continue
            payload = b"".join(self._record(ep, cluster, a) for a in attrs)
            frame = ZclFrame(
                zcl.GLOBAL,
                zcl.REPORT_ATTRIBUTES,
                self.next_tsn(),
                payload,
                direction=zcl.SERVER_TO_CLIENT,
                disable_default_response=True,
            )
            out.append(Outgoing(ep, cluster, frame.serialize()))
        return out

    def reporting_configured(self, ep: int, cluster: int, attr: int) -> bool:
        config = self.reporting.get((ep, cluster, attr))
        return config is not None and config[2] != 0xFFFF

    def set_attribute(self, ep: int, cluster: int, attr: int, value: Any, report: bool) -> list[Outgoing]:
        """Change an attribute as the device itself would (a sensor reading, a button press) and say so."""
        self._store(ep, cluster, attr, value)
        out: list[Outgoing] = []
        if cluster == IAS_ZONE and attr == 0x0002:
            # IAS zones signal their status with a Zone Status Change Notification (ZCL 8.2.2.4.1)
            payload = zcl.u16(int(value)) + zcl.u8(0) + zcl.u8(self.get(ep, IAS_ZONE, 0x0011, 0xFF)) + zcl.u16(0)
            frame = ZclFrame(
                zcl.CLUSTER_SPECIFIC,
                0x00,
                self.next_tsn(),
                payload,
                direction=zcl.SERVER_TO_CLIENT,
                disable_default_response=True,
            )
            out.append(Outgoing(ep, cluster, frame.serialize()))
            if not self.reporting_configured(ep, cluster, attr):
                return out
        if report or self.reporting_configured(ep, cluster, attr):
            out += self.report_frames([(ep, cluster, attr)])
        return out

    # -- ZCL ---------------------------------------------------------------------------------------------------------

    def handle_zcl(
        self, dst_ep: int, src_ep: int, cluster: int, data: bytes, *, unicast: bool = True
    ) -> list[Outgoing]:
        """A ZCL frame from the coordinator reached endpoint ``dst_ep``: what the device sends back."""
        if dst_ep not in self.endpoints:
            return []
        try:
            frame = ZclFrame.parse(data)
        except ValueError:
            return []
        desc = self.endpoints[dst_ep]
        entry = ReceivedCommand(dst_ep, cluster, frame.command, frame.payload)
        out: list[Outgoing] = []

        def reply(frame_type: int, command: int, payload: bytes) -> None:
            if unicast:
                rsp = ZclFrame(
                    frame_type,
                    command,
                    frame.tsn,
                    payload,
                    direction=zcl.SERVER_TO_CLIENT,
                    disable_default_response=True,
                    manufacturer=frame.manufacturer,
                )
                out.append(Outgoing(dst_ep, cluster, rsp.serialize(), dst_ep=src_ep))

        def default_response(status: int) -> None:
            if status != zcl.SUCCESS or not frame.disable_default_response:
                reply(zcl.GLOBAL, zcl.DEFAULT_RSP, zcl.u8(frame.command) + zcl.u8(status))

        if frame.frame_type == zcl.GLOBAL:
            self.general_log.append(entry)
        elif frame.direction == zcl.CLIENT_TO_SERVER:
            self.received_log.append(entry)
        if frame.direction != zcl.CLIENT_TO_SERVER:
            return []  # responses to the device's own requests (enroll response comes client->server)
        if cluster not in desc["in_clusters"]:
            default_response(zcl.UNSUPPORTED_CLUSTER)
            return out

        if frame.frame_type == zcl.GLOBAL:
            if frame.command in (
                zcl.READ_ATTRIBUTES_RSP,
                zcl.REPORT_ATTRIBUTES,
                zcl.DEFAULT_RSP,
                zcl.WRITE_ATTRIBUTES_RSP,
                zcl.CONFIGURE_REPORTING_RSP,
            ):
                return out
            try:
                after = self._global(dst_ep, cluster, frame, reply)
            except ValueError:
                default_response(zcl.MALFORMED_COMMAND)
                return out
            return out + after

        # A cluster-specific command
        if self.fail_queue:
            default_response(self.fail_queue.pop(0))
            return out
        behaviour = BEHAVIOURS.get(cluster)
        if behaviour is None:
            default_response(zcl.SUCCESS)  # identify, scenes...: accepted, nothing to model
            return out
        try:
            result = behaviour(self, dst_ep, frame.command, frame.payload)
        except (ValueError, IndexError):
            default_response(zcl.MALFORMED_COMMAND)
            return out
        if result is None:
            default_response(zcl.UNSUP_CLUSTER_COMMAND)
            return out
        status, changed, specific = result
        if specific is not None and status == zcl.SUCCESS:
            reply(zcl.CLUSTER_SPECIFIC, specific[0], specific[1])
        else:
            default_response(status)
        if status == zcl.SUCCESS and changed:
            out += self.report_frames(changed)
        return out

    def _global(
        self, ep: int, cluster: int, frame: ZclFrame, reply: Callable[[int, int, bytes], None]
    ) -> list[Outgoing]:
        after: list[Outgoing] = []
        data = frame.payload
        if frame.command == zcl.READ_ATTRIBUTES:
            records = b""
            for i in range(0, len(data) - 1, 2):
                attr = int.from_bytes(data[i : i + 2], "little")
                if (ep, cluster, attr) in self.attributes:
                    records += zcl.u16(attr) + zcl.u8(zcl.SUCCESS) + self._record(ep, cluster, attr)[2:]
                else:
                    records += zcl.u16(attr) + zcl.u8(zcl.UNSUPPORTED_ATTRIBUTE)
            reply(zcl.GLOBAL, zcl.READ_ATTRIBUTES_RSP, records)
        elif frame.command in (zcl.WRITE_ATTRIBUTES, zcl.WRITE_ATTRIBUTES_UNDIVIDED, zcl.WRITE_ATTRIBUTES_NO_RSP):
            failures = b""
            writes = []
            while data:
                if len(data) < 3:
                    raise ValueError("truncated write record")
                attr, type_id = int.from_bytes(data[:2], "little"), data[2]
                value, data = zcl.decode_value(type_id, data[3:])
                if (ep, cluster, attr) not in self.attributes:
                    failures += zcl.u8(zcl.UNSUPPORTED_ATTRIBUTE) + zcl.u16(attr)
                elif type_id != self._type_of(ep, cluster, attr):
                    failures += zcl.u8(zcl.INVALID_DATA_TYPE) + zcl.u16(attr)
                else:
                    writes.append((attr, value))
            if not (failures and frame.command == zcl.WRITE_ATTRIBUTES_UNDIVIDED):
                for attr, value in writes:
                    self._store(ep, cluster, attr, value)
                    if cluster == IAS_ZONE and attr == 0x0010:
                        after += self._enroll_request(ep)
            if frame.command != zcl.WRITE_ATTRIBUTES_NO_RSP:
                reply(zcl.GLOBAL, zcl.WRITE_ATTRIBUTES_RSP, failures or zcl.u8(zcl.SUCCESS))
        elif frame.command == zcl.CONFIGURE_REPORTING:
            failures = b""
            while data:
                direction, attr = data[0], int.from_bytes(data[1:3], "little")
                if direction == 0:
                    type_id = data[3]
                    min_i, max_i = int.from_bytes(data[4:6], "little"), int.from_bytes(data[6:8], "little")
                    data = data[8:]
                    change = None
                    if _is_analog(type_id):
                        change, data = zcl.decode_value(type_id, data)
                    if (ep, cluster, attr) not in self.attributes:
                        failures += zcl.u8(zcl.UNSUPPORTED_ATTRIBUTE) + zcl.u8(direction) + zcl.u16(attr)
                    else:
                        self.reporting[(ep, cluster, attr)] = (type_id, min_i, max_i, change)
                else:
                    data = data[5:]
            reply(zcl.GLOBAL, zcl.CONFIGURE_REPORTING_RSP, failures or zcl.u8(zcl.SUCCESS))
        elif frame.command == zcl.READ_REPORTING_CONFIG:
            records = b""
            for i in range(0, len(data) - 2, 3):
                direction, attr = data[i], int.from_bytes(data[i + 1 : i + 3], "little")
                config = self.reporting.get((ep, cluster, attr))
                if config is None or direction != 0:
                    records += zcl.u8(0x8B) + zcl.u8(direction) + zcl.u16(attr)  # NOT_FOUND
                    continue
                type_id, min_i, max_i, change = config
                records += (
                    zcl.u8(zcl.SUCCESS) + zcl.u8(0) + zcl.u16(attr) + zcl.u8(type_id) + zcl.u16(min_i) + zcl.u16(max_i)
                )
                if _is_analog(type_id):
                    records += zcl.encode_value(type_id, change or 0)
            reply(zcl.GLOBAL, zcl.READ_REPORTING_CONFIG_RSP, records)
        elif frame.command == zcl.DISCOVER_ATTRIBUTES:
            start, count = int.from_bytes(data[:2], "little"), data[2]
            attrs = sorted(a for (e, c, a) in self.attributes if e == ep and c == cluster and a >= start)
            shown = attrs[:count]
            records = b"".join(zcl.u16(a) + zcl.u8(self._type_of(ep, cluster, a)) for a in shown)
            reply(zcl.GLOBAL, zcl.DISCOVER_ATTRIBUTES_RSP, zcl.u8(len(shown) == len(attrs)) + records)
        else:
            reply(zcl.GLOBAL, zcl.DEFAULT_RSP, zcl.u8(frame.command) + zcl.u8(zcl.UNSUP_GENERAL_COMMAND))
        return after

    def _enroll_request(self, ep: int) -> list[Outgoing]:
        """After the CIE address is written an IAS zone asks to enroll (ZCL 8.2.2.4.2)."""
        payload = zcl.u16(self.get(ep, IAS_ZONE, 0x0001, 0)) + zcl.u16(self.manufacturer_code)
        frame = ZclFrame(zcl.CLUSTER_SPECIFIC, 0x01, self.next_tsn(), payload, direction=zcl.SERVER_TO_CLIENT)
        return [Outgoing(ep, IAS_ZONE, frame.serialize())]


def _is_analog(type_id: int) -> bool:
    return 0x20 <= type_id <= 0x2F or 0x38 <= type_id <= 0x3A or 0xE0 <= type_id <= 0xE2


# ---------------------------------------------------------------------------------------------------------------
# What commands do to a device's attributes. Each returns (status, changed attributes, specific response or None),
# or None for a command the cluster does not have.

Result = tuple[int, list[tuple[int, int, int]], tuple[int, bytes] | None] | None


def _on_off(dev: SimDevice, ep: int, cmd: int, payload: bytes) -> Result:
    current = bool(dev.get(ep, ON_OFF, 0x0000, False))
    new = {0x00: False, 0x01: True, 0x02: not current, 0x40: False, 0x41: True, 0x42: True}.get(cmd)
    if new is None:
        return None
    dev._store(ep, ON_OFF, 0x0000, new)
    return zcl.SUCCESS, [(ep, ON_OFF, 0x0000)], None


def _level(dev: SimDevice, ep: int, cmd: int, payload: bytes) -> Result:
    with_on_off = cmd in (0x04, 0x05, 0x06, 0x07)
    base = cmd - 4 if with_on_off else cmd
    level = int(dev.get(ep, LEVEL, 0x0000, 254) or 0)
    if base == 0x00:  # move to level
        level = payload[0]
    elif base == 0x01:  # move: the emulator arrives at once
        level = 254 if payload[0] == 0 else (0 if with_on_off else 1)
    elif base == 0x02:  # step
        size = payload[1]
        level = min(254, level + size) if payload[0] == 0 else max(0 if with_on_off else 1, level - size)
    elif base == 0x03:  # stop
        return zcl.SUCCESS, [], None
    else:
        return None
    level = min(level, 254)
    dev._store(ep, LEVEL, 0x0000, level)
    changed = [(ep, LEVEL, 0x0000)]
    if with_on_off and ON_OFF in dev.endpoints[ep]["in_clusters"]:
        dev._store(ep, ON_OFF, 0x0000, level > 0)
        changed.append((ep, ON_OFF, 0x0000))
    return zcl.SUCCESS, changed, None


def _window_covering(dev: SimDevice, ep: int, cmd: int, payload: bytes) -> Result:
    lift = (ep, WINDOW_COVERING, 0x0008)
    tilt = (ep, WINDOW_COVERING, 0x0009)
    if cmd == 0x00:  # up / open
        dev._store(*lift, 0)
        return zcl.SUCCESS, [lift], None
    if cmd == 0x01:  # down / close
        dev._store(*lift, 100)
        return zcl.SUCCESS, [lift], None
    if cmd == 0x02:  # stop
        return zcl.SUCCESS, [lift], None
    if cmd == 0x05:  # go to lift percentage
        if payload[0] > 100:
            return zcl.INVALID_FIELD, [], None
        dev._store(*lift, payload[0])
        return zcl.SUCCESS, [lift], None
    if cmd == 0x08:  # go to tilt percentage
        if payload[0] > 100:
            return zcl.INVALID_FIELD, [], None
        dev._store(*tilt, payload[0])
        return zcl.SUCCESS, [tilt], None
    if cmd in (0x04, 0x07):  # go to lift / tilt value
        attr = 0x0003 if cmd == 0x04 else 0x0004
        dev._store(ep, WINDOW_COVERING, attr, int.from_bytes(payload[:2], "little"))
        return zcl.SUCCESS, [(ep, WINDOW_COVERING, attr)], None
    return None


def _door_lock(dev: SimDevice, ep: int, cmd: int, payload: bytes) -> Result:
    state = (ep, DOOR_LOCK, 0x0000)
    locked, unlocked = 1, 2
    if cmd == 0x00:
        new = locked
    elif cmd in (0x01, 0x03):
        new = unlocked
    elif cmd == 0x02:
        new = unlocked if dev.get(*state) == locked else locked
    else:
        return None
    dev._store(*state, new)
    # Locks answer with Lock/Unlock/Toggle Door Response (ZCL 7.3.2.17), the status in its payload
    return zcl.SUCCESS, [state], (cmd, zcl.u8(zcl.SUCCESS))


def _ias_zone(dev: SimDevice, ep: int, cmd: int, payload: bytes) -> Result:
    if cmd == 0x00:  # zone enroll response
        if payload[0] == 0x00:
            dev._store(ep, IAS_ZONE, 0x0000, 1)
            dev._store(ep, IAS_ZONE, 0x0011, payload[1])
        return zcl.SUCCESS, [], None
    if cmd in (0x01, 0x02):  # initiate normal / test mode
        return zcl.SUCCESS, [], None
    return None


def _groups(dev: SimDevice, ep: int, cmd: int, payload: bytes) -> Result:
    groups = dev.groups.setdefault(ep, set())
    if cmd == 0x00:  # add group -> add group response
        group = int.from_bytes(payload[:2], "little")
        groups.add(group)
        return zcl.SUCCESS, [], (0x00, zcl.u8(zcl.SUCCESS) + zcl.u16(group))
    if cmd == 0x01:  # view group
        group = int.from_bytes(payload[:2], "little")
        status = zcl.SUCCESS if group in groups else 0x8B
        return zcl.SUCCESS, [], (0x01, zcl.u8(status) + zcl.u16(group) + zcl.u8(0))
    if cmd == 0x02:  # get group membership
        listed = sorted(groups)
        return (
            zcl.SUCCESS,
            [],
            (0x02, zcl.u8(16 - len(listed)) + zcl.u8(len(listed)) + b"".join(zcl.u16(g) for g in listed)),
        )
    if cmd == 0x03:  # remove group
        group = int.from_bytes(payload[:2], "little")
        status = zcl.SUCCESS if group in groups else 0x8B
        groups.discard(group)
        return zcl.SUCCESS, [], (0x03, zcl.u8(status) + zcl.u16(group))
    if cmd in (0x04, 0x05):
        if cmd == 0x04:
            groups.clear()
        return zcl.SUCCESS, [], None
    return None


def _color(dev: SimDevice, ep: int, cmd: int, payload: bytes) -> Result:
    def store(attr: int, value: int) -> tuple[int, int, int]:
        dev._store(ep, COLOR, attr, value)
        return (ep, COLOR, attr)

    if cmd == 0x00:  # move to hue
        return zcl.SUCCESS, [store(0x0000, payload[0]), store(0x0008, 0)], None
    if cmd == 0x03:  # move to saturation
        return zcl.SUCCESS, [store(0x0001, payload[0]), store(0x0008, 0)], None
    if cmd == 0x06:  # move to hue and saturation
        return zcl.SUCCESS, [store(0x0000, payload[0]), store(0x0001, payload[1]), store(0x0008, 0)], None
    if cmd == 0x07:  # move to color (x, y)
        x, y = int.from_bytes(payload[:2], "little"), int.from_bytes(payload[2:4], "little")
        return zcl.SUCCESS, [store(0x0003, x), store(0x0004, y), store(0x0008, 1)], None
    if cmd == 0x0A:  # move to color temperature
        return zcl.SUCCESS, [store(0x0007, int.from_bytes(payload[:2], "little")), store(0x0008, 2)], None
    if cmd in (0x01, 0x02, 0x04, 0x05, 0x08, 0x09, 0x47, 0x4B, 0x4C):
        return zcl.SUCCESS, [], None
    return None


def _thermostat(dev: SimDevice, ep: int, cmd: int, payload: bytes) -> Result:
    if cmd != 0x00:  # setpoint raise/lower: mode (0 heat, 1 cool, 2 both), amount in 0.1 degC
        return None
    mode, amount = payload[0], int.from_bytes(payload[1:2], "little", signed=True)
    changed = []
    for attr, applies in ((0x0012, mode in (0, 2)), (0x0011, mode in (1, 2))):
        if applies and (ep, THERMOSTAT, attr) in dev.attributes:
            dev._store(ep, THERMOSTAT, attr, int(dev.get(ep, THERMOSTAT, attr)) + 10 * amount)
            changed.append((ep, THERMOSTAT, attr))
    return zcl.SUCCESS, changed, None


def _identify(dev: SimDevice, ep: int, cmd: int, payload: bytes) -> Result:
    if cmd == 0x00:
        dev._store(ep, IDENTIFY, 0x0000, int.from_bytes(payload[:2], "little"))
        return zcl.SUCCESS, [], None
    return zcl.SUCCESS, [], None


BEHAVIOURS: dict[int, Callable[[SimDevice, int, int, bytes], Result]] = {
    ON_OFF: _on_off,
    LEVEL: _level,
    WINDOW_COVERING: _window_covering,
    DOOR_LOCK: _door_lock,
    IAS_ZONE: _ias_zone,
    GROUPS: _groups,
    COLOR: _color,
    THERMOSTAT: _thermostat,
    IDENTIFY: _identify,
}


# ---------------------------------------------------------------------------------------------------------------
# Ready-made devices


def _basic(manufacturer: str, model: str, mains: bool, ep: int = 1) -> dict[tuple[int, int, int], Any]:
    return {
        (ep, BASIC, 0x0000): 8,
        (ep, BASIC, 0x0001): 1,
        (ep, BASIC, 0x0003): 1,
        (ep, BASIC, 0x0004): manufacturer,
        (ep, BASIC, 0x0005): model,
        (ep, BASIC, 0x0007): 0x01 if mains else 0x03,
        (ep, BASIC, 0x4000): "1.0.0",
    }


def _battery(ep: int = 1) -> dict[tuple[int, int, int], Any]:
    return {(ep, POWER_CONFIG, 0x0020): 30, (ep, POWER_CONFIG, 0x0021): 200}


def on_off_light(
    ieee: str = "00:0d:6f:00:0b:12:34:01", nwk: int = 0x1001, *, manufacturer: str = "Hearth", model: str = "SimLight"
) -> SimDevice:
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x0100,
                "in_clusters": [BASIC, IDENTIFY, GROUPS, ON_OFF],
                "out_clusters": [],
            }
        },
        {**_basic(manufacturer, model, True), (1, ON_OFF, 0x0000): False},
        "mains",
    )


def dimmable_light(
    ieee: str = "00:0d:6f:00:0b:12:34:02", nwk: int = 0x1002, *, manufacturer: str = "Hearth", model: str = "SimDimmer"
) -> SimDevice:
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x0101,
                "in_clusters": [BASIC, IDENTIFY, GROUPS, ON_OFF, LEVEL],
                "out_clusters": [],
            }
        },
        {**_basic(manufacturer, model, True), (1, ON_OFF, 0x0000): False, (1, LEVEL, 0x0000): 254},
        "mains",
    )


def window_covering(
    ieee: str = "00:0d:6f:00:0b:12:34:03", nwk: int = 0x1003, *, manufacturer: str = "Hearth", model: str = "SimShade"
) -> SimDevice:
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x0202,
                "in_clusters": [BASIC, IDENTIFY, GROUPS, WINDOW_COVERING],
                "out_clusters": [],
            }
        },
        {
            **_basic(manufacturer, model, True),
            (1, WINDOW_COVERING, 0x0000): 0,
            (1, WINDOW_COVERING, 0x0007): 0x03,
            (1, WINDOW_COVERING, 0x0008): 0,
            (1, WINDOW_COVERING, 0x0017): 0x00,
        },
        "mains",
    )


def temperature_humidity_sensor(
    ieee: str = "00:0d:6f:00:0b:12:34:04", nwk: int = 0x1004, *, manufacturer: str = "Hearth", model: str = "SimClimate"
) -> SimDevice:
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x0302,
                "in_clusters": [BASIC, POWER_CONFIG, IDENTIFY, TEMPERATURE, HUMIDITY],
                "out_clusters": [],
            }
        },
        {
            **_basic(manufacturer, model, False),
            **_battery(),
            (1, TEMPERATURE, 0x0000): 2150,
            (1, TEMPERATURE, 0x0001): -4000,
            (1, TEMPERATURE, 0x0002): 12500,
            (1, HUMIDITY, 0x0000): 4500,
            (1, HUMIDITY, 0x0001): 0,
            (1, HUMIDITY, 0x0002): 10000,
        },
        "battery",
    )


def contact_sensor(
    ieee: str = "00:0d:6f:00:0b:12:34:05", nwk: int = 0x1005, *, manufacturer: str = "Hearth", model: str = "SimContact"
) -> SimDevice:
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x0402,
                "in_clusters": [BASIC, POWER_CONFIG, IDENTIFY, IAS_ZONE],
                "out_clusters": [],
            }
        },
        {
            **_basic(manufacturer, model, False),
            **_battery(),
            (1, IAS_ZONE, 0x0000): 0,
            (1, IAS_ZONE, 0x0001): 0x0015,
            (1, IAS_ZONE, 0x0002): 0,
            (1, IAS_ZONE, 0x0010): "00:00:00:00:00:00:00:00",
            (1, IAS_ZONE, 0x0011): 0xFF,
        },
        "battery",
    )


def door_lock(
    ieee: str = "00:0d:6f:00:0b:12:34:06", nwk: int = 0x1006, *, manufacturer: str = "Hearth", model: str = "SimLock"
) -> SimDevice:
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x000A,
                "in_clusters": [BASIC, POWER_CONFIG, IDENTIFY, DOOR_LOCK],
                "out_clusters": [],
            }
        },
        {
            **_basic(manufacturer, model, False),
            **_battery(),
            (1, DOOR_LOCK, 0x0000): 1,
            (1, DOOR_LOCK, 0x0001): 0x00,
            (1, DOOR_LOCK, 0x0002): True,
        },
        "battery",
    )


def smart_plug(
    ieee: str = "00:0d:6f:00:0b:12:34:07", nwk: int = 0x1007, *, manufacturer: str = "Hearth", model: str = "SimPlug2"
) -> SimDevice:
    """Two outlets (endpoints 1 and 2, each OnOff); endpoint 1 also measures (ElectricalMeasurement, Metering)."""
    attrs = {
        **_basic(manufacturer, model, True),
        (1, ON_OFF, 0x0000): False,
        (2, ON_OFF, 0x0000): False,
        (1, ELECTRICAL, 0x0000): 0x00000009,
        (1, ELECTRICAL, 0x0505): 230,
        (1, ELECTRICAL, 0x0508): 0,
        (1, ELECTRICAL, 0x050B): 0,
        (1, ELECTRICAL, 0x0600): 1,
        (1, ELECTRICAL, 0x0601): 1,
        (1, ELECTRICAL, 0x0602): 1,
        (1, ELECTRICAL, 0x0603): 1000,
        (1, ELECTRICAL, 0x0604): 1,
        (1, ELECTRICAL, 0x0605): 1,
        (1, METERING, 0x0000): 0,
        (1, METERING, 0x0300): 0,
        (1, METERING, 0x0301): 1,
        (1, METERING, 0x0302): 1000,
        (1, METERING, 0x0303): 0x2B,
        (1, METERING, 0x0306): 0,
        (1, METERING, 0x0400): 0,
    }
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x0051,
                "in_clusters": [BASIC, IDENTIFY, GROUPS, ON_OFF, METERING, ELECTRICAL],
                "out_clusters": [],
            },
            2: {"profile": HA_PROFILE, "device_type": 0x0051, "in_clusters": [ON_OFF], "out_clusters": []},
        },
        attrs,
        "mains",
    )


def battery_device(
    ieee: str = "00:0d:6f:00:0b:12:34:08", nwk: int = 0x1008, *, manufacturer: str = "Hearth", model: str = "SimMotion"
) -> SimDevice:
    """A battery occupancy sensor: PowerConfiguration (voltage, percentage) + Occupancy sensing."""
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x0107,
                "in_clusters": [BASIC, POWER_CONFIG, IDENTIFY, OCCUPANCY],
                "out_clusters": [],
            }
        },
        {
            **_basic(manufacturer, model, False),
            **_battery(),
            (1, POWER_CONFIG, 0x0031): 0x03,
            (1, POWER_CONFIG, 0x0033): 2,
            (1, OCCUPANCY, 0x0000): 0,
            (1, OCCUPANCY, 0x0001): 0,
        },
        "battery",
    )


def thermostat(
    ieee: str = "00:0d:6f:00:0b:12:34:09", nwk: int = 0x1009, *, manufacturer: str = "Hearth", model: str = "SimTherm"
) -> SimDevice:
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x0301,
                "in_clusters": [BASIC, POWER_CONFIG, IDENTIFY, THERMOSTAT],
                "out_clusters": [],
            }
        },
        {
            **_basic(manufacturer, model, False),
            **_battery(),
            (1, THERMOSTAT, 0x0000): 2000,
            (1, THERMOSTAT, 0x0011): 2600,
            (1, THERMOSTAT, 0x0012): 2000,
            (1, THERMOSTAT, 0x001B): 0x02,
            (1, THERMOSTAT, 0x001C): 0x04,
            (1, THERMOSTAT, 0x0029): 0,
        },
        "battery",
    )


def color_light(
    ieee: str = "00:0d:6f:00:0b:12:34:0a", nwk: int = 0x100A, *, manufacturer: str = "Hearth", model: str = "SimColor"
) -> SimDevice:
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x010D,
                "in_clusters": [BASIC, IDENTIFY, GROUPS, ON_OFF, LEVEL, COLOR],
                "out_clusters": [],
            }
        },
        {
            **_basic(manufacturer, model, True),
            (1, ON_OFF, 0x0000): False,
            (1, LEVEL, 0x0000): 254,
            (1, COLOR, 0x0000): 0,
            (1, COLOR, 0x0001): 0,
            (1, COLOR, 0x0003): 0x616B,
            (1, COLOR, 0x0004): 0x607D,
            (1, COLOR, 0x0007): 250,
            (1, COLOR, 0x0008): 2,
            (1, COLOR, 0x400A): 0x0019,
        },
        "mains",
    )


def multi_sensor(
    ieee: str = "00:0d:6f:00:0b:12:34:0b", nwk: int = 0x100B, *, manufacturer: str = "Hearth", model: str = "SimMulti"
) -> SimDevice:
    """Illuminance, pressure and occupancy on one battery device."""
    return SimDevice(
        ieee,
        nwk,
        {
            1: {
                "profile": HA_PROFILE,
                "device_type": 0x0106,
                "in_clusters": [BASIC, POWER_CONFIG, IDENTIFY, ILLUMINANCE, PRESSURE, OCCUPANCY],
                "out_clusters": [],
            }
        },
        {
            **_basic(manufacturer, model, False),
            **_battery(),
            (1, ILLUMINANCE, 0x0000): 20000,
            (1, PRESSURE, 0x0000): 1013,
            (1, OCCUPANCY, 0x0000): 0,
            (1, OCCUPANCY, 0x0001): 0,
        },
        "battery",
    )
