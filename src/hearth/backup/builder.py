"""Making an archive of a gateway, running or not: its databases through SQLite's online backup, its other files
as they are, and its configuration file.

What goes in is what the data folder holds: the database (devices, places, action groups, triggers, tokens'
hashes, the drivers' storage with the RTS rolling codes and the Zigbee network backup), zigpy's own database
and any other file under ``drivers/`` (the Z-Wave server's keys and cache when Hearth runs the server), the
API's TLS certificate and key, the cloud credentials. Left out: SQLite's side files (the snapshot already holds
what they hold), the backups themselves, the passphrase, and the restore's own folders (layout.py).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from hearth import __version__
from hearth.backup.archive import Manifest, Member, bytes_member, file_member, write_archive
from hearth.backup.layout import SQLITE_SIDE_SUFFIXES, DataLayout
from hearth.backup.sealed import BackupError
from hearth.backup.snapshot import is_sqlite, snapshot_database
from hearth.config import Settings

DATABASE = "hearth.db"
CONFIG_MEMBER = "config/hearth.toml"
# Our own work in progress, should it be made inside the data folder (``hearth backup --output var/x``).
SNAPSHOTS_PREFIX = ".snapshots-"
PARTIAL_SUFFIX = ".partial"


def _data_files(layout: DataLayout) -> list[Path]:
    """Every plain file of the data folder that a backup holds, links and special files left out."""
    found: list[Path] = []
    for entry in sorted(layout.data_dir.iterdir()):
        if not layout.backed_up(entry) or entry.is_symlink() or entry.name.startswith(SNAPSHOTS_PREFIX):
            continue
        if entry.is_file():
            found.append(entry)
        elif entry.is_dir():
            for folder, dirs, files in os.walk(entry, followlinks=False):
                dirs.sort()
                found.extend(Path(folder) / name for name in sorted(files))
    return [
        p
        for p in found
        if p.is_file() and not p.is_symlink() and not p.name.endswith((*SQLITE_SIDE_SUFFIXES, ".tmp", PARTIAL_SUFFIX))
    ]


def database_identity(database: Path) -> tuple[str, int]:
    """(gatewayId, schema version) of a Hearth database; BackupError if it has none or cannot be read.

    A read-write open, even to read: see snapshot.snapshot_database."""
    conn = sqlite3.connect(database, timeout=10.0)
    try:
        row = conn.execute("SELECT value FROM gateway_settings WHERE key = 'gateway_id'").fetchone()
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise BackupError(f"the database cannot be read: {exc}") from None
    finally:
        conn.close()
    if row is None:
        raise BackupError("the database has no gateway id yet: start the gateway once before backing it up")
    return str(row[0]), version


def build_archive(settings: Settings, out: BinaryIO, passphrase: bytes, workdir: Path) -> Manifest:
    """Write an archive of the gateway configured by ``settings`` into ``out``.

    Database snapshots are made in a temporary folder inside ``workdir`` (on the box's own disk: a tmpfs /tmp
    would hold them in memory) and removed after.
    """
    layout = DataLayout.of(settings)
    database = layout.data_dir / DATABASE
    if not database.is_file():
        raise BackupError(f"there is no gateway to back up in {layout.data_dir} (no {DATABASE})")
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=SNAPSHOTS_PREFIX, dir=workdir) as tmp:
        members: list[Member] = []
        manifest: Manifest | None = None
        for number, path in enumerate(_data_files(layout)):
            name = "data/" + path.relative_to(layout.data_dir).as_posix()
            try:
                if is_sqlite(path):
                    copy = Path(tmp) / f"{number}.db"
                    snapshot_database(path, copy)
                    members.append(file_member(name, copy))
                    if path == database:
                        gateway_id, schema = database_identity(copy)
                        manifest = Manifest(gateway_id, int(time.time() * 1000), __version__, schema)
                else:
                    members.append(bytes_member(name, path.read_bytes()))
            except FileNotFoundError:
                continue  # gone since the listing (a driver's temporary file): not part of the gateway's state
            except sqlite3.Error as exc:
                raise BackupError(f"{name} cannot be read: {exc}") from None
        if manifest is None:
            raise BackupError(f"{database} is not an SQLite database")
        if settings.source is not None and settings.source.is_file():
            members.append(bytes_member(CONFIG_MEMBER, settings.source.read_bytes()))
        write_archive(out, passphrase, manifest, members)
        return manifest


def save_archive(settings: Settings, target: Path, passphrase: bytes) -> Manifest:
    """Write an archive to ``target`` so that a power cut never leaves a partial file under that name.

    It is written under a hidden temporary name beside it, synced, then renamed, and the folder synced.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}{PARTIAL_SUFFIX}")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            manifest = build_archive(settings, out, passphrase, target.parent)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    sync_folder(target.parent)
    return manifest


def sync_folder(folder: Path) -> None:
    """fsync a folder, so that the names just made or renamed in it survive a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
