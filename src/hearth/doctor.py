"""``hearth doctor``: what would stop the gateway from running well here, checked one by one.

Each check is ok, warn (works, but look at it) or fail (the gateway will not work as configured), with a line
of advice when it is not ok. The radios, the API port, the clock, the disk, the cloud and the store are
checked; network probes use short timeouts so that the whole run stays within seconds.
"""

from __future__ import annotations

import errno
import fcntl
import importlib
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hearth.api.docs import MISSING as NO_DOCS_ASSETS
from hearth.api.docs import docs_assets
from hearth.api.live import MISSING as NO_WEBSOCKETS
from hearth.api.live import websocket_library
from hearth.config import Settings

OK, WARN, FAIL = "ok", "warn", "fail"
MARKS = {OK: "ok  ", WARN: "warn", FAIL: "FAIL"}
PROBE_TIMEOUT_S = 3.0
# Free space of the data folder: under the first the store cannot grow; under the second, soon.
DISK_FAIL_BYTES = 100 * 2**20
DISK_WARN_BYTES = 1024 * 2**20
# A clock before this year is a board without a battery that has not synced yet.
SANE_YEARS = range(2024, 2100)


@dataclass(slots=True)
class Check:
    name: str
    status: str
    detail: str
    advice: str = ""

    def __post_init__(self) -> None:
        if self.status == OK:
            self.advice = ""  # advice is for what is not ok

    @property
    def ok(self) -> bool:
        return self.status != FAIL


def run_doctor(settings: Settings) -> list[Check]:
    checks = [
        Check(
            "python",
            OK if sys.version_info >= (3, 11) else FAIL,
            sys.version.split()[0],
            "" if sys.version_info >= (3, 11) else "Hearth needs Python 3.11 or later",
        )
    ]
    checks += _catalogue_and_drivers(settings)
    checks += _radios(settings)
    checks.append(_api_port(settings))
    checks.append(_live_events())
    checks.append(_api_docs())
    checks += _clock()
    checks += _data_folder(settings)
    checks += _cloud(settings)
    checks += _store(settings)
    return checks


def report(checks: list[Check], as_json: bool) -> int:
    """Print the checks (one line each, or one JSON array); the exit status: 1 if any failed."""
    if as_json:
        print(json.dumps([asdict(c) for c in checks]))
    else:
        for check in checks:
            print(f"[{MARKS[check.status]}] {check.name}: {check.detail}")
            if check.advice and check.status != OK:
                print(f"       {check.advice}")
    return 0 if all(c.ok for c in checks) else 1


# ----------------------------------------------------------------------------- configuration


def _catalogue_and_drivers(settings: Settings) -> list[Check]:
    from hearth.core.catalogue import Catalogue, CatalogueError
    from hearth.core.drivers import DriverLoadError, DriverManager

    checks = []
    try:
        catalogue = Catalogue.load(settings.catalogue_dir())
        checks.append(Check("catalogue", OK, f"{len(catalogue)} controllables in {settings.catalogue_dir()}"))
    except CatalogueError as exc:
        checks.append(Check("catalogue", FAIL, str(exc), "fix the file named, or set gateway.catalogue_dir"))
    manager = DriverManager()
    for name, config in settings.enabled_drivers().items():
        try:
            manager.check_config(name, manager.load(name), config)
            checks.append(Check(f"driver {name}", OK, "importable, settings valid"))
        except DriverLoadError as exc:
            checks.append(Check(f"driver {name}", FAIL, str(exc), f"fix [drivers.{name}] or disable it"))
    return checks


# ----------------------------------------------------------------------------- radios


def _driver_settings(name: str, config: Mapping[str, Any]) -> Any:
    """The driver's parsed settings (its defaults filled in), by the drivers' convention of a ``settings``
    module with ``parse_settings`` next to the driver; else the raw table."""
    from hearth.core.drivers import DriverManager

    try:
        package = DriverManager().load(name).__module__.split(".")[0]
        return importlib.import_module(f"{package}.settings").parse_settings(config)
    except Exception:  # a driver of another shape, or settings already reported as invalid
        return None


def _radios(settings: Settings) -> list[Check]:
    checks = []
    for name, config in settings.enabled_drivers().items():
        parsed = _driver_settings(name, config)
        port = getattr(parsed, "port", None) if parsed is not None else config.get("port")
        url = getattr(parsed, "url", None) if parsed is not None else config.get("url")
        if isinstance(port, str) and port:
            checks.append(_serial_port(f"radio {name}", port, name))
        if isinstance(url, str) and url.startswith(("ws://", "wss://")):
            check = _reachable(f"radio {name} server", url, FAIL)
            if check.status != OK and port:
                # With a stick configured, Hearth runs the server itself: it is down while Hearth is.
                check = Check(check.name, OK, f"{url}: not running now; Hearth starts it on {port}")
            elif check.status != OK:
                check.advice = f"start the zwave-js server, or set drivers.{name}.url"
            checks.append(check)
    return checks


