"""A progress line for ``hearth backup`` and ``hearth restore``: they take seconds on a desktop, minutes on an
SD card, and a silent terminal looks hung.

On a terminal the line is redrawn a few times a second (what, megabytes so far when known, seconds); on a pipe
or a log (systemd, cron) only a start line and an end line are written, so the log is not flooded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TextIO

TICK_S = 0.25


def file_size(*paths: Path) -> Callable[[], int | None]:
    """A reader of the size of the first of ``paths`` that exists now (None while none does): a file written
    under a temporary name, then renamed, is followed by giving both names."""

    def size() -> int | None:
        for path in paths:
            try:
                return path.stat().st_size
            except OSError:
                continue
        return None

    return size


def megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class ProgressLine:
    """``with ProgressLine(sys.stderr, "writing the archive", size_of):`` around a long step."""

    def __init__(self, out: TextIO, what: str, size_of: Callable[[], int | None] | None = None) -> None:
        self.out = out
        self.what = what
        self.size_of = size_of
        self.live = out.isatty()
        self.started = 0.0
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def line(self) -> str:
        size = self.size_of() if self.size_of else None
        amount = f"{megabytes(size)}, " if size is not None else ""
        return f"{self.what}: {amount}{time.monotonic() - self.started:.1f} s"

    def _tick(self) -> None:
        while not self.done.wait(TICK_S):
            self.out.write("\r" + self.line() + "\x1b[K")
            self.out.flush()

    def __enter__(self) -> ProgressLine:
        self.started = time.monotonic()
        if self.live:
            self.thread = threading.Thread(target=self._tick, name="progress", daemon=True)
            self.thread.start()
        else:
            self.out.write(f"{self.what}…\n")
            self.out.flush()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join()
        ending = "done" if kind is None else "stopped"
        prefix = "\r" if self.live else ""
        self.out.write(f"{prefix}{self.line()} ({ending})" + ("\x1b[K" if self.live else "") + "\n")
        self.out.flush()
