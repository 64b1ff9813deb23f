"""Our BLE advertisement decoders, checked against bthome-ble (an independent BTHome parser) on the same bytes.

bthome-ble is Home Assistant's parser; it shares nothing with ours. Where both read a packet they must agree
on every measurement we report; on hostile bytes ours must never raise, and must keep only what both keep.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("bleak", reason="the ble extra is not installed")
bthome_ble = pytest.importorskip("bthome_ble", reason="bthome-ble is a test dependency")

from bthome_ble.const import MEAS_TYPES  # noqa: E402
from habluetooth import BluetoothServiceInfoBleak  # noqa: E402
from hearth_ble.formats import ATC_SERVICE_UUID, BTHOME_SERVICE_UUID, decode_advertisement  # noqa: E402
from hearth_ble.formats.atc import decode_atc  # noqa: E402
from hearth_ble.formats.bthome import OBJECTS, Kind, decode_bthome  # noqa: E402
from hearth_ble.formats.characteristic import decode_characteristic  # noqa: E402
from hearth_ble.mapping import STATES, controllable_for, to_states  # noqa: E402

from tests.peers.ble import payloads as pl  # noqa: E402

# Our measurement name -> bthome-ble's key, where they differ; binary sensors are looked up among its binaries.
THEIR_NAME = {"co2": "carbon_dioxide", "moisture_detected": "moisture", "battery_low": "battery", "opening": "opening"}
# The measurements we report (mapping.STATES), by the object ids that carry them.
REPORTED_IDS = sorted(i for i, o in OBJECTS.items() if o.name in STATES)


def theirs(payload: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """bthome-ble's reading of one service-data payload: (sensors, binary sensors) by its keys."""
    info = BluetoothServiceInfoBleak(
        name="test",
        address="A4:C1:38:00:00:01",
        rssi=-60,
        manufacturer_data={},
        service_data={BTHOME_SERVICE_UUID: payload},
        service_uuids=[BTHOME_SERVICE_UUID],
        source="local",
        device=None,
        advertisement=None,
        connectable=False,
        time=0.0,
        tx_power=None,
    )
    try:
        update = bthome_ble.BTHomeBluetoothDeviceData().update(info)
    except IndexError:  # the reference itself fails on an empty payload (ours must not): it read nothing
        return {}, {}
    sensors = {k.key: v.native_value for k, v in update.entity_values.items()}
    binaries = {k.key: v.native_value for k, v in update.binary_entity_values.items()}
    return sensors, binaries


