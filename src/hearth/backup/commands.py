"""``hearth backup`` and ``hearth restore``, and what ``hearth run`` does with the data folder before it starts."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from hearth.backup.archive import verify
from hearth.backup.builder import DATABASE, PARTIAL_SUFFIX, build_archive, database_identity, save_archive
from hearth.backup.layout import CONFIG_COPY_NAME, DataLayout
from hearth.backup.lock import DataFolderLock
from hearth.backup.passphrase import ensure_passphrase, read_passphrase
from hearth.backup.progress import ProgressLine, file_size, megabytes
from hearth.backup.restore import apply_staged, restore_now
from hearth.backup.schedule import archive_name
from hearth.backup.sealed import BackupError
from hearth.config import Settings


def _when(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def prepare_data_folder(settings: Settings) -> DataFolderLock:
    """Before ``hearth run`` opens anything: own the data folder, and apply a restore staged through the API.

    DataFolderBusy if another gateway (or a restore) runs on the same folder.
    """
    lock = DataFolderLock(settings.data_dir(), "hearth run").acquire()
    try:
        info = apply_staged(DataLayout.of(settings))
    except OSError as exc:
        lock.release()
        raise RuntimeError(f"cannot apply the restore staged in {settings.data_dir()}: {exc}") from None
    except BaseException:
        lock.release()
        raise
    if info is not None:
        print(f"Hearth: restored the backup of gateway {info.gateway_id} made {_when(info.created_ms)}", flush=True)
    return lock


def _stored_gateway_id(data_dir: Path) -> str:
    database = data_dir / DATABASE
    if not database.is_file():
        raise BackupError(f"there is no gateway to back up in {data_dir} (no {DATABASE})")
    return database_identity(database)[0]


def backup_command(settings: Settings, output: str | None, passphrase_file: str | None) -> int:
    """Write an archive (to ``output``, ``-`` for stdout, else into the backups folder); print where."""
    layout = DataLayout.of(settings)
    made = False
    if passphrase_file:
        passphrase = read_passphrase(Path(passphrase_file))
    else:
        passphrase, made = ensure_passphrase(layout.passphrase_file)
    if made:
        print(
            f"Backup passphrase (made now and kept in {layout.passphrase_file}; shown once: write it down, a "
            f"restore on another box needs it):\n  {passphrase.decode()}",
            file=sys.stderr,
            flush=True,
        )
    if output == "-":
        with ProgressLine(sys.stderr, "writing the archive to stdout"):
            manifest = build_archive(settings, sys.stdout.buffer, passphrase, layout.backup_dir)
        sys.stdout.buffer.flush()
        print(f"backup of gateway {manifest.gateway_id}: {len(manifest.files)} files", file=sys.stderr)
        return 0
    if output:
        target = Path(output)
    else:
        name = archive_name(_stored_gateway_id(layout.data_dir), datetime.datetime.now(datetime.UTC))
        target = layout.backup_dir / name
    # save_archive writes beside the target under a hidden name, renamed at the end: its size is the progress.
    partial = target.with_name(f".{target.name}{PARTIAL_SUFFIX}")
    with ProgressLine(sys.stderr, f"writing {target.name}", file_size(partial, target)):
        manifest = save_archive(settings, target, passphrase)
    print(
        f"backup of gateway {manifest.gateway_id}: {len(manifest.files)} files, {target.stat().st_size} bytes",
        file=sys.stderr,
    )
    print(target)
    return 0


def restore_command(settings: Settings, archive: str, passphrase_file: str | None, *, force: bool, check: bool) -> int:
    """Verify an archive and restore it into the (stopped) gateway's data folder, or only verify it."""
    layout = DataLayout.of(settings)
    path = Path(archive)
    if not path.is_file():
        raise BackupError(f"{archive}: no such file")
    key_file = Path(passphrase_file) if passphrase_file else layout.passphrase_file
    try:
        passphrase = read_passphrase(key_file)
    except BackupError as exc:
        raise BackupError(f"{exc}; give the archive's passphrase with --passphrase-file") from None
    what = f"{path.name} ({megabytes(path.stat().st_size)})"
    if check:
        with ProgressLine(sys.stderr, f"verifying {what}"):
            opened = verify(path, passphrase)
        print(
            f"{archive}: a whole, authentic backup of gateway {opened.header.gateway_id} made "
            f"{_when(opened.header.created_ms)}"
        )
        return 0
    with ProgressLine(sys.stderr, f"verifying and restoring {what}"):
        info = restore_now(layout, path, passphrase, force=force, keep_passphrase=passphrase_file is not None)
    print(
        f"restored gateway {info.gateway_id} (backup made {_when(info.created_ms)}, {info.files} files) "
        f"into {layout.data_dir}"
    )
    if info.config_copy:
        print(
            f"  the configuration file of that gateway is in {layout.data_dir / CONFIG_COPY_NAME}: "
            "compare it with yours"
        )
    print("  start the gateway with: hearth run")
    return 0
