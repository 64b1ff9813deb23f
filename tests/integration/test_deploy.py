"""deploy/: the systemd units, the udev rules, the install script, the container files, and sd_notify.

The units go through ``systemd-analyze verify``; the udev rules through the real ``udevadm test`` in a private
mount namespace, against a made-up sysfs with one USB stick per case; the install script runs into a scratch
root, twice; ``hearth run`` talks to a datagram socket that plays systemd's part.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.store.database import Database
from hearth.store.writer import BatchWriter
from hearth.systemd import Notifier, WriterProgress, socket_address, watchdog_timeout
from tests.support.process import REPO, HearthProcess

DEPLOY = REPO / "deploy"
HEARTH_UNIT = DEPLOY / "systemd" / "hearth.service"
ZWAVE_UNIT = DEPLOY / "zwave" / "hearth-zwave.service"
RULES = DEPLOY / "udev" / "99-hearth-radios.rules"
INSTALL = DEPLOY / "install.sh"
CONTAINERFILE = DEPLOY / "Containerfile"
VENV_SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def _unit_settings(path: Path) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file, by key (a key may repeat)."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


# ----------------------------------------------------------------------------- the units


def _analyze(command: str, unit: Path, tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze <command>`` on a copy of ``unit`` whose program exists (verify checks that it does)."""
    program = _unit_settings(unit)["ExecStart"][0].split()[0]
    stand_in = tmp_path / "bin" / Path(program).name
    stand_in.parent.mkdir(exist_ok=True)
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(program, str(stand_in)))
    return subprocess.run(
        ["systemd-analyze", command, "--man=no", *options, str(copy)], capture_output=True, text=True, timeout=60
    )


def _verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return _analyze("verify", unit, tmp_path)


needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")


@needs_analyze
@pytest.mark.parametrize("unit", [HEARTH_UNIT, ZWAVE_UNIT], ids=lambda p: p.name)
def test_unit_passes_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    result = _verify(unit, tmp_path)
    # verify exits 0 on a key it ignores: a warning on stderr is a failure here.
    assert result.returncode == 0 and result.stderr == "", result.stderr


@needs_analyze
@pytest.mark.parametrize("unit", [HEARTH_UNIT, ZWAVE_UNIT], ids=lambda p: p.name)
def test_unit_is_rated_well_by_systemd_analyze_security(unit: Path, tmp_path: Path) -> None:
    # Exposure 0 (locked down) to 10 (none); ours are 1.9. The threshold is in tenths.
    result = _analyze("security", unit, tmp_path, "--offline=yes", "--threshold=25")
    assert result.returncode == 0, result.stdout[-600:] + result.stderr