def assert_agree(payload: bytes, rounded: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every measurement we report from this payload is bthome-ble's value too; returns ours.

    ``rounded``: measurements carried by object 0x58 (temperature in steps of 0.35 °C), which bthome-ble rounds
    to one decimal where we keep the step (0.35, not 0.3): equal within that rounding.
    """
    reading = decode_bthome(payload)
    ours = reading.values if reading is not None else {}
    sensors, binaries = theirs(payload)
    for name, value in ours.items():
        if name not in STATES:
            continue
        key = THEIR_NAME.get(name, name)
        if OBJECTS_BY_NAME[name].kind is Kind.BINARY:
            key = key if key in binaries else f"{key}_1"  # a name sent twice: bthome-ble numbers them from 1
            assert binaries.get(key) == value, (name, payload.hex(), binaries)
        else:
            key = key if key in sensors else f"{key}_1"
            tolerance = 0.05 + 1e-9 if name in rounded else 1e-9
            assert sensors.get(key) == pytest.approx(value, abs=tolerance), (name, payload.hex(), sensors)
    if reading is not None and reading.packet_id is not None:
        assert sensors.get("packet_id") == reading.packet_id
    return dict(ours)


OBJECTS_BY_NAME = {o.name: o for o in OBJECTS.values() if o.name}


# ----------------------------------------------------------------------------- the object table


def test_object_sizes_factors_and_signs_are_bthome_s() -> None:
    for object_id, ours in OBJECTS.items():
        if object_id not in MEAS_TYPES:
            continue
        meas = MEAS_TYPES[object_id]
        assert meas.data_length == ours.size, hex(object_id)
        if ours.kind is not Kind.SKIP:
            assert meas.factor == ours.factor, hex(object_id)
            assert (meas.data_format == "signed_integer") == ours.signed, hex(object_id)
    # Every id we read is one bthome-ble reads: nothing of ours is invented.
    assert set(OBJECTS) <= set(MEAS_TYPES)
    # The ones the issue names are there.
    named = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0C, 0x12, 0x14, 0x1A, 0x20, 0x21, 0x23, 0x2D, 0x2E, 0x45}
    assert named <= set(OBJECTS)


# ----------------------------------------------------------------------------- vectors


@pytest.mark.parametrize(
    "payload",
    [
        bytes.fromhex("4002c40903bf13"),  # bthome.io's example: 25.00 °C, 50.55 %
        pl.climate(-12.34, 99.99, 3, packet_id=200),
        pl.bthome(pl.obj(0x04, 100883, 3), pl.obj(0x05, 1346067, 3), pl.obj(0x0C, 3012, 2), pl.obj(0x12, 1250, 2)),
        pl.bthome(pl.obj(0x14, 3456, 2), pl.obj(0x2E, 35, 1)),
        pl.bthome(pl.obj(0x45, -125, 2, signed=True), packet_id=9),
        pl.bthome(
            pl.obj(0x15, 1, 1),
            pl.obj(0x1A, 1, 1),
            pl.obj(0x20, 0, 1),
            pl.obj(0x21, 1, 1),
            pl.obj(0x23, 0, 1),
            pl.obj(0x2D, 1, 1),
        ),
        pl.bthome(pl.obj(0x01, 55, 1), pl.obj(0x3A, 1, 1), pl.obj(0x3C, 0x0103, 2), pl.obj(0x45, 215, 2)),  # events
    ],
    ids=["bthome.io", "climate", "weather", "moisture", "temp-0x45", "binaries", "events-skipped"],
)
def test_known_packets_agree_with_bthome_ble(payload: bytes) -> None:
    ours = assert_agree(payload)
    assert ours, "a valid packet gives measurements"


def test_temperature_in_steps_of_0_35_keeps_the_step() -> None:
    reading = decode_bthome(pl.bthome(pl.obj(0x58, -3, 1, signed=True)))
    assert reading is not None and reading.values == {"temperature": -1.05}
    assert theirs(pl.bthome(pl.obj(0x58, -3, 1, signed=True)))[0]["temperature"] == pytest.approx(-1.05, abs=0.051)


def test_the_documented_example_reads_as_documented() -> None:
    reading = decode_bthome(bytes.fromhex("4002c40903bf13"))
    assert reading is not None and reading.values == {"temperature": 25.0, "humidity": 50.55}
    assert reading.packet_id is None


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x40",
        b"\x44",
        b"\x00\x02\xc4\x09",
        b"\x20\x02\xc4\x09",
        b"\xe0\x02\xc4\x09",  # no data, v0, v1, v7
        b"\x41\x02\xc4\x09\x01\x02\x03\x04\x05\x06\x07\x08",  # encrypted (bit 0): not read without its key
        b"\x40\x02\xc4",  # cut inside the temperature
        b"\x40\x02",  # an id and no value
        b"\x40\x53",  # a text object with no length byte
        b"\x40\x53\xff\x41",  # a text object longer than the packet
    ],
    ids=[
        "empty",
        "header",
        "trigger-only",
        "v0",
        "v1",
        "v7",
        "encrypted",
        "cut",
        "id-only",
        "text-no-len",
        "text-too-long",
    ],
)
def test_unreadable_packets_give_nothing(payload: bytes) -> None:
    assert decode_bthome(payload) is None
    assert_agree(payload)


def test_reading_stops_at_an_unknown_id_and_keeps_what_came_before() -> None:
    payload = pl.bthome(pl.obj(0x01, 80, 1), b"\x7e\x01\x02", pl.obj(0x02, 2000, 2), packet_id=4)
    reading = decode_bthome(payload)
    assert reading is not None and reading.values == {"battery": 80} and reading.packet_id == 4
    assert_agree(payload)
    # Cut short after a good object: the good one stays.
    payload = pl.bthome(pl.obj(0x02, 2000, 2)) + b"\x03\x01"
    reading = decode_bthome(payload)
    assert reading is not None and reading.values == {"temperature": 20.0}
    assert_agree(payload)


def test_an_oversize_packet_is_read_to_its_end_without_trouble() -> None:
    payload = pl.bthome(*[pl.obj(0x09, i % 256, 1) for i in range(300)], packet_id=1)
    reading = decode_bthome(payload)
    assert reading is not None and reading.values == {"count": 0}


# ----------------------------------------------------------------------------- properties


@st.composite
def valid_packets(draw: st.DrawFn) -> tuple[bytes, frozenset[str]]:
    """Objects we report, each id once, in ascending order (as the format asks), with any raw value."""
    ids = draw(st.lists(st.sampled_from(REPORTED_IDS), min_size=1, max_size=8, unique=True))
    # One object per measurement name: bthome-ble numbers repeated names (temperature_1, _2), we keep the first.
    by_name: dict[str, int] = {}
    for object_id in sorted(ids):
        by_name.setdefault(OBJECTS[object_id].name, object_id)
    packet = bytearray([0x40])
    if draw(st.booleans()):
        packet += bytes([0x00, draw(st.integers(0, 255))])
    for object_id in sorted(by_name.values()):
        kind = OBJECTS[object_id]
        raw = draw(st.integers(0, 1) if kind.kind is Kind.BINARY else st.integers(0, 256**kind.size - 1))
        packet += bytes([object_id]) + raw.to_bytes(kind.size, "little")
    return bytes(packet), frozenset({"temperature"} if by_name.get("temperature") == 0x58 else ())


@settings(max_examples=150, deadline=None)
@given(valid_packets())
def test_any_valid_packet_agrees_with_bthome_ble(packet: tuple[bytes, frozenset[str]]) -> None:
    ours = assert_agree(*packet)
    assert ours


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_never_raise_and_never_disagree(payload: bytes) -> None:
    assert_agree(b"\x40" + payload, rounded=frozenset({"temperature"}))
    decode_advertisement({BTHOME_SERVICE_UUID: payload, ATC_SERVICE_UUID: payload})
    decode_atc(payload)


# ----------------------------------------------------------------------------- ATC / pvvx


def test_atc1441_and_pvvx_layouts() -> None:
    mac = "A4:C1:38:12:34:56"
    atc = decode_atc(pl.atc1441(mac, -5.3, 61, 88, 2987, 17))
    assert atc is not None and atc.format == "atc1441" and atc.packet_id == 17
    assert atc.values == {"temperature": -5.3, "humidity": 61, "battery": 88, "voltage": 2.987}
    pvvx = decode_atc(pl.pvvx(mac, 23.45, 56.78, 91, 3012, 200))
    assert pvvx is not None and pvvx.format == "pvvx" and pvvx.packet_id == 200
    assert pvvx.values == {"temperature": 23.45, "humidity": 56.78, "battery": 91, "voltage": 3.012}
    for size in (0, 12, 14, 16, 19):
        assert decode_atc(bytes(size)) is None
    assert decode_advertisement({ATC_SERVICE_UUID: pl.pvvx(mac, 1.0, 2.0, 3, 3000, 4)}) == decode_atc(
        pl.pvvx(mac, 1.0, 2.0, 3, 3000, 4)
    )
    assert decode_advertisement({"0000feaa-0000-1000-8000-00805f9b34fb": b"\x10\x00"}) is None


# ----------------------------------------------------------------------------- characteristics and mapping


def test_characteristic_layouts() -> None:
    assert decode_characteristic((2150).to_bytes(2, "little"), "int16le", 0.01) == 21.5
    assert decode_characteristic((-2150).to_bytes(2, "big", signed=True), "int16be", 0.01) == -21.5
    assert decode_characteristic(b"\x01", "int16le", 0.01) is None
    assert decode_characteristic(b"\x00\x00\xc0\x7f", "float32le", 1) is None  # NaN
    assert decode_characteristic(b"\x01\x02", "nonsense", 1) is None


def test_states_and_controllables_from_measurements() -> None:
    states = to_states(
        {"temperature": 21.5, "humidity": 40.0, "battery": 87.0, "window": True, "door": False, "count": 3}
    )
    assert states == {
        "core:TemperatureState": 21.5,
        "core:RelativeHumidityState": 40.0,
        "core:BatteryLevelState": 87,
        "core:ContactState": "open",
    }
    assert controllable_for(states) == "ble:ContactMultiSensorBLEComponent"
    assert controllable_for(to_states({"motion": False, "illuminance": 12.5})) == "ble:OccupancyMultiSensorBLEComponent"
    assert controllable_for(to_states({"humidity": 50.0})) == "ble:ClimateSensorBLEComponent"
    assert controllable_for(to_states({"battery": 50})) == "ble:GenericSensorBLEComponent"
    assert to_states({"moisture_detected": True, "battery_low": True}) == {
        "core:WaterDetectionState": "detected",
        "core:BatteryState": "low",
    }


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"allow": ["A4:C1:38:11:22"]}, "allow: 'A4:C1:38:11:22' is not a Bluetooth address"),
        (
            {"link": [{"address": "C0:FF:EE:00:00:01", "characteristic": "2a6e", "state": "core:ContactState"}]},
            "link.0.state: must be one of",
        ),
        (
            {"link": [{"address": "C0:FF:EE:00:00:01", "characteristic": "xyz", "state": "core:TemperatureState"}]},
            "link.0.characteristic: 'xyz' is not a UUID",
        ),
        (
            {
                "link": [
                    {
                        "address": "C0:FF:EE:00:00:01",
                        "characteristic": "2a6e",
                        "state": "core:TemperatureState",
                        "read": False,
                        "notify": False,
                    }
                ]
            },
            "link.0: read, notify: at least one must be true",
        ),
        ({"adapter": "wlan0"}, "adapter:"),
        ({"unavailable_after_s": 0}, "unavailable_after_s:"),
        ({"reconnect_min_s": 5, "reconnect_max_s": 1}, "reconnect_max_s: must not be below"),
        ({"bindkey": "00"}, "bindkey: unknown setting"),
    ],
)
def test_settings_errors_name_the_key(config: dict[str, Any], message: str) -> None:
    from hearth_ble import BleDriver

    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        BleDriver.check_config(config)


def test_settings_normalise_addresses_and_uuids() -> None:
    from hearth_ble.settings import parse_settings

    s = parse_settings(
        {
            "enabled": True,
            "allow": ["a4:c1:38:11:22:33"],
            "link": [{"address": "c0:ff:ee:00:00:01", "characteristic": "0x2A6E", "state": "core:TemperatureState"}],
        }
    )
    assert s.allow == ["A4:C1:38:11:22:33"]
    assert (s.link[0].address, s.link[0].characteristic) == (
        "C0:FF:EE:00:00:01",
        "00002a6e-0000-1000-8000-00805f9b34fb",
    )


# ============================================================================= MiBeacon (Xiaomi, UUID 0xFE95)
#
# Vectors from the public documentation (ble_monitor's protocol.md, WatchFlower's mibeacon-ble-api.md), built
# frames (tests/peers/ble/payloads.py), and, when the xiaomi-ble package is installed, agreement with it (Home
# Assistant's MiBeacon parser, which shares nothing with ours) on the same bytes.

from hearth_ble.formats.mibeacon import MIBEACON_SERVICE_UUID, decode_mibeacon  # noqa: E402
from hearth_ble.formats.mibeacon import OBJECTS as MI_OBJECTS  # noqa: E402

MI_MAC = "4C:65:A8:DD:B8:9B"  # the LYWSDCGQ of ble_monitor's protocol.md
MI_BINARIES = frozenset({"motion"})
# Object id -> the measurement names it gives (an object per name in a generated frame: first/last wins differ).
MI_NAMES = {
    0x000F: {"motion"},
    0x1004: {"temperature"},
    0x1006: {"humidity"},
    0x1007: {"illuminance"},
    0x1008: {"moisture"},
    0x1009: {"conductivity"},
    0x100A: {"battery"},
    0x100D: {"temperature", "humidity"},
    0x1017: {"motion"},
    0x101B: {"motion"},
}


def xiaomi_theirs(payload: bytes, address: str = MI_MAC) -> tuple[dict[str, Any], dict[str, Any]]:
    """xiaomi-ble's reading of one service-data payload: (sensors, binary sensors) by its keys."""
    xiaomi_ble = pytest.importorskip("xiaomi_ble", reason="xiaomi-ble is an optional test dependency")
    info = BluetoothServiceInfoBleak(
        name="test",
        address=address,
        rssi=-60,
        manufacturer_data={},
        service_data={MIBEACON_SERVICE_UUID: payload},
        service_uuids=[MIBEACON_SERVICE_UUID],
        source="local",
        device=None,
        advertisement=None,
        connectable=False,
        time=0.0,
        tx_power=None,
    )
    update = xiaomi_ble.XiaomiBluetoothDeviceData().update(info)
    sensors = {k.key: v.native_value for k, v in update.entity_values.items()}
    binaries = {k.key: v.native_value for k, v in update.binary_entity_values.items()}
    return sensors, binaries


def assert_xiaomi_agrees(payload: bytes, values_too: bool = True) -> dict[str, Any]:
    """Every measurement we decode is xiaomi-ble's too (with its value, unless ``values_too`` is False)."""
    reading = decode_mibeacon(payload)
    ours = dict(reading.values) if reading is not None else {}
    sensors, binaries = xiaomi_theirs(payload)
    for name, value in ours.items():
        theirs_ = binaries if name in MI_BINARIES else sensors
        assert name in theirs_, (name, payload.hex(), sensors, binaries)
        if values_too:
            assert theirs_[name] == pytest.approx(value, abs=1e-9), (name, payload.hex(), theirs_)
    return ours


def mi_values(payload: bytes) -> dict[str, Any] | None:
    """What our decoder reads from one frame: its measurements, or None."""
    reading = decode_mibeacon(payload)
    return None if reading is None else dict(reading.values)


def mi_frame(*objects: bytes, counter: int = 1, product_id: int = pl.LYWSDCGQ) -> bytes:
    return pl.mibeacon(*objects, counter=counter, mac=MI_MAC, capability=b"\x0d", product_id=product_id)


# ----------------------------------------------------------------------------- documented vectors


@pytest.mark.parametrize(
    ("hex_payload", "counter", "values"),
    [
        # ble_monitor protocol.md, LYWSDCGQ (frame control 0x2050: v2, MAC, object): 0x100D, 0x1004, 0x1006, 0x100A.
        ("5020aa01fe9bb8dda8654c0d1004b2007502", 0xFE, {"temperature": 17.8, "humidity": 62.9}),
        ("5020aa01ff9bb8dda8654c041002b100", 0xFF, {"temperature": 17.7}),
        ("5020aa01049bb8dda8654c0610027402", 0x04, {"humidity": 62.8}),
        ("5020aa01089bb8dda8654c0a100148", 0x08, {"battery": 72}),
        ("5020aa010c9bb8dda8654c0d1004b2004302", 0x0C, {"temperature": 17.8, "humidity": 57.9}),  # its btmon capture
        # WatchFlower mibeacon-ble-api.md (frame control 0x2071/0x2070: MAC and capability 0x0d/0x09 included).
        ("71209800719bb8dda8654c0d0810011f", 0x71, {"moisture": 31}),  # HHCCJCY01
        ("71205d01839bb8dda8654c0d0910020101", 0x83, {"conductivity": 257}),  # HHCCPOT002
        ("70205b04fc9bb8dda8654c090410021901", 0xFC, {"temperature": 28.1}),  # LYWSD02
    ],
    ids=["temp-hum", "temp", "hum", "battery", "btmon", "moisture", "conductivity", "lywsd02"],
)
def test_mibeacon_documented_frames(hex_payload: str, counter: int, values: dict[str, Any]) -> None:
    reading = decode_mibeacon(bytes.fromhex(hex_payload))
    assert reading is not None and reading.format == "mibeacon"
    assert reading.values == values and reading.packet_id == counter
    assert decode_advertisement({MIBEACON_SERVICE_UUID: bytes.fromhex(hex_payload)}) == reading


def test_mibeacon_built_frames() -> None:
    frame = mi_frame(pl.mi_obj(0x1004, -125, 2, signed=True), pl.mi_obj(0x100A, 93, 1), counter=9)
    reading = decode_mibeacon(frame)
    assert reading is not None and reading.values == {"temperature": -12.5, "battery": 93} and reading.packet_id == 9
    plant = mi_frame(pl.mi_obj(0x1007, 0x012345, 3), pl.mi_obj(0x1008, 40, 1), product_id=pl.HHCCJCY01)
    assert mi_values(plant) == {"illuminance": 0x012345, "moisture": 40}
    # No MAC, no capability: objects right after the frame counter.
    assert mi_values(pl.mibeacon(pl.mi_obj(0x1006, 455, 2), counter=3)) == {"humidity": 45.5}
    # A capability byte with bit 5 set is followed by one I/O-capability byte.
    io = pl.mibeacon(pl.mi_obj(0x100A, 77, 1), counter=4, capability=b"\x28\x01")
    assert mi_values(io) == {"battery": 77}
    # Motion: 0x000F moving; 0x1017 seconds without motion (<= 30 s still counts as motion); 0x101B timeout.
    assert mi_values(mi_frame(pl.mi_obj(0x000F, 100, 3))) == {"motion": True}
    assert mi_values(mi_frame(pl.mi_obj(0x1017, 5, 4))) == {"motion": True}
    assert mi_values(mi_frame(pl.mi_obj(0x1017, 120, 4))) == {"motion": False}
    assert mi_values(mi_frame(pl.mi_obj(0x101B, 1, 1))) == {"motion": False}
    assert to_states({"motion": False}) == {"core:OccupancyState": "noPersonInside"}


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x50\x20\xaa\x01",  # nothing, or cut inside the header
        pl.mibeacon(counter=1, mac=MI_MAC),  # no object: a device announcing itself
        pl.mibeacon(pl.mi_obj(0x1004, 200, 2), counter=1, control=pl.MI_V5 | pl.MI_ENCRYPTED) + b"\x00" * 7,
        pl.mibeacon(pl.mi_obj(0x1004, 200, 2), counter=1, control=pl.MI_V5 | pl.MI_MESH),
        pl.mibeacon(pl.mi_obj(0x1004, 200, 2), counter=1, control=1 << 12),  # version 1
        pl.mibeacon(pl.mi_obj(0x1004, 200, 2), counter=1, mac=MI_MAC)[:9],  # cut inside the MAC
        bytes.fromhex("6050aa0101"),  # capability announced, frame ends
        pl.mibeacon(pl.mi_obj(0x1004, 200, 2), counter=1)[:-1],  # cut inside the only object
        pl.mibeacon(pl.mi_obj(0x1004, 200, 3), counter=1),  # temperature with 3 bytes: not a frame we know
        pl.mibeacon(b"\x04\x10", counter=1),  # an id, no length
        pl.mibeacon(pl.mi_obj(0x2001, 1, 1), counter=1),  # only an object we do not know
    ],
    ids=[
        "empty",
        "header-cut",
        "no-object",
        "encrypted",
        "mesh",
        "v1",
        "mac-cut",
        "capability-cut",
        "object-cut",
        "wrong-length",
        "id-only",
        "unknown-only",
    ],
)
def test_mibeacon_unreadable_frames_give_nothing(payload: bytes) -> None:
    assert decode_mibeacon(payload) is None
    assert decode_advertisement({MIBEACON_SERVICE_UUID: payload}) is None


