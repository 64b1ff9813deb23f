"""Restoring an archive: verified in full, unpacked beside the data folder, then swapped in before the gateway
opens its database.

Staging and applying are two steps so that the API can stage a restore while the gateway runs, and the next
start applies it. Both are crash-safe:

- staging unpacks into a hidden ``.restore-incoming-*`` folder, syncs every file, writes ``state.json`` last
  and only then renames the folder to ``restore-staged``: a staged restore is whole or absent;
- applying moves the current files aside (``.pre-restore``), records that in ``state.json``, moves the
  restored ones in, and only then drops what was set aside. Each phase can run again after a crash and end the
  same way, so a power cut in the middle is finished at the next start.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from hearth.backup.archive import Manifest, extract, verify
from hearth.backup.builder import CONFIG_MEMBER, DATABASE, sync_folder
from hearth.backup.layout import CONFIG_COPY_NAME, INCOMING_PREFIX, DataLayout
from hearth.backup.lock import DataFolderLock
from hearth.backup.passphrase import write_passphrase
from hearth.backup.sealed import BackupError
from hearth.backup.snapshot import check_database
from hearth.store.database import migrations

STATE = "state.json"
# A motor takes an RTS frame only if its rolling code is above the last one it heard from that remote (within
# a window ahead of it). An archive is older than the motors' memory: its codes were sent already, some
# maybe many times since. Restored as they are, the next commands would be ignored until the codes caught up.
# So every code moves ahead by this margin, well inside the window a motor accepts (its manufacturer documents
# about a hundred missed presses), so that commands sent since the backup are very likely behind us.
RTS_CODE_MARGIN = 100
RTS_DRIVER = "rts"
_RTS_REMOTE_KEY = re.compile(r"^remote\.[0-9a-f]{6}$")


@dataclass(frozen=True, slots=True)
class RestoreInfo:
    """What a staged or applied restore brings back, for the user's message."""

    gateway_id: str
    created_ms: int
    files: int
    config_copy: bool


def advance_rolling_codes(database: Path, margin: int = RTS_CODE_MARGIN) -> int:
    """Move every RTS remote's rolling code ``margin`` ahead in a restored database; returns how many."""
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        changed = 0
        for key, value in conn.execute("SELECT key, value FROM driver_data WHERE driver = ?", (RTS_DRIVER,)).fetchall():
            if not _RTS_REMOTE_KEY.match(str(key)):
                continue
            remote = json.loads(value)
            if not isinstance(remote, dict) or not isinstance(remote.get("code"), int):
                continue
            # 16-bit codes wrap, as RollingCodeStore.next wraps them.
            remote["code"] = (remote["code"] + margin) & 0xFFFF
            conn.execute(
                "UPDATE driver_data SET value = ? WHERE driver = ? AND key = ?", (json.dumps(remote), RTS_DRIVER, key)
            )
            changed += 1
        conn.execute("COMMIT")
        return changed
    except (sqlite3.Error, ValueError) as exc:
        raise BackupError(f"the archive's database cannot be prepared ({exc}): nothing was restored") from None
    finally:
        conn.close()


def _check_database(database: Path) -> None:
    if not database.is_file():
        raise BackupError("the archive holds no gateway database: nothing was restored")
    try:
        integrity, version = check_database(database)
    except sqlite3.Error as exc:
        raise BackupError(f"the archive's database cannot be read ({exc}): nothing was restored") from None
    if integrity != "ok":
        raise BackupError(f"the archive's database is damaged ({integrity}): nothing was restored")
    known = len(migrations())
    if version > known:
        raise BackupError(
            f"the archive was made by a newer Hearth (schema {version}, this one knows {known}): "
            "upgrade Hearth first; nothing was restored"
        )


def _write_state(folder: Path, state: dict[str, object]) -> None:
    tmp = folder / (STATE + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / STATE)
    sync_folder(folder)


def _info(state: dict[str, object]) -> RestoreInfo:
    return RestoreInfo(
        str(state.get("gatewayId", "")),
        int(str(state.get("createdAt", 0))),
        int(str(state.get("files", 0))),
        bool(state.get("configCopy", False)),
    )