def _serial_port(name: str, port: str, driver: str) -> Check:
    if "://" in port:  # pyserial URLs: socket://host:port, rfc2217://host:port
        if port.startswith(("socket://", "rfc2217://")):
            return _reachable(name, port, FAIL)
        return Check(name, OK, f"{port}: not checked (a pyserial URL)")
    path = Path(port)
    if not path.exists():
        return Check(
            name,
            FAIL,
            f"{port}: no such device",
            f"plug the radio in (see ls -l /dev/serial/by-id/), or set drivers.{driver}.port",
        )
    try:
        # O_NONBLOCK: a port without carrier must not block the open; O_NOCTTY: never our terminal.
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except PermissionError:
        return Check(
            name,
            FAIL,
            f"{port}: permission denied",
            "add the user running Hearth to the port's group: sudo usermod -aG dialout $USER, then log in "
            "again (deploy/ has a udev rule)",
        )
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return Check(
                name,
                WARN,
                f"{port}: busy (opened exclusively by another program)",
                "fine if it is the running Hearth; else stop the other program (ModemManager?)",
            )
        return Check(name, FAIL, f"{port}: {exc.strerror}", "check the cable and the device")
    try:
        if not os.isatty(fd):
            return Check(name, WARN, f"{port}: not a serial port", f"check drivers.{driver}.port")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return Check(
                name,
                WARN,
                f"{port}: locked by another program",
                "fine if it is the running Hearth; else stop the other program",
            )
        return Check(name, OK, f"{port}: present, opens")
    finally:
        os.close(fd)


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    default = {"https": 443, "wss": 443, "http": 80, "ws": 80, "mqtts": 8883, "mqtt": 1883}.get(parts.scheme, 0)
    return parts.hostname or "", parts.port or default


def _reachable(name: str, url: str, status_if_not: str, host_port: tuple[str, int] | None = None) -> Check:
    """Whether a TCP connection to the URL's host and port opens within PROBE_TIMEOUT_S."""
    host, port = host_port or _endpoint(url)
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return Check(name, OK, f"{url}: reachable")
    except socket.gaierror:
        return Check(name, status_if_not, f"{url}: cannot resolve {host}", "check the host name and DNS")
    except OSError as exc:
        return Check(name, status_if_not, f"{url}: {exc.strerror or exc}", "check the address and the network")


# ----------------------------------------------------------------------------- API port


def _api_port(settings: Settings) -> Check:
    api = settings.api
    if not api.enabled:
        return Check("api port", OK, "the API is disabled")
    if api.port == 0:
        return Check("api port", OK, "a free port is chosen at start")
    family = socket.AF_INET6 if ":" in api.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            sock.bind((api.host, api.port))
            return Check("api port", OK, f"{api.host}:{api.port} is free")
        except OSError as exc:
            if exc.errno == errno.EACCES:
                return Check(
                    "api port",
                    FAIL,
                    f"{api.host}:{api.port}: permission denied",
                    "ports under 1024 need privileges: use 8443, or see deploy/README.md",
                )
            if exc.errno != errno.EADDRINUSE:
                return Check("api port", FAIL, f"{api.host}:{api.port}: {exc.strerror}", "check api.host")
    gateway_id = _running_hearth(settings)
    if gateway_id:
        return Check("api port", OK, f"{api.port} is served by a running Hearth (gateway {gateway_id})")
    return Check(
        "api port",
        FAIL,
        f"{api.port} is taken by another program",
        "stop that program or set api.port (ss -ltnp shows who listens)",
    )


def _running_hearth(settings: Settings) -> str | None:
    """The gateway id a Hearth serving the API port answers with on /health, if one does.

    The standard library's client: a plain install has no HTTP client package (httpx comes with [cloud]).
    """
    api = settings.api
    host = "127.0.0.1" if api.host in ("0.0.0.0", "::", "") else api.host
    host = f"[{host}]" if ":" in host else host
    url = f"{'https' if api.tls else 'http'}://{host}:{api.port}/health"
    # Our own gateway's certificate is self-signed by default: this probe only asks who answers.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S, context=context) as response:
            answer = json.loads(response.read())
    except Exception:
        return None
    return str(answer["gatewayId"]) if isinstance(answer, dict) and answer.get("gatewayId") else None


# ----------------------------------------------------------------------------- clock


def _live_events() -> Check:
    library = websocket_library()
    if library is None:
        return Check("live events", FAIL, NO_WEBSOCKETS, "reinstall Hearth with its dependencies (pip install hearth)")
    return Check("live events", OK, f"WebSocket served by uvicorn with {library}")