def test_mibeacon_hostile_objects_keep_what_came_before() -> None:
    good = pl.mi_obj(0x100A, 61, 1)
    # Unknown ids are stepped over (each object says its length); a known id with a wrong length ends it.
    frame = mi_frame(good, pl.mi_obj(0x2001, 7, 5), pl.mi_obj(0x1004, 215, 2))
    assert mi_values(frame) == {"battery": 61, "temperature": 21.5}
    frame = mi_frame(good, pl.mi_obj(0x1004, 215, 4), pl.mi_obj(0x1006, 400, 2))
    assert mi_values(frame) == {"battery": 61}
    # Cut short, or a length past the end: the good one stays.
    assert mi_values(mi_frame(good) + b"\x04\x10\x02\xd7") == {"battery": 61}
    assert mi_values(mi_frame(good) + b"\x04\x10\xff\xd7\x00") == {"battery": 61}
    # Oversize: hundreds of objects are read to the end; a name sent twice keeps its first value.
    frame = mi_frame(*[pl.mi_obj(0x100A, i % 101, 1) for i in range(400)], pl.mi_obj(0x1004, 1, 2))
    assert mi_values(frame) == {"battery": 0, "temperature": 0.1}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 0xFFFF))
def test_mibeacon_any_bytes_never_raise(tail: bytes, control: int) -> None:
    for payload in (tail, control.to_bytes(2, "little") + tail):
        reading = decode_mibeacon(payload)
        assert reading is None or (reading.values and reading.packet_id == payload[4])
        decode_advertisement({MIBEACON_SERVICE_UUID: payload})


