"""A zwave-js server that Hearth runs itself: started on the stick's port, its output logged, restarted on a crash.

Used when ``[drivers.zwave] port`` is set. The server's network keys are made once, kept in the driver's
data folder (owner-only file), and never logged; zwave-js's cache (the network's nodes) lives there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
from pathlib import Path

from hearth.sdk import Backoff, cancel_and_wait

# The security classes zwave-js needs a key for (the server refuses to start without S0_Legacy).
KEY_NAMES = ("S0_Legacy", "S2_Unauthenticated", "S2_Authenticated", "S2_AccessControl")
_HEX32 = re.compile(r"\b[0-9a-fA-F]{32}\b")


class ManagedServer:
    def __init__(
        self,
        command: str,
        port: str,
        ws_port: int,
        folder: Path,
        log: logging.Logger,
        restart_min_s: float,
        restart_max_s: float,
    ) -> None:
        self.command = command
        self.port = port
        self.ws_port = ws_port
        self.folder = folder
        self.log = log
        self.restart_min_s = restart_min_s
        self.restart_max_s = restart_max_s
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ready = asyncio.Event()

    def _config(self) -> Path:
        """The server's config file; its keys are made on the first start and then kept."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        keys_file = self.folder / "keys.json"
        if keys_file.exists():
            keys = json.loads(keys_file.read_text())
        else:
            keys = {name: secrets.token_hex(16) for name in KEY_NAMES}
            _write_private(keys_file, json.dumps(keys))
        config = {
            "storage": {"cacheDir": str(self.folder / "cache")},
            "securityKeys": keys,
            "logConfig": {"enabled": True, "level": "info", "logToFile": False},
            "enableStatistics": False,
        }
        path = self.folder / "server-config.json"
        _write_private(path, json.dumps(config))
        return path

    def _argv(self) -> list[str]:
        program = shutil.which(self.command) or self.command
        return [
            program,
            self.port,
            "--config",
            str(self._config()),
            "--port",
            str(self.ws_port),
            "--host",
            "127.0.0.1",
            "--disable-dns-sd",
        ]

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="zwave-server")

    async def wait_ready(self, within_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                await self._ready.wait()
                return True
        return False

    async def _supervise(self) -> None:
        backoff = Backoff(self.restart_min_s, max(self.restart_min_s, self.restart_max_s))
        while not self._stopping:
            delay = backoff.next_delay()
            self._ready.clear()
            try:
                self.process = await asyncio.create_subprocess_exec(
                    *self._argv(),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                self.log.error("cannot start the zwave-js server (%s): %s", self.command, exc)
            else:
                self.log.info("zwave-js server started (pid %d) on %s", self.process.pid, self.port)
                await self._pump(self.process)
                code = await self.process.wait()
                if self._stopping:
                    return
                self.log.warning("zwave-js server exited with code %s; restarting in %.1f s", code, delay)
                self.restarts += 1
            await asyncio.sleep(delay)

    async def _pump(self, process: asyncio.subprocess.Process) -> None:
        """The server's output into our log (keys masked, in case a future version prints them)."""
        assert process.stdout is not None
        while line := await process.stdout.readline():
            text = _HEX32.sub("***", line.decode(errors="replace").rstrip())
            if "ZwaveJS server listening" in text:
                self._ready.set()
            self.log.debug("zwave-js: %s", text)

    async def stop(self) -> None:
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                async with asyncio.timeout(5):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        await cancel_and_wait(self._task)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