def _api_docs() -> Check:
    if docs_assets() is None:
        return Check("API docs", FAIL, NO_DOCS_ASSETS, "reinstall Hearth with its dependencies (pip install hearth)")
    return Check("API docs", OK, "/docs served with Swagger UI's files from this box (no internet needed)")


def _clock() -> list[Check]:
    year = time.gmtime().tm_year
    now = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    checks = [
        Check("clock", OK, now)
        if year in SANE_YEARS
        else Check(
            "clock",
            FAIL,
            f"{now} is not a plausible date",
            "set the time (sudo timedatectl set-time ...) and enable NTP: certificates and schedules depend on it",
        )
    ]
    timedatectl = shutil.which("timedatectl")
    if timedatectl is None:
        checks.append(Check("clock sync", OK, "not checked: timedatectl is not available here"))
        return checks
    try:
        answer = subprocess.run(
            [timedatectl, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        checks.append(Check("clock sync", OK, f"not checked: timedatectl did not answer ({exc})"))
        return checks
    value = answer.stdout.strip()
    if answer.returncode != 0 or value not in ("yes", "no"):
        checks.append(Check("clock sync", OK, "not checked: no systemd time service here"))
    elif value == "yes":
        checks.append(Check("clock sync", OK, "synchronized (NTP)"))
    else:
        checks.append(
            Check(
                "clock sync",
                WARN,
                "not synchronized",
                "enable NTP: sudo timedatectl set-ntp true; schedules and dawn/dusk need the time",
            )
        )
    return checks


# ----------------------------------------------------------------------------- data folder and disk


def _data_folder(settings: Settings) -> list[Check]:
    data_dir = settings.data_dir()
    checks = []
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".doctor-probe"
        probe.write_text("ok")
        probe.unlink()
        checks.append(Check("data folder", OK, f"{data_dir} is writable"))
    except OSError as exc:
        checks.append(
            Check(
                "data folder",
                FAIL,
                f"{data_dir}: {exc}",
                "make it writable by the user running Hearth, or set store.data_dir",
            )
        )
    free = shutil.disk_usage(data_dir).free if data_dir.exists() else 0
    detail = f"{free / 2**20:.0f} MiB free in {data_dir}"
    if free < DISK_FAIL_BYTES:
        checks.append(Check("disk space", FAIL, detail, "free some space: the store cannot grow"))
    elif free < DISK_WARN_BYTES:
        checks.append(Check("disk space", WARN, detail, "free some space, or lower history.retention_days"))
    else:
        checks.append(Check("disk space", OK, detail))
    return checks


# ----------------------------------------------------------------------------- cloud


def _cloud(settings: Settings) -> list[Check]:
    """Endpoints of what is enabled. Unreachable is a warning: Hearth works offline and its outbox waits."""
    cloud = settings.cloud
    checks = []
    if cloud.enabled:
        mqtt = cloud.mqtt
        url = f"{'mqtts' if mqtt.tls else 'mqtt'}://{mqtt.host}:{mqtt.port}"
        checks.append(_reachable("cloud broker", url, WARN, (mqtt.host, mqtt.port)))
    for name, section in (
        ("bagtower", cloud.bagtower),
        ("smartsolar", cloud.smartsolar),
        ("airvantage", cloud.airvantage),
    ):
        if section.enabled:
            checks.append(_reachable(f"cloud {name}", section.base_url, WARN))
    if settings.bridge.enabled:
        bridge = settings.bridge
        url = f"{'mqtts' if bridge.tls else 'mqtt'}://{bridge.host}:{bridge.port}"
        checks.append(_reachable("bridge broker", url, WARN, (bridge.host, bridge.port)))
    if not checks:
        checks.append(Check("cloud", OK, "no cloud connector enabled"))
    return checks


# ----------------------------------------------------------------------------- store


def _store(settings: Settings) -> list[Check]:
    from hearth.store.database import migrations

    db_path = settings.data_dir() / "hearth.db"
    if not db_path.exists():
        return [Check("database", OK, f"{db_path} will be made at first start")]
    advice = "restore a backup, or move the file away to start afresh (sqlite3 .recover may save its data)"
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=PROBE_TIMEOUT_S)
        try:
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return [Check("database integrity", FAIL, f"{db_path}: {exc}", advice)]
    known = len(migrations())
    checks = [Check("database integrity", OK if integrity == "ok" else FAIL, f"{db_path}: {integrity}", advice)]
    checks.append(
        Check(
            "database schema",
            OK if version <= known else FAIL,
            f"version {version} (this Hearth knows {known})",
            "the data is from a newer Hearth: upgrade",
        )
    )
    checks.append(
        Check(
            "database journal",
            OK if mode == "wal" else WARN,
            f"journal_mode={mode}",
            "Hearth sets WAL at its next start",
        )
    )
    return checks