# ----------------------------------------------------------------------------- against xiaomi-ble


@pytest.mark.parametrize(
    "payload",
    [
        bytes.fromhex("5020aa01fe9bb8dda8654c0d1004b2007502"),
        bytes.fromhex("5020aa01089bb8dda8654c0a100148"),
        mi_frame(pl.mi_obj(0x1004, -125, 2, signed=True), pl.mi_obj(0x1006, 999, 2), pl.mi_obj(0x100A, 93, 1)),
        mi_frame(
            pl.mi_obj(0x1007, 0x012345, 3), pl.mi_obj(0x1008, 40, 1), pl.mi_obj(0x1009, 350, 2), product_id=pl.HHCCJCY01
        ),
        mi_frame(pl.mi_obj(0x000F, 100, 3)),
        mi_frame(pl.mi_obj(0x1017, 30, 4)),
        mi_frame(pl.mi_obj(0x1017, 31, 4)),
        mi_frame(pl.mi_obj(0x101B, 1, 1)),
        pl.mibeacon(pl.mi_obj(0x100A, 77, 1), counter=4, mac=MI_MAC, capability=b"\x28\x01"),
    ],
    ids=["doc-temp-hum", "doc-battery", "climate", "plant", "moving", "still-30s", "quiet-31s", "timeout", "io-cap"],
)
def test_mibeacon_known_frames_agree_with_xiaomi_ble(payload: bytes) -> None:
    assert assert_xiaomi_agrees(payload)


