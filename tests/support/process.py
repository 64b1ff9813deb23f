"""A real Hearth gateway in a child process: started from the CLI, on a free port, with its own data.

Tests drive it over HTTPS as any client would, and can SIGKILL it mid-work and start it again on the
same data folder.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.children import die_with_parent

REPO = Path(__file__).resolve().parents[2]
BASE_PATH = "/enduser-mobile-web/1/enduserAPI"
_API_LINE = re.compile(r"End-User API: https?://[^:]+:(\d+)/")
# For tests that send thousands of requests from one token and address: the rate limits and the ban are not
# what they test (tests/integration/test_rate_limits.py and test_auth_scopes.py do that).
UNLIMITED_RATES = {
    "HEARTH_API__BAN_AFTER_FAILURES": "1000000",
    **{
        f"HEARTH_API__RATE_{kind}_{knob}": "100000"
        for kind in ("EXEC", "BULK", "POLLING")
        for knob in ("PER_S", "BURST")
    },
}

# How long after the banner's data folder line a first admin token line may still come.
BANNER_GRACE_S = 1.0
_GATEWAY_LINE = re.compile(r"gateway (\d{4}-\d{4}-\d{4}) started")


class HearthProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        config: Path | None = None,
        env: dict[str, str] | None = None,
        python: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        # The interpreter whose installed Hearth runs: the dev venv's by default, or a user install's
        # (tests.support.user_install), which runs from outside the checkout so that it imports its own copy.
        self.python = str(python) if python else sys.executable
        self.cwd = REPO if python is None else data_dir
        self.config = config or REPO / "config" / "demo.toml"
        self.extra_env = env or {}
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.gateway_id = ""
        self.first_token: str | None = None
        self.output: list[str] = []
        self._reader: threading.Thread | None = None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "HEARTH_STORE__DATA_DIR": str(self.data_dir),
                "HEARTH_API__HOST": "127.0.0.1",
                "HEARTH_API__PORT": "0",
                "HEARTH_DRIVERS__VIRTUAL__TRAVEL_TIME_S": "1",
                "HEARTH_DRIVERS__VIRTUAL__DRIFT_INTERVAL_S": "0",
            }
        )
        env.update(self.extra_env)
        return env

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}{BASE_PATH}"

    @property
    def root_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0, *, whole_banner: bool = True) -> HearthProcess:
        """Start ``hearth run``; return once the banner is read (``whole_banner=False``: once the API's port is
        known, without the banner's grace after "Data:", for a benchmark timing the start)."""
        self.output = []
        self.port = 0
        self._data_seen_at: float | None = None
        self.data_dir.mkdir(parents=True, exist_ok=True)  # also the working folder of a user install's run
        self.proc = subprocess.Popen(
            [self.python, "-m", "hearth", "run", "--config", str(self.config)],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            preexec_fn=die_with_parent,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.port and (not whole_banner or self._banner_read()):
                return self
            if self.proc.poll() is not None:
                time.sleep(0.1)
                raise RuntimeError("hearth exited while starting:\n" + "".join(self.output))
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("hearth did not start in time:\n" + "".join(self.output))

    def _banner_read(self) -> bool:
        """The start banner is all in: its data folder line, and the admin token if one is announced.

        The token lines follow the data folder line; the reader may have seen the one and not yet the next (a
        start once returned without the token), and log lines may come between. So without a token line the
        banner is in only a moment after "Data:" (a data folder that has tokens announces none).
        """
        lines = list(self.output)
        at = next((i for i, line in enumerate(lines) if line.startswith("  Data:")), None)
        if at is None:
            return False
        if self._data_seen_at is None:
            self._data_seen_at = time.monotonic()
        if any("First admin token" in line for line in lines):
            return self.first_token is not None
        return time.monotonic() - self._data_seen_at > BANNER_GRACE_S

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        expect_token = False
        for line in self.proc.stdout:
            self.output.append(line)
            # The token is the next line that is one: log lines (stderr, on the same pipe) may come between the
            # banner's two prints, e.g. a radio server's output at DEBUG.
            if expect_token and line.startswith("  hth_"):
                self.first_token = line.strip()
                expect_token = False
            if "First admin token" in line:
                expect_token = True
            if m := _GATEWAY_LINE.search(line):
                self.gateway_id = m.group(1)
            if m := _API_LINE.search(line):
                self.port = int(m.group(1))

    def cli(self, *args: str) -> str:
        """Run ``hearth <args>`` against the same configuration and data; returns stdout."""
        result = subprocess.run(
            [self.python, "-m", "hearth", *args, "--config", str(self.config)],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"hearth {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def token(self, scope: str = "admin", label: str = "test") -> str:
        return self.cli("token", "create", "--scope", scope, "--label", label).strip()

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """Power cut, as far as a process can tell: SIGKILL, no cleanup."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def device_url(self, address: str) -> str:
        return f"virtual://{self.gateway_id}/{address}"
