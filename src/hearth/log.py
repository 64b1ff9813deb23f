"""Structured logging, and the filter that keeps secrets out of every log line."""

from __future__ import annotations

import json
import logging
import re
import sys
import time

# Tokens we make, bearer headers, and key=value pairs whose key says secret.
_SECRET_PATTERNS = [
    re.compile(r"hth_[A-Za-z0-9_\-]{20,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]{8,}"),
    re.compile(r"(?i)((?:network_?key|password|secret|token|code)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(out)


class UvicornNameFilter(logging.Filter):
    """uvicorn logs its ordinary lines ("Started server process", connections) on a logger named
    ``uvicorn.error``, which reads as an alarm in the logs and the page's log panel: they are named ``uvicorn``.
    The level still says what is an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.error":
            record.name = "uvicorn"
        return True


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log would print every request; our own request log says what matters.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, UvicornNameFilter) for f in uvicorn_error.filters):
        uvicorn_error.addFilter(UvicornNameFilter())