@st.composite
def mi_valid_frames(draw: st.DrawFn) -> bytes:
    """Objects we read, one per measurement name, with any raw value, behind any header fields."""
    product_id = draw(st.sampled_from([pl.LYWSDCGQ, pl.HHCCJCY01]))
    # xiaomi-ble reads lux only from plant sensors.
    known = sorted(i for i in MI_OBJECTS if i != 0x1007 or product_id == pl.HHCCJCY01)
    ids = draw(st.lists(st.sampled_from(known), min_size=1, max_size=6, unique=True))
    chosen: list[int] = []
    for object_id in ids:
        # One object per name: xiaomi-ble keeps the last of a name, we the first.
        if all(not MI_NAMES[object_id] & MI_NAMES[c] for c in chosen):
            chosen.append(object_id)
    objects = [pl.mi_obj(i, draw(st.integers(0, 256 ** MI_OBJECTS[i].size - 1)), MI_OBJECTS[i].size) for i in chosen]
    capability = draw(st.sampled_from([None, b"\x0d", b"\x28\x01"]))
    mac = draw(st.sampled_from([None, MI_MAC]))
    return pl.mibeacon(
        *objects, counter=draw(st.integers(0, 255)), mac=mac, capability=capability, product_id=product_id
    )


@settings(max_examples=150, deadline=None)
@given(mi_valid_frames())
def test_mibeacon_any_valid_frame_agrees_with_xiaomi_ble(payload: bytes) -> None:
    assert assert_xiaomi_agrees(payload)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=48))
def test_mibeacon_any_objects_never_claim_what_xiaomi_ble_does_not(tail: bytes) -> None:
    # A good header (v5, objects, a plant sensor that xiaomi-ble knows), then anything: every name we keep, it
    # keeps too. Values may differ when a name is sent twice (it keeps the last, we the first).
    assert_xiaomi_agrees(
        pl.mibeacon(counter=1, product_id=pl.HHCCJCY01, control=pl.MI_V5 | pl.MI_OBJECT) + tail, values_too=False
    )