def stage(layout: DataLayout, archive: Path, passphrase: bytes) -> RestoreInfo:
    """Verify ``archive`` in full, then stage it in the data folder for ``apply_staged``.

    BackupError (with the reason) if it is not a whole, authentic archive for this Hearth; then nothing is
    staged and a restore staged before stays as it was.
    """
    opened = verify(archive, passphrase)  # every chunk authenticated before anything is unpacked
    layout.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    incoming = layout.data_dir / f"{INCOMING_PREFIX}{secrets.token_hex(4)}"
    try:
        manifest: Manifest = extract(opened, incoming)
        data = incoming / "data"
        data.mkdir(mode=0o700, exist_ok=True)
        _check_database(data / DATABASE)
        advance_rolling_codes(data / DATABASE)
        config = incoming.joinpath(*CONFIG_MEMBER.split("/"))
        if config.is_file():
            config.rename(data / CONFIG_COPY_NAME)
        others = [
            p.relative_to(incoming).as_posix() for p in incoming.rglob("*") if p.is_file() and data not in p.parents
        ]
        if others:
            raise BackupError(f"the archive holds {others[0]!r}, which is no part of a gateway: nothing was restored")
        for entry in data.iterdir():
            # The lock, the backups, the passphrase and the restore's own folders are never replaced.
            if layout.kept(layout.data_dir / entry.name):
                raise BackupError(
                    f"the archive holds {entry.name!r}, which a restore never replaces: nothing was restored"
                )
        sync_folder(data)
        state = {
            "phase": "staged",
            "gatewayId": manifest.gateway_id,
            "createdAt": manifest.created_ms,
            "files": len(manifest.files),
            "configCopy": (data / CONFIG_COPY_NAME).is_file(),
        }
        _write_state(incoming, state)
        if layout.staged_dir.exists():
            shutil.rmtree(layout.staged_dir)  # the newest staged restore wins
        incoming.rename(layout.staged_dir)
        sync_folder(layout.data_dir)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return _info(state)


def staged(layout: DataLayout) -> RestoreInfo | None:
    """The restore waiting for the next start, if any."""
    try:
        return _info(json.loads((layout.staged_dir / STATE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _move_aside(entry: Path, aside: Path) -> None:
    target = aside / entry.name
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    entry.rename(target)


def apply_staged(layout: DataLayout) -> RestoreInfo | None:
    """Swap a staged restore into the data folder; None if none is staged. The caller owns the folder's lock."""
    for leftover in layout.data_dir.glob(INCOMING_PREFIX + "*") if layout.data_dir.is_dir() else []:
        # An unpacking or an upload cut short: never verified, never applied.
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    state_file = layout.staged_dir / STATE
    if not state_file.is_file():
        if layout.staged_dir.exists():
            shutil.rmtree(layout.staged_dir)
        if layout.aside_dir.exists():
            shutil.rmtree(layout.aside_dir)  # the end of an earlier restore, cut short after the swap
        return None
    state = json.loads(state_file.read_text(encoding="utf-8"))
    restored = layout.staged_dir / "data"
    if state.get("phase") == "staged":
        layout.aside_dir.mkdir(mode=0o700, exist_ok=True)
        for entry in layout.replaceable():
            _move_aside(entry, layout.aside_dir)
        sync_folder(layout.aside_dir)
        sync_folder(layout.data_dir)
        state["phase"] = "swapping"
        _write_state(layout.staged_dir, state)
    for entry in sorted(restored.iterdir()):
        target = layout.data_dir / entry.name
        if target.exists() or target.is_symlink():
            _move_aside(target, layout.aside_dir)
        entry.rename(target)
    sync_folder(layout.data_dir)
    shutil.rmtree(layout.staged_dir)
    shutil.rmtree(layout.aside_dir, ignore_errors=True)
    sync_folder(layout.data_dir)
    return _info(state)


def _refuse_if_not_empty(layout: DataLayout, force: bool) -> None:
    present = [p.name for p in layout.replaceable()]
    if present and not force:
        shown = ", ".join(present[:5]) + (" ..." if len(present) > 5 else "")
        raise BackupError(
            f"{layout.data_dir} is not empty ({shown}): restore into an empty data folder, "
            "or add --force to replace what it holds"
        )


def restore_now(
    layout: DataLayout, archive: Path, passphrase: bytes, *, force: bool, keep_passphrase: bool
) -> RestoreInfo:
    """``hearth restore``: into a data folder no gateway runs on, empty unless ``force``.

    ``keep_passphrase``: the passphrase came from outside the data folder; write it to the configured
    passphrase file if there is none, so that scheduled backups go on with the same passphrase.
    """
    _refuse_if_not_empty(layout, force)
    verify(archive, passphrase)  # a bad archive is refused before the data folder is even made
    with DataFolderLock(layout.data_dir, "hearth restore"):
        _refuse_if_not_empty(layout, force)
        stage(layout, archive, passphrase)
        info = apply_staged(layout)
        assert info is not None
        if keep_passphrase and not layout.passphrase_file.exists():
            write_passphrase(layout.passphrase_file, passphrase)
        return info
