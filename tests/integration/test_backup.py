"""Backup and restore of a real gateway process: archives made while it runs executions, restored with the CLI
into an empty data folder and compared; altered archives refused with nothing written; a restore uploaded
through the API applied at the next start; scheduled backups with their retention.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from hearth.backup.sealed import MAGIC
from tests.support.process import REPO, HearthProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

LIGHTS, SHUTTER = ("10", "3"), "2"
RTS_REMOTE = ("rts", "remote.0a1001")


def client(proc: HearthProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=proc.base_url, verify=False, timeout=30, headers={"Authorization": f"Bearer {token}"})


def hearth(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``hearth <args>`` on ``data_dir`` with the demo configuration, as a user would type it."""
    proc = HearthProcess(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args, "--config", str(proc.config)],
        cwd=REPO,
        env=proc.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json() if response.content else None


def picture(api: httpx.Client) -> dict[str, Any]:
    """What a restore must bring back, as the API shows it (states left out: they move under load)."""
    devices = {
        d["deviceURL"]: {k: v for k, v in d.items() if k not in ("states", "available")}
        for d in ok(api.get("/setup/devices"))
    }
    return {
        "gateways": [g["gatewayId"] for g in ok(api.get("/setup/gateways"))],
        "devices": devices,
        "places": ok(api.get("/setup/places")),
        "actionGroups": sorted(ok(api.get("/actionGroups")), key=lambda g: g["oid"]),
        "triggers": ok(api.get("/triggers")),
    }


def rts_code(database: Path) -> int:
    conn = sqlite3.connect(database)
    try:
        row = conn.execute("SELECT value FROM driver_data WHERE driver = ? AND key = ?", RTS_REMOTE).fetchone()
        return int(json.loads(row[0])["code"])
    finally:
        conn.close()


class Load:
    """Executions sent without pause from a thread, while the backups are taken."""

    def __init__(self, proc: HearthProcess, token: str) -> None:
        self.api = client(proc, token)
        self.proc = proc
        self.sent = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            actions = [
                {"deviceURL": self.proc.device_url(a), "commands": [{"name": "on" if i % 2 else "off"}]} for a in LIGHTS
            ]
            actions.append(
                {
                    "deviceURL": self.proc.device_url(SHUTTER),
                    "commands": [{"name": "setClosure", "parameters": [i * 7 % 100]}],
                }
            )
            response = self.api.post("/exec/apply", json={"label": f"load {i}", "actions": actions})
            if response.status_code == 200:
                self.sent += 1
            else:
                self.failures.append(response.text)
            time.sleep(0.04)  # under the token's rate limit (50 executions/s)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.api.close()


