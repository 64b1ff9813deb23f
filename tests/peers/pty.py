"""A serial port made of a socat pty pair: the code under test opens ``port_path``, the emulator the other end.

Unplugging kills socat (the host's port disappears, its fd gets EOF/EIO); replugging starts socat again with the
same link names, like a USB stick that comes back under the same /dev/serial/by-id name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import termios
import time
import tty
from collections.abc import Callable
from pathlib import Path

from tests.support.children import die_with_parent


class PtyLink:
    def __init__(self, directory: Path, name: str, on_data: Callable[[bytes], None]) -> None:
        self.port_path = str(Path(directory) / name)
        self._emu_path = str(Path(directory) / f".{name}.emulator")
        self._on_data = on_data
        self._proc: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None
        self._pending = bytearray()

    @property
    def connected(self) -> bool:
        return self._fd is not None

    def _unlink(self) -> None:
        for path in (self.port_path, self._emu_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _spawn(self) -> None:
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat is not installed")
        self._unlink()
        self._proc = subprocess.Popen(
            [socat, f"pty,raw,echo=0,link={self.port_path}", f"pty,raw,echo=0,link={self._emu_path}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: die_with_parent(signal.SIGTERM),
        )

    def _ready(self) -> bool:
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            raise RuntimeError("socat exited before making the pty pair")
        return os.path.exists(self.port_path) and os.path.exists(self._emu_path)

    async def open(self) -> None:
        self._spawn()
        deadline = time.monotonic() + 5
        while not self._ready():
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("socat did not create the pty pair")
            await asyncio.sleep(0.005)
        fd = os.open(self._emu_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd, termios.TCSANOW)
        self._fd = fd
        asyncio.get_running_loop().add_reader(fd, self._readable)

    def _readable(self) -> None:
        if self._fd is None:
            return
        try:
            data = os.read(self._fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self._on_data(data)

    def write(self, data: bytes) -> None:
        if self._fd is None:
            return
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        if self._fd is None:
            return
        loop = asyncio.get_running_loop()
        while self._pending:
            try:
                n = os.write(self._fd, self._pending)
            except BlockingIOError:
                loop.add_writer(self._fd, self._flush)
                return
            except OSError:
                self._pending.clear()
                break
            del self._pending[:n]
        loop.remove_writer(self._fd)

    async def wait_closed(self) -> None:
        return None

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(RuntimeError):
                loop = asyncio.get_running_loop()
                loop.remove_reader(self._fd)
                loop.remove_writer(self._fd)
            os.close(self._fd)
            self._fd = None
        self._pending.clear()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        self._unlink()
