"""A real mosquitto broker for a test: its own config, port and persistence folder; stopped by its PID."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from pathlib import Path

from tests.support.children import die_with_parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """``tls=(cert, key)`` serves TLS with that certificate (self-signed: it is its own CA); ``users`` turns
    anonymous access off and lets only those (name, password) pairs in; ``client_ca`` lets in only clients with a
    certificate that CA signed."""

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        *,
        tls: tuple[Path, Path] | None = None,
        users: dict[str, str] | None = None,
        client_ca: Path | None = None,
    ) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        # Persistence on: a broker restart keeps retained messages and the persistent sessions' queues.
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {folder}/",
            "autosave_interval 1",
        ]
        if os.geteuid() == 0:
            # Started as root, mosquitto drops to the user "mosquitto", who cannot read the test's private folder.
            lines.append("user root")
        if tls is not None:
            cafile = tls[0]
            if client_ca is not None:  # clients must show a certificate this CA signed; its CN is their name
                cafile = folder / "ca-bundle.pem"
                cafile.write_bytes(tls[0].read_bytes() + client_ca.read_bytes())
                lines += ["require_certificate true", "use_identity_as_username true"]
            lines += [f"cafile {cafile}", f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        if users:
            passwords = folder / "passwd"
            passwords.write_text("")
            for name, password in users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwords), name, password], check=True, capture_output=True
                )
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        elif client_ca is not None:
            lines.append("allow_anonymous false")
        else:
            lines.append("allow_anonymous true")
        self.config.write_text("\n".join(lines) + "\n")

    async def start(self) -> Mosquitto:
        program = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = await asyncio.to_thread(
            subprocess.Popen,
            [program, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                await asyncio.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            await asyncio.to_thread(self.proc.wait, 10)
        self.proc = None