@dataclass
class Source:
    data_dir: Path
    passphrase_file: Path
    api_archive: Path
    cli_archive: Path
    picture: dict[str, Any]
    admin_token: str
    extra_token: str
    rts_code: int
    sent_during_backup: int


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """A gateway with places, an action group, a trigger, a relabelled device, an extra token and an RTS remote,
    backed up through the API and the CLI while executions run."""
    folder = tmp_path_factory.mktemp("backup-source")
    proc = HearthProcess(folder / "data").start()
    try:
        admin = proc.first_token
        assert admin
        extra = proc.token("control", "extra")
        with client(proc, admin) as api:
            root = ok(api.get("/setup/places"))
            ok(api.post(f"/setup/places/{root['oid']}/subPlaces", json={"label": "Attic", "type": 3}), 201)
            light = proc.device_url(LIGHTS[0])
            ok(api.put(f"/setup/devices/{quote(light, safe='')}/{quote('Reading lamp', safe='')}"))
            ok(
                api.post(
                    "/actionGroups",
                    json={"label": "evening", "actions": [{"deviceURL": light, "commands": [{"name": "on"}]}]},
                ),
                201,
            )
            ok(
                api.post(
                    "/triggers",
                    json={
                        "sensorThreshold": {
                            "label": "too hot",
                            "deviceURL": proc.device_url("5"),
                            "stateName": "core:TemperatureState",
                            "upperBound": 26,
                            "lowerBound": 18,
                            "upperActivationDelay": 2,
                            "upperEffects": [
                                {
                                    "actionGroupEffect": {
                                        "localActionGroup": {
                                            "label": "close",
                                            "actions": [
                                                {"deviceURL": proc.device_url(SHUTTER), "commands": [{"name": "close"}]}
                                            ],
                                        }
                                    }
                                }
                            ],
                        }
                    },
                ),
                201,
            )
            # An RTS remote's rolling code, as the RTS driver keeps it (the driver itself is not needed here).
            conn = sqlite3.connect(proc.data_dir / "hearth.db", timeout=10)
            with conn:
                conn.execute(
                    "INSERT INTO driver_data (driver, key, value) VALUES (?, ?, ?)",
                    (*RTS_REMOTE, json.dumps({"key": 0xA3, "code": 42})),
                )
            conn.close()

            with Load(proc, extra) as load:
                while load.sent < 20:
                    time.sleep(0.05)
                before = load.sent
                api_archive = folder / "api.hbk"
                with api.stream("GET", "/ext/backup") as response:
                    assert response.status_code == 200, response.read()
                    assert response.headers["cache-control"] == "no-store"
                    disposition = response.headers["content-disposition"]
                    assert f'filename="hearth-backup-{proc.gateway_id}-' in disposition
                    assert disposition.endswith('.hbk"')
                    with api_archive.open("wb") as f:
                        for block in response.iter_bytes():
                            f.write(block)
                cli_archive = folder / "cli.hbk"
                made = hearth(proc.data_dir, "backup", "--output", str(cli_archive))
                assert made.returncode == 0, made.stderr
                assert made.stdout.strip() == str(cli_archive)
                # The passphrase was made by the API's backup: the CLI does not show it again.
                assert "Backup passphrase" not in made.stderr
                sent_during = load.sent - before
            assert not load.failures, load.failures[:3]

            # The backups left the gateway's database as they found it: what another process writes (here a
            # token revoked by the CLI) is still seen at once.
            short = proc.token("view", "short-lived")
            with client(proc, short) as viewer:
                ok(viewer.get("/setup/gateways"))
            tokens_path = f"/config/{proc.gateway_id}/local/tokens/devmode"
            [short_id] = [t["uuid"] for t in ok(api.get(tokens_path)) if t["label"] == "short-lived"]
            proc.cli("token", "revoke", short_id)
            assert short_id not in {t["uuid"] for t in ok(api.get(tokens_path))}

            # While it runs, a second gateway on its data folder, or a restore into it, is refused.
            with pytest.raises(RuntimeError, match="in use by hearth run"):
                HearthProcess(proc.data_dir).start()
            busy = hearth(proc.data_dir, "restore", str(cli_archive), "--force")
            assert busy.returncode != 0 and "in use by hearth run" in busy.stderr, busy.stderr
            listing = ok(api.get("/ext/backups"))
            assert listing["archives"] == [] and listing["stagedRestore"] is None
            shown = picture(api)
        yield Source(
            proc.data_dir,
            proc.data_dir / "backup-passphrase",
            api_archive,
            cli_archive,
            shown,
            admin,
            extra,
            42,
            sent_during,
        )
    finally:
        proc.stop()


