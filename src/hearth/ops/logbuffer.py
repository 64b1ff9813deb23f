"""The newest log records in memory, for ``/ext/logs``: what an installer reads without a shell on the box."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from hearth.log import redact

# One record's message is cut there: a runaway repr must not fill the buffer's memory.
MAX_MESSAGE = 4000
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LogBuffer(logging.Handler):
    """A logging handler keeping the newest ``capacity`` records, secrets masked.

    Messages never carry secrets by design; they are masked again here anyway (bearer tokens, our tokens,
    key=value pairs whose key says secret), as the console handler masks them.
    """

    def __init__(self, capacity: int = 1000, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._records: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._traceback = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + self._traceback.formatException(record.exc_info)
            entry = {
                "time": int(record.created * 1000),
                "level": record.levelname,
                "levelno": record.levelno,
                "logger": record.name,
                "message": redact(message)[:MAX_MESSAGE],
            }
        except Exception:
            self.handleError(record)
            return
        self._records.append(entry)  # deque.append is atomic: a record from another thread is safe

    def newest(self, limit: int, min_level: str = "DEBUG") -> list[dict[str, Any]]:
        """The newest ``limit`` records at ``min_level`` or above, newest first."""
        floor = logging.getLevelName(min_level)
        records = self._records.copy()  # one C call: safe while another thread appends
        out = []
        for entry in reversed(records):
            if entry["levelno"] >= floor:
                out.append({k: entry[k] for k in ("time", "level", "logger", "message")})
                if len(out) >= limit:
                    break
        return out

    def install(self) -> None:
        logging.getLogger().addHandler(self)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)
