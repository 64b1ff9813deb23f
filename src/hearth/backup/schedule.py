"""Scheduled backups: an archive every ``interval_h`` hours in the backups folder, the newest ``keep`` kept.

Each archive is written under a hidden name and renamed when whole (builder.save_archive), so a power cut
never leaves a partial archive that looks whole; what such a cut leaves behind is removed at the next start.
The time of the next backup comes from the newest archive's name, so restarts do not put it off.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from hearth.backup.builder import PARTIAL_SUFFIX, SNAPSHOTS_PREFIX, save_archive
from hearth.backup.layout import DataLayout
from hearth.backup.passphrase import ensure_passphrase
from hearth.config import Settings
from hearth.core.tasks import cancel_and_wait
from hearth.extensions import CoreParts, ExtensionStatus, GatewayParts

log = logging.getLogger(__name__)

SUFFIX = ".hbk"
_NAME = re.compile(r"^hearth-backup-(\d{4}-\d{4}-\d{4})-(\d{8}T\d{6}Z)\.hbk$")
_STAMP = "%Y%m%dT%H%M%SZ"
# After a start, the first backup waits at least this long (or the interval, if shorter): a gateway that
# starts, say after a power cut, first has its devices to see to.
START_SETTLE_S = 60.0
RETRY_S = 600.0


def archive_name(gateway_id: str, created: datetime.datetime) -> str:
    """``hearth-backup-<gatewayId>-<UTC time>.hbk``: the file name of scheduled and downloaded archives."""
    return f"hearth-backup-{gateway_id}-{created.astimezone(datetime.UTC).strftime(_STAMP)}{SUFFIX}"


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    path: Path
    gateway_id: str
    created_ms: int
    size: int

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.path.name,
            "gatewayId": self.gateway_id,
            "creationTime": self.created_ms,
            "size": self.size,
        }


def list_archives(folder: Path) -> list[ArchiveFile]:
    """The archives in ``folder`` named as we name them, newest first."""
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = _NAME.match(path.name)
            if not match or not path.is_file():
                continue
            created = datetime.datetime.strptime(match.group(2), _STAMP).replace(tzinfo=datetime.UTC)
            found.append(ArchiveFile(path, match.group(1), int(created.timestamp() * 1000), path.stat().st_size))
    return sorted(found, key=lambda a: (a.created_ms, a.path.name), reverse=True)


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` archives; returns what was deleted."""
    removed = [a.path for a in list_archives(folder)[keep:]]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def remove_leftovers(folder: Path) -> None:
    """What a backup cut short (a power cut, a kill) left: partial archives and snapshot folders."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX):
            path.unlink(missing_ok=True)
        elif path.name.startswith(SNAPSHOTS_PREFIX) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def make_scheduled_backup(settings: Settings, gateway_id: str) -> Path:
    """One archive into the backups folder, then the oldest beyond ``keep`` deleted. Blocking: run in a thread."""
    layout = DataLayout.of(settings)
    passphrase, made = ensure_passphrase(layout.passphrase_file)
    if made:
        # The path only: the passphrase itself never goes to a log.
        log.warning(
            "backup: made a backup passphrase in %s; keep a copy outside this box: without it no "
            "archive can be restored",
            layout.passphrase_file,
        )
    target = layout.backup_dir / archive_name(gateway_id, datetime.datetime.now(datetime.UTC))
    save_archive(settings, target, passphrase)
    for path in prune(layout.backup_dir, settings.backup.keep):
        log.info("backup: deleted %s (keeping the newest %d)", path.name, settings.backup.keep)
    return target


class BackupScheduler:
    """A gateway extension: scheduled backups while the gateway runs (``[backup] enabled``)."""

    name = "backup"  # its entry point's name (hearth.extensions)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def attach(self, core: CoreParts) -> None:
        """Nothing to hear: it copies the store on a timer."""

    async def start(self, parts: GatewayParts) -> None:
        folder = DataLayout.of(self.settings).backup_dir
        await asyncio.to_thread(remove_leftovers, folder)
        self._task = asyncio.create_task(self._run(parts.identity.gateway_id, folder), name="backups")

    def status(self) -> ExtensionStatus:
        return ExtensionStatus()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    def _first_delay(self, folder: Path, interval_s: float) -> float:
        archives = list_archives(folder)
        due = archives[0].created_ms / 1000 + interval_s if archives else 0.0
        return max(due - time.time(), min(interval_s, START_SETTLE_S))

    async def _run(self, gateway_id: str, folder: Path) -> None:
        interval_s = self.settings.backup.interval_h * 3600
        delay = await asyncio.to_thread(self._first_delay, folder, interval_s)
        while True:
            await asyncio.sleep(delay)
            started = time.monotonic()
            try:
                target = await asyncio.to_thread(make_scheduled_backup, self.settings, gateway_id)
                log.info("backup: wrote %s in %.1f s", target.name, time.monotonic() - started)
                delay = max(interval_s - (time.monotonic() - started), 0.0)
            except Exception as exc:
                log.error("backup failed: %s; next try in %.0f s", exc, min(interval_s, RETRY_S))
                delay = min(interval_s, RETRY_S)