def test_backup_under_load_restores_into_an_empty_folder(source: Source, tmp_path: Path) -> None:
    assert source.sent_during_backup > 0, "no execution ran while the backups were taken"
    for archive in (source.api_archive, source.cli_archive):
        assert archive.read_bytes().startswith(MAGIC)
        assert b"Reading lamp" not in archive.read_bytes()  # encrypted
    assert source.passphrase_file.stat().st_mode & 0o077 == 0

    fresh = tmp_path / "fresh"
    restored = hearth(fresh, "restore", str(source.cli_archive), "--passphrase-file", str(source.passphrase_file))
    assert restored.returncode == 0, restored.stderr
    assert f"restored gateway {source.picture['gateways'][0]}" in restored.stdout
    assert (fresh / "backup-config.toml").read_text() == (REPO / "config" / "demo.toml").read_text()
    # The passphrase given is kept, so that later backups use it; no restore leftovers.
    assert (fresh / "backup-passphrase").read_bytes() == source.passphrase_file.read_bytes()
    assert not [p.name for p in fresh.iterdir() if p.name.startswith((".restore", ".pre-restore", "restore-"))]
    # RTS rolling codes move ahead: a motor ignores codes it has already heard.
    assert rts_code(fresh / "hearth.db") == source.rts_code + 100

    proc = HearthProcess(fresh).start()
    try:
        assert proc.gateway_id == source.picture["gateways"][0]
        assert proc.first_token is None  # its tokens came back: no new admin token was made
        with client(proc, source.admin_token) as api:
            assert picture(api) == source.picture
        with client(proc, source.extra_token) as api:
            ok(api.get("/setup/devices"))
            assert api.get("/ext/backups").status_code == 403  # a control token stays a control token
    finally:
        proc.stop()

    # The API's archive is just as good.
    checked = hearth(
        tmp_path / "other",
        "restore",
        str(source.api_archive),
        "--check",
        "--passphrase-file",
        str(source.passphrase_file),
    )
    assert checked.returncode == 0 and "a whole, authentic backup" in checked.stdout, checked.stderr
    assert not (tmp_path / "other").exists()


def test_restore_refuses_a_folder_in_use_or_not_empty(source: Source, tmp_path: Path) -> None:
    target = tmp_path / "used"
    shutil.copytree(source.data_dir, target)
    refused = hearth(target, "restore", str(source.cli_archive))
    assert refused.returncode != 0 and "is not empty" in refused.stderr and "--force" in refused.stderr
    forced = hearth(target, "restore", str(source.cli_archive), "--force")
    assert forced.returncode == 0, forced.stderr
    assert rts_code(target / "hearth.db") == source.rts_code + 100
    assert not (target / "hearth.db-wal").exists() and not (target / ".pre-restore").exists()


def _chunks(blob: bytes) -> list[tuple[int, int]]:
    (header_len,) = struct.unpack(">I", blob[len(MAGIC) : len(MAGIC) + 4])
    offset, found = len(MAGIC) + 4 + header_len, []
    while offset < len(blob):
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        found.append((offset, 4 + length))
        offset += 4 + length
    return found


def test_altered_archives_are_refused_and_nothing_is_written(source: Source, tmp_path: Path) -> None:
    good = source.cli_archive.read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x01
    other = source.api_archive.read_bytes()
    (start, length), *_ = _chunks(good)
    (o_start, o_length), *_ = _chunks(other)
    # A part of the other archive (same gateway, same passphrase) in place of this one's.
    swapped = good[:start] + other[o_start : o_start + o_length] + good[start + length :]
    cases = {
        "flipped.hbk": (bytes(flipped), "altered or damaged"),
        "swapped.hbk": (swapped, "altered or damaged"),
        "truncated.hbk": (good[: len(good) - 100], "truncated"),
        "not-an-archive.hbk": ((REPO / "config" / "demo.toml").read_bytes(), "not a Hearth backup archive"),
    }
    for name, (content, reason) in cases.items():
        archive = tmp_path / name
        archive.write_bytes(content)
        target = tmp_path / f"target-{name}"
        result = hearth(target, "restore", str(archive), "--passphrase-file", str(source.passphrase_file))
        assert result.returncode != 0, name
        assert reason in result.stderr and "Traceback" not in result.stderr, (name, result.stderr)
        assert not target.exists(), f"{name}: the restore wrote {list(target.iterdir())}"
    wrong = tmp_path / "wrong-passphrase"
    wrong.write_text("not the right one\n")
    wrong.chmod(0o600)
    result = hearth(tmp_path / "target-wrong", "restore", str(source.cli_archive), "--passphrase-file", str(wrong))
    assert result.returncode != 0 and "wrong passphrase" in result.stderr
    assert not (tmp_path / "target-wrong").exists()


