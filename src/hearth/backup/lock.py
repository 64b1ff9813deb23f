"""One owner of a data folder at a time: the running gateway, or a restore.

An advisory ``flock`` on ``<data_dir>/hearth.lock``, held for as long as the owner runs. The kernel drops it
when the process ends, however it ends (a SIGKILL or a power cut leaves no stale lock to clean up). The file
holds the owner's pid and role, only to say who holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from hearth.backup.layout import LOCK_NAME


class DataFolderBusy(RuntimeError):
    """Another process owns the data folder."""


class DataFolderLock:
    def __init__(self, data_dir: Path, role: str) -> None:
        self.path = data_dir / LOCK_NAME
        self.role = role
        self._fd: int | None = None

    def acquire(self) -> DataFolderLock:
        """Take the lock, or DataFolderBusy naming who holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise DataFolderBusy(f"{self.path.parent} is in use by {holder}: stop it first") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.role} (pid {os.getpid()})\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

    def __enter__(self) -> DataFolderLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()