@needs_analyze
def test_verify_reports_what_systemd_would_ignore(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key and bad device rights are reported."""
    broken = tmp_path / "src" / "hearth.service"
    broken.parent.mkdir()
    broken.write_text(
        HEARTH_UNIT.read_text().replace("Type=notify", "Tpye=notify").replace("char-ttyUSB rw", "char-ttyUSB rwx")
    )
    result = _verify(broken, tmp_path)
    assert "Unknown key" in result.stderr and "Invalid device rights" in result.stderr


def test_hearth_unit_is_confined_to_its_data_and_the_serial_ports() -> None:
    unit = _unit_settings(HEARTH_UNIT)
    assert unit["Type"] == ["notify"] and unit["User"] == ["hearth"] and unit["Restart"] == ["on-failure"]
    assert float(unit["WatchdogSec"][0]) > 0
    assert unit["ProtectSystem"] == ["strict"] and unit["StateDirectory"] == ["hearth"]
    assert unit["DevicePolicy"] == ["closed"]
    assert sorted(unit["DeviceAllow"]) == ["char-ttyACM rw", "char-ttyAMA rw", "char-ttyS rw", "char-ttyUSB rw"]
    assert unit["CapabilityBoundingSet"] == [""] and unit["NoNewPrivileges"] == ["yes"]
    # The program is where the install script puts it, and the data where the script makes the folder.
    script = INSTALL.read_text()
    venv = re.search(r"^VENV=(\S+)$", script, re.M)
    data = re.search(r"^DATA=(\S+)$", script, re.M)
    assert venv and data
    assert unit["ExecStart"][0].split()[0] == f"{venv.group(1)}/bin/hearth"
    assert unit["Environment"] == [f"HEARTH_STORE__DATA_DIR={data.group(1)}"]
    # The drivers whose device groups DeviceAllow names are loaded at boot.
    modules = [
        line
        for line in (DEPLOY / "modules-load" / "hearth.conf").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert modules == ["usbserial", "cdc_acm"]


# ----------------------------------------------------------------------------- the udev rules

# (name, vendor, product id, product string, interface number, tty kind, the /dev/hearth-* names expected)
STICKS = [
    (
        "sonoff-zbdongle-p",
        "10c4",
        "ea60",
        "Sonoff Zigbee 3.0 USB Dongle Plus",
        "00",
        "ttyUSB",
        {"hearth-zigbee", "hearth-zigbee-znp"},
    ),
    (
        "sonoff-zbdongle-e",
        "1a86",
        "55d4",
        "SONOFF Zigbee 3.0 USB Dongle Plus V2",
        "00",
        "ttyACM",
        {"hearth-zigbee", "hearth-zigbee-ezsp"},
    ),
    ("skyconnect", "10c4", "ea60", "SkyConnect v1.0", "00", "ttyUSB", {"hearth-zigbee", "hearth-zigbee-ezsp"}),
    ("conbee-2", "1cf1", "0030", "ConBee II", "00", "ttyACM", {"hearth-zigbee", "hearth-zigbee-deconz"}),
    ("conbee-3", "0403", "6015", "ConBee III", "00", "ttyUSB", {"hearth-zigbee", "hearth-zigbee-deconz"}),
    ("rfxtrx433e", "0403", "6015", "RFXtrx433", "00", "ttyUSB", {"hearth-rts", "hearth-rts-rfxtrx"}),
    ("z-stick-gen5", "0658", "0200", "", "00", "ttyACM", {"hearth-zwave"}),
    ("husbzb-1-zwave", "10c4", "8a2a", "HubZ Smart Home Controller", "00", "ttyUSB", {"hearth-zwave"}),
    (
        "husbzb-1-zigbee",
        "10c4",
        "8a2a",
        "HubZ Smart Home Controller",
        "01",
        "ttyUSB",
        {"hearth-zigbee", "hearth-zigbee-ezsp"},
    ),
    ("nanocul-ch340", "1a86", "7523", "USB2.0-Serial", "00", "ttyUSB", {"hearth-rts", "hearth-rts-cul"}),
    ("busware-cul", "03eb", "204b", "CUL433", "00", "ttyACM", {"hearth-rts", "hearth-rts-cul"}),
    # Generic bridges with their default strings cannot be told apart: no name rather than a wrong one.
    ("zooz-700-generic-cp2102n", "10c4", "ea60", "CP2102N USB to UART Bridge Controller", "00", "ttyUSB", set()),
    ("other-ftdi", "0403", "6015", "FT231X USB UART", "00", "ttyUSB", set()),
    ("zigstar-ch340", "1a86", "7523", "ZigStar LAN Coordinator", "00", "ttyUSB", set()),
]
_MAJOR = {"ttyUSB": 188, "ttyACM": 166}


def _fake_sysfs_script(rules_dir: Path) -> str:
    """Shell that, in a private mount namespace, puts tmpfs over /run, /dev and /sys, our rules in place of
    /etc/udev/rules.d, builds one USB device per stick as the kernel lays them out, and runs udevadm test."""
    lines = [
        "set -eu",
        "mount -t tmpfs tmpfs /run",
        "mount -t tmpfs tmpfs /dev",
        f"mount --bind {rules_dir} /etc/udev/rules.d",
        "mount -t tmpfs tmpfs /sys",
        "mkdir -p /sys/bus/usb /sys/bus/usb-serial /sys/class/tty",
    ]
    for number, (name, vendor, product_id, product, interface, kind, _) in enumerate(STICKS):
        usb = f"/sys/devices/pci0000:00/0000:00:14.0/usb1/1-{number + 1}"
        iface = f"{usb}/1-{number + 1}:1.{int(interface)}"
        tty = f"{kind}{number}"
        # cdc_acm puts its tty under the interface; usb-serial drivers under a port device of their own.
        node = f"{iface}/tty/{tty}" if kind == "ttyACM" else f"{iface}/{tty}/tty/{tty}"
        lines += [
            f"mkdir -p {node}",
            f"printf {vendor} > {usb}/idVendor",
            f"printf {product_id} > {usb}/idProduct",
            f"printf 'serial{number}' > {usb}/serial",
            f"printf 'DEVTYPE=usb_device\\n' > {usb}/uevent",
            f"ln -s /sys/bus/usb {usb}/subsystem",
            f"printf 'DEVTYPE=usb_interface\\n' > {iface}/uevent",
            f"ln -s /sys/bus/usb {iface}/subsystem",
            f"printf {interface} > {iface}/bInterfaceNumber",
            f"printf ff > {iface}/bInterfaceClass",
            f"printf 00 > {iface}/bInterfaceSubClass",
            f"printf 00 > {iface}/bInterfaceProtocol",
            f"printf 'MAJOR={_MAJOR[kind]}\\nMINOR={number}\\nDEVNAME={tty}\\n' > {node}/uevent",
            f"ln -s /sys/class/tty {node}/subsystem",
            f"ln -s {node} /sys/class/tty/{tty}",
        ]
        if product:
            lines.append(f"printf '%s' '{product}' > {usb}/product")
        if kind == "ttyUSB":
            lines += [f"ln -s /sys/bus/usb-serial {iface}/{tty}/subsystem", f": > {iface}/{tty}/uevent"]
        lines += [f"echo '@@@ {name}'", f"SYSTEMD_DEVICE_VERIFY_SYSFS=0 udevadm test --action=add {node} 2>&1"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def udev_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """udevadm test's output for each stick (and, under "", what it said before the first)."""
    if shutil.which("udevadm") is None or shutil.which("unshare") is None:
        pytest.skip("udevadm or unshare not installed")
    if os.geteuid() != 0:
        pytest.skip("a private mount namespace needs root")
    rules_dir = tmp_path_factory.mktemp("rules")
    shutil.copy(RULES, rules_dir / RULES.name)
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", _fake_sysfs_script(rules_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0 and "@@@" not in result.stdout:
        pytest.skip(f"no private mount namespace here: {result.stdout[-300:]} {result.stderr[-300:]}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    runs: dict[str, str] = {}
    name = ""
    for line in result.stdout.splitlines():
        if line.startswith("@@@ "):
            name = line[4:]
        runs[name] = runs.get(name, "") + line + "\n"
    return runs


def test_udev_parses_the_rules_without_a_complaint(udev_runs: dict[str, str]) -> None:
    said = "".join(udev_runs.values())
    assert f"Reading rules file: /etc/udev/rules.d/{RULES.name}" in said
    # Parse problems are reported as "<file>:<line> <problem>", not prefixed by a device name.
    complaints = [line for line in said.splitlines() if line.startswith(f"/etc/udev/rules.d/{RULES.name}:")]
    assert complaints == []


@pytest.mark.parametrize("stick", STICKS, ids=[s[0] for s in STICKS])
def test_udev_names_the_stick(stick: tuple[str, str, str, str, str, str, set[str]], udev_runs: dict[str, str]) -> None:
    name, *_, expected = stick
    output = udev_runs[name]
    links = re.search(r"^DEVLINKS=(.*)$", output, re.M)
    assert links, output[-1500:]
    ours = {Path(link).name for link in links.group(1).split() if Path(link).name.startswith("hearth-")}
    assert ours == expected
    applied = re.findall(rf"{re.escape(RULES.name)}:\d+ (GROUP|MODE) (\S+)", output)
    if expected:
        import grp

        assert ("GROUP", str(grp.getgrnam("dialout").gr_gid)) in applied and ("MODE", "0660") in applied
        assert re.search(r"^ID_MM_DEVICE_IGNORE=1$", output, re.M)
    else:
        assert applied == []


# ----------------------------------------------------------------------------- the install script


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout the script is run from (the repository may change while the test runs), with
    Hearth's wheel built from it in dist/ (a build in place would write into the repository)."""
    source = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("src", "drivers", "config", "deploy"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(source / "dist"),
            str(source),
        ],
        check=True,
        timeout=300,
    )
    return source


def _install(root: Path, *args: str, checkout: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DESTDIR"}
    return subprocess.run(
        ["bash", str(checkout / "deploy/install.sh"), "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _snapshot(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every path under root: mode, size, modification time, and a symlink's target."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            target = os.readlink(path) if path.is_symlink() else ""
            seen[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, target)
    return seen


def _host_state() -> tuple[bool, bool, bool]:
    return (
        subprocess.run(["getent", "passwd", "hearth"], capture_output=True).returncode == 0,
        Path("/etc/systemd/system/hearth.service").exists(),
        Path("/opt/hearth").exists(),
    )


@pytest.mark.slow
def test_install_script_lays_out_a_scratch_root_and_a_second_run_changes_nothing(
    checkout: Path, tmp_path: Path
) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm not installed (the zwave-js server part)")
    root = tmp_path / "root"
    host_before = _host_state()
    wheel = next((checkout / "dist").glob("hearth-*.whl"))
    # The venv is made with this test's Python: the dependencies it lends below are built for that Python.
    args = (
        "--source",
        str(wheel),
        "--extras",
        "rts",
        "--with-zwave",
        "--pip-arg=--no-deps",
        "--python",
        sys.executable,
    )
    first = _install(root, *args, checkout=checkout)
    assert first.returncode == 0, first.stdout + first.stderr

    # Every file in its place, with its mode.
    venv = root / "opt/hearth/venv"
    assert os.access(venv / "bin/hearth", os.X_OK)
    catalogue = sorted(p.name for p in (venv / "share/hearth/controllables").glob("*.json"))
    assert catalogue == sorted(p.name for p in (checkout / "config/controllables").glob("*.json"))
    deploy = checkout / "deploy"
    files = {
        "etc/hearth/hearth.toml": (checkout / "config/hearth.example.toml", 0o640),
        "etc/systemd/system/hearth.service": (deploy / "systemd/hearth.service", 0o644),
        "etc/systemd/system/hearth-zwave.service": (deploy / "zwave/hearth-zwave.service", 0o644),
        "etc/udev/rules.d/99-hearth-radios.rules": (deploy / "udev/99-hearth-radios.rules", 0o644),
        "etc/modules-load.d/hearth.conf": (deploy / "modules-load/hearth.conf", 0o644),
        "opt/hearth-zwave/package-lock.json": (deploy / "zwave/package-lock.json", 0o644),
    }
    for relative, (source, mode) in files.items():
        assert (root / relative).read_bytes() == source.read_bytes(), relative
        assert (root / relative).stat().st_mode & 0o777 == mode, relative
    assert (root / "var/lib/hearth").stat().st_mode & 0o777 == 0o750
    assert os.access(root / "opt/hearth-zwave/node_modules/.bin/zwave-server", os.X_OK)
    zwave_config = root / "etc/hearth/zwave-server.json"
    assert zwave_config.stat().st_mode & 0o777 == 0o600
    keys = json.loads(zwave_config.read_text())["securityKeys"]
    assert len(keys) == 4 and all(re.fullmatch(r"[0-9a-f]{32}", key) for key in keys.values())
    # What would change this machine was said, not done.
    for step in (
        "useradd --system",
        "udevadm control --reload-rules",
        "systemctl daemon-reload",
        "systemctl enable hearth-zwave hearth",
    ):
        assert f"(scratch root, not run) {step}" in first.stdout, step
    assert _host_state() == host_before

    # The installed Hearth reads the installed configuration and finds the installed catalogue. It was
    # installed without its dependencies (no network needed here); this test's environment lends them.
    env = {**os.environ, "PYTHONPATH": str(VENV_SITE), "HEARTH_STORE__DATA_DIR": str(root / "var/lib/hearth")}
    check = subprocess.run(
        [str(venv / "bin/hearth"), "check-config", "--config", str(root / "etc/hearth/hearth.toml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert check.returncode == 0 and "configuration OK" in check.stdout, check.stderr
    doctor = subprocess.run(
        [str(venv / "bin/hearth"), "doctor", "--config", str(root / "etc/hearth/hearth.toml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    found = re.search(r"catalogue: \d+ controllables in (\S+)", doctor.stdout)
    assert found and found.group(1) == str(venv / "share/hearth/controllables"), doctor.stdout
    where = subprocess.run(
        [str(venv / "bin/python"), "-c", "import hearth; print(hearth.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert where.stdout.startswith(str(venv))

    # A second run changes nothing, not even a modification time.
    before = _snapshot(root)
    second = _install(root, *args, checkout=checkout)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _snapshot(root) == before
    assert "kept the existing /etc/hearth/hearth.toml" in second.stdout

    # An upgrade keeps the user's configuration and keys, and puts back the files the package owns.
    edited = (root / "etc/hearth/hearth.toml").read_text() + "\n# mine\n"
    (root / "etc/hearth/hearth.toml").write_text(edited)
    (root / "etc/systemd/system/hearth.service").write_text("[Service]\nExecStart=/bin/false\n")
    third = _install(root, *args, checkout=checkout)
    assert third.returncode == 0, third.stderr
    assert (root / "etc/hearth/hearth.toml").read_text() == edited
    assert json.loads(zwave_config.read_text())["securityKeys"] == keys
    assert (root / "etc/systemd/system/hearth.service").read_bytes() == (deploy / "systemd/hearth.service").read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (("--extras", "zig bee"), "--extras takes names separated by commas"),
        (("--source", "/nonexistent/hearth.whl"), "no such source"),
        (("--source", str(REPO / "deploy")), "not a Hearth source folder"),
        (("--frobnicate",), "unknown argument: --frobnicate"),
    ],
)
def test_install_script_refuses_bad_arguments_before_changing_anything(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    result = _install(root, *args)
    assert result.returncode != 0 and message in result.stderr
    assert not (root / "opt").exists() and not (root / "etc").exists()


# ----------------------------------------------------------------------------- sd_notify


class FakeSystemd:
    """systemd's end of $NOTIFY_SOCKET: a datagram socket that records each message, its time and sender."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(address)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, int, str]] = []  # (monotonic time, sender pid, text)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        credentials = struct.calcsize("3i")
        while not self._stop.is_set():
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(credentials))
            except TimeoutError:
                continue
            pid = 0
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:credentials])[0]
            self.messages.append((time.monotonic(), pid, data.decode()))

    def texts(self) -> list[str]:
        return [text for _, _, text in self.messages]

    def wait_for(self, field: str, timeout: float = 20.0) -> tuple[float, int, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in list(self.messages):
                if field in message[2].split("\n"):
                    return message
            time.sleep(0.02)
        raise AssertionError(f"no {field} in {self.texts()}")

    def pings(self, since: float = 0.0) -> list[float]:
        return [at for at, _, text in self.messages if text == "WATCHDOG=1" and at >= since]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def fake_systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    systemd = FakeSystemd(str(tmp_path / "notify"))
    yield systemd
    systemd.close()


def test_hearth_run_tells_systemd_it_is_ready_alive_and_stopping(fake_systemd: FakeSystemd, tmp_path: Path) -> None:
    gateway = HearthProcess(tmp_path / "data", env={"NOTIFY_SOCKET": fake_systemd.address, "WATCHDOG_USEC": "1000000"})
    gateway.start()
    health_env = {**gateway.env, "HEARTH_CONFIG": str(gateway.config), "HEARTH_API__PORT": str(gateway.port)}
    try:
        assert gateway.proc is not None
        _, sender, ready = fake_systemd.wait_for("READY=1")
        # systemd's NotifyAccess=main takes messages from the main process only.
        assert sender == gateway.proc.pid
        assert f"STATUS=gateway {gateway.gateway_id}: " in ready and f"port {gateway.port}" in ready
        # WATCHDOG_USEC=1 s: a ping every half second, from the main process.
        start = time.monotonic()
        while len(fake_systemd.pings(start)) < 4 and time.monotonic() - start < 10:
            time.sleep(0.05)
        assert len(fake_systemd.pings(start)) >= 4
        assert {pid for _, pid, text in fake_systemd.messages if text == "WATCHDOG=1"} == {gateway.proc.pid}

        # The container's health check, against the same gateway.
        check = subprocess.run(
            [sys.executable, str(DEPLOY / "container/healthcheck.py")],
            env=health_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert check.returncode == 0, check.stderr

        assert gateway.stop() == 0
        stopping_at, _, _ = fake_systemd.wait_for("STOPPING=1", timeout=5)
        ready_at = next(at for at, _, text in fake_systemd.messages if text.startswith("READY=1"))
        assert ready_at < stopping_at
    finally:
        gateway.kill()
    check = subprocess.run(
        [sys.executable, str(DEPLOY / "container/healthcheck.py")],
        env=health_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 1 and "unhealthy" in check.stderr


def test_notify_socket_address_forms() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@hearth/notify") == "\0hearth/notify"
    for unusable in ("", "@", "relative/path", "vsock:2:1234"):
        assert socket_address(unusable) is None
    assert watchdog_timeout({"WATCHDOG_USEC": "30000000"}, 42) == 30.0
    assert watchdog_timeout({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 42) == 30.0
    # Meant for another process (the one systemd started, before a fork), or not a number: no watchdog.
    assert watchdog_timeout({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_timeout({"WATCHDOG_USEC": "soon"}, 42) is None
    assert watchdog_timeout({}, 42) is None


def test_notifier_speaks_to_an_abstract_socket_and_clears_the_environment() -> None:
    name = f"hearth-test-{os.getpid()}-{time.monotonic_ns()}"
    systemd = FakeSystemd("\0" + name)
    try:
        environ = {"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "2000000", "PATH": "/bin"}
        notifier = Notifier.from_environment(environ)
        # Children (a managed zwave-server) must not inherit systemd's socket.
        assert environ == {"PATH": "/bin"}
        assert notifier.enabled and notifier.watchdog_s == 2.0
        assert notifier.status("two\nlines")
        assert systemd.wait_for("STATUS=two lines")
        notifier.close()
    finally:
        systemd.close()
    silent = Notifier.from_environment({})
    assert not silent.enabled and not silent.ready() and silent.watchdog_s is None


def test_notifier_survives_a_socket_nobody_listens_on(tmp_path: Path) -> None:
    notifier = Notifier(str(tmp_path / "gone"), 1.0)
    assert notifier.ready() is False and notifier.stopping() is False
    notifier.close()


async def test_a_stuck_event_loop_stops_the_pings(fake_systemd: FakeSystemd) -> None:
    notifier = Notifier(fake_systemd.address, 0.2)  # a ping every 0.1 s
    task = notifier.start_watchdog()
    assert task is not None
    try:
        await asyncio.sleep(0.5)
        assert len(fake_systemd.pings()) >= 3
        stuck_from = time.monotonic()
        time.sleep(1.0)  # noqa: ASYNC251 - a blocking call on the loop, as a bug would make one
        stuck_until = time.monotonic()
        await asyncio.sleep(0.5)
        # Nothing was sent while the loop was stuck (a margin for the ping in flight), and pinging went on after.
        assert [at for at in fake_systemd.pings() if stuck_from + 0.05 < at < stuck_until - 0.05] == []
        assert len(fake_systemd.pings(stuck_until)) >= 3
    finally:
        task.cancel()
        notifier.close()


async def test_a_writer_that_stops_writing_stops_the_pings(fake_systemd: FakeSystemd, tmp_path: Path) -> None:
    db = Database(tmp_path / "hearth.db")
    await db.open()
    await db.execute("CREATE TABLE probe (n INTEGER)")
    writer = BatchWriter(db, window_ms=10)
    writer.start()
    notifier = Notifier(fake_systemd.address, 0.2)
    progress = WriterProgress(writer, 0.3)
    task = notifier.start_watchdog(progress)
    assert task is not None
    release = threading.Event()
    try:
        queued = 0

        def report() -> None:
            nonlocal queued
            writer.queue("INSERT INTO probe VALUES (?)", (queued,))
            queued += 1

        # Rows written as they come: healthy.
        for _ in range(5):
            report()
            await asyncio.sleep(0.05)
        assert len(fake_systemd.pings()) >= 2 and not progress.stalled
        # The database thread hangs (a stuck disk would look the same); state reports keep coming and wait.
        hang = asyncio.ensure_future(db.atomic(lambda conn: release.wait(10)))
        deadline = time.monotonic() + 5
        while not progress.stalled and time.monotonic() < deadline:
            report()
            await asyncio.sleep(0.02)
        assert progress.stalled
        starved_from = time.monotonic()
        while time.monotonic() < starved_from + 0.5:
            report()
            await asyncio.sleep(0.02)
        assert fake_systemd.pings(starved_from + 0.05) == []
        # The disk answers again: the writer catches up and the pings come back.
        release.set()
        await hang
        resumed_from = time.monotonic()
        deadline = resumed_from + 5
        while not fake_systemd.pings(resumed_from) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert fake_systemd.pings(resumed_from) and not progress.stalled
        await writer.flush()
        assert await db.fetchone("SELECT COUNT(*) FROM probe") == (queued,)  # nothing lost meanwhile
    finally:
        release.set()
        task.cancel()
        notifier.close()
        await writer.close()
        await db.close()


def test_hearth_exits_cleanly_on_sigterm_without_systemd(tmp_path: Path) -> None:
    """No $NOTIFY_SOCKET: nothing changes for a gateway started by hand."""
    gateway = HearthProcess(tmp_path / "data").start()
    try:
        assert gateway.proc is not None
        gateway.proc.send_signal(signal.SIGTERM)
        assert gateway.proc.wait(15) == 0
        assert not any("systemd" in line for line in gateway.output)
    finally:
        gateway.kill()


# ----------------------------------------------------------------------------- the container file


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Containerfile, continuation lines joined, comments left out."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        pending += " " + stripped.removesuffix("\\").strip()
        if not stripped.endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            out.append((word, rest.strip()))
            pending = ""
    assert not pending, "a continuation runs off the end"
    return out


def test_containerfile_is_well_formed_and_consistent_with_the_repository() -> None:
    known = {
        "FROM",
        "ARG",
        "RUN",
        "COPY",
        "ENV",
        "USER",
        "WORKDIR",
        "VOLUME",
        "EXPOSE",
        "HEALTHCHECK",
        "STOPSIGNAL",
        "CMD",
        "LABEL",
        "ENTRYPOINT",
    }
    steps = _instructions(CONTAINERFILE.read_text())
    assert {word for word, _ in steps} <= known
    bases = [rest for word, rest in steps if word == "FROM"]
    assert len(bases) == 2 and bases[0] == "${PYTHON_IMAGE} AS build" and bases[1] == "${PYTHON_IMAGE}"
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim-bookworm") in steps
    final = steps[[i for i, (word, _) in enumerate(steps) if word == "FROM"][1] :]
    # Not root at run time, data in a volume, the port, the extras chosen at build time.
    assert ("USER", "hearth") in final and ("VOLUME", "/var/lib/hearth") in final and ("EXPOSE", "8443") in final
    assert ("ARG", 'EXTRAS=""') in final and any("${EXTRAS:+[$EXTRAS]}" in rest for word, rest in final)
    assert [word for word, _ in final].index("USER") < [word for word, _ in final].index("CMD")
    cmd = json.loads(next(rest for word, rest in final if word == "CMD"))
    assert cmd == ["hearth", "run", "--config", "/etc/hearth/hearth.toml"]
    health = next(rest for word, rest in final if word == "HEALTHCHECK")
    health_cmd = json.loads(health.split(" CMD ", 1)[1])
    # Every file copied in exists, and the health check runs the one copied.
    ignore = (DEPLOY / "Containerfile.dockerignore").read_text().splitlines()
    copied = {}
    for word, rest in steps:
        if word == "COPY" and "--from" not in rest:
            *sources, dest = [part for part in rest.split() if not part.startswith("--")]
            for source in sources:
                assert (REPO / source).exists(), source
                assert any(line.startswith("!") and source.startswith(line[1:].rstrip("/")) for line in ignore), (
                    f"{source} is left out of the build context by the .dockerignore"
                )
                copied[dest] = source
    assert health_cmd[0] == "/opt/hearth/venv/bin/python" and copied[health_cmd[1]] == "deploy/container/healthcheck.py"