def test_scheduled_backups_and_a_restore_through_the_api(tmp_path: Path) -> None:
    proc = HearthProcess(
        tmp_path / "data",
        env={
            "HEARTH_BACKUP__ENABLED": "true",
            "HEARTH_BACKUP__INTERVAL_H": "0.0003",
            "HEARTH_BACKUP__KEEP": "2",
            "HEARTH_BACKUP__RESTORE_MAX_MB": "1",
        },
    ).start()
    try:
        token = proc.first_token
        assert token
        with client(proc, token) as api:
            deadline = time.monotonic() + 30
            while "".join(proc.output).count("backup: wrote") < 3:
                assert time.monotonic() < deadline, "".join(proc.output)
                time.sleep(0.2)
            listing = ok(api.get("/ext/backups"))
            assert listing["enabled"] is True and listing["keep"] == 2
            archives = listing["archives"]
            assert len(archives) == 2, archives
            assert archives[0]["creationTime"] >= archives[1]["creationTime"]
            assert {a["gatewayId"] for a in archives} == {proc.gateway_id}
            folder = Path(listing["directory"])
            names = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
            # Only archives; at most one more than kept (one just renamed in, the oldest about to go).
            assert all(n.startswith(f"hearth-backup-{proc.gateway_id}-") and n.endswith(".hbk") for n in names)
            assert len(names) <= 3, names
            newest = (folder / archives[0]["name"]).read_bytes()
            passphrase = (proc.data_dir / "backup-passphrase").read_text().strip()
            assert passphrase not in "".join(proc.output)

            # A change after that backup, which the restore must undo.
            root = ok(api.get("/setup/places"))
            ok(api.post(f"/setup/places/{root['oid']}/subPlaces", json={"label": "Made after", "type": 3}), 201)

            def post(body: bytes, **headers: str) -> httpx.Response:
                return api.post(
                    "/ext/backup/restore", content=body, headers={"Content-Type": "application/octet-stream", **headers}
                )

            flipped = bytearray(newest)
            flipped[-20] ^= 0x10
            for body, reason in (
                (bytes(flipped), "altered or damaged"),
                (newest[:-50], "truncated"),
                (b"hello", "not a Hearth backup archive"),
                (b"", "Empty body"),
            ):
                refused = post(body)
                assert refused.status_code == 400, refused.text
                assert refused.json()["errorCode"] == "INVALID_FIELD_VALUE" and reason in refused.json()["error"]
            refused = post(newest, **{"X-Hearth-Backup-Passphrase": "not the passphrase"})
            assert refused.status_code == 400 and "wrong passphrase" in refused.json()["error"]
            too_big = post(newest + b"\x00" * (1 << 20))
            assert too_big.status_code == 413 and too_big.json()["errorCode"] == "INVALID_FIELD_VALUE"
            assert not [p.name for p in proc.data_dir.iterdir() if "restore" in p.name]

            staged = ok(post(newest), 202)
            assert staged["restartRequired"] is True and staged["gatewayId"] == proc.gateway_id
            assert ok(api.get("/ext/backups"))["stagedRestore"]["gatewayId"] == proc.gateway_id
            # Still running on its own data until the restart.
            assert "Made after" in json.dumps(ok(api.get("/setup/places")))
        gateway_id = proc.gateway_id
        assert proc.stop() == 0
        proc.start()
        assert proc.gateway_id == gateway_id
        assert any("restored the backup of gateway" in line for line in proc.output), "".join(proc.output)
        with client(proc, token) as api:
            assert "Made after" not in json.dumps(ok(api.get("/setup/places")))
            assert ok(api.get("/ext/backups"))["stagedRestore"] is None
        assert not (proc.data_dir / "restore-staged").exists()
    finally:
        proc.stop()
