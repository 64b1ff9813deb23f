"""ZwavePeer: the real zwave-js driver (zwave-server of @zwave-js/server) on a simulated controller and nodes.

Two Node processes, each in its own process group and killed with the test process (PR_SET_PDEATHSIG):
- mock.mjs: MockController + MockNodes from nodes.json, a TCP "serial port" and a JSON-lines control port;
- zwave-server: the real driver on tcp://127.0.0.1:<serial port>, serving the WebSocket API on peer.ws_url.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import time
from collections import deque
from pathlib import Path
from typing import Any

from tests.support.children import die_with_parent

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
ZWAVE_SERVER = NODE_MODULES / ".bin" / "zwave-server"
DEFAULT_NODES = HERE / "nodes.json"
INSTALL_HINT = "run: npm ci --prefix tests/peers/zwave"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check_installed() -> None:
    # Installing is the Makefile's job (npm ci), never the tests': fail loudly rather than skip.
    if shutil.which("node") is None:
        raise RuntimeError("node (v20+) is not on PATH; the Z-Wave peer needs it")
    for needed in (ZWAVE_SERVER, NODE_MODULES / "zwave-js", NODE_MODULES / "@zwave-js" / "testing"):
        if not needed.exists():
            raise RuntimeError(f"Z-Wave peer dependencies missing ({needed}); {INSTALL_HINT}")


class _Proc:
    """One child process whose merged stdout/stderr lines go into the peer's shared output buffer."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, peer: ZwavePeer) -> None:
        self.name = name
        self.proc = proc
        self.reader = asyncio.create_task(self._read(peer), name=f"zwave-peer-{name}-output")

    async def _read(self, peer: ZwavePeer) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            peer._add_line(f"{self.name}| {line.decode(errors='replace').rstrip()}")
        peer._add_line(f"{self.name}| <exited {await self.proc.wait()}>")

    @property
    def running(self) -> bool:
        return self.proc.returncode is None

    async def kill(self, sig: int = signal.SIGKILL, grace: float = 5.0) -> None:
        """Signals the whole process group (node may have helpers), then makes sure it is gone."""
        if self.running:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                os.killpg(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()
        await self.reader


class ZwavePeer:
    """A zwave-js server on simulated hardware, plus a control channel to the simulated nodes.

    peer = await ZwavePeer.start(tmp_path)                # nodes=None -> nodes.json; or a list of node dicts
    Client(peer.ws_url, session)                          # zwave-js-server-python
    await peer.report(4, "multilevel_sensor", 23.5)       # unsolicited report from a node
    await peer.set_dead(5) / set_dead(5, False)           # node stops / resumes answering
    await peer.wake(8)                                    # sleeping node sends Wake Up Notification
    await peer.received(2)                                # {"state", "received", "dead", "asleep"} of the mock node
    await peer.kill_server(); await peer.start_server()   # SIGKILL zwave-server, start it again on the same port
    await peer.stop()
    """

    OUTPUT_LINES = 5000

    def __init__(self, workdir: Path, nodes_file: Path, driver_options: dict[str, Any] | None) -> None:
        self.workdir = workdir
        self.nodes_file = nodes_file
        self.config_file = workdir / "zwave-server.json"
        self.cache_dir = workdir / "cache"
        self.ws_port = 0  # chosen once the mock's ports are bound, so the kernel cannot hand out the same one
        self.serial_port = 0
        self.control_port = 0
        self.output: deque[str] = deque(maxlen=self.OUTPUT_LINES)
        self._line_count = 0  # lines ever added; output only keeps the last OUTPUT_LINES
        self._new_line = asyncio.Event()
        self._mock: _Proc | None = None
        self._server: _Proc | None = None
        self._control: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._control_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._write_config(driver_options or {})

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def server_running(self) -> bool:
        return self._server is not None and self._server.running

    # -- life cycle --------------------------------------------------------------------------------------------

    @classmethod
    async def start(
        cls,
        tmp_path: Path,
        nodes: list[dict[str, Any]] | None = None,
        driver_options: dict[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> ZwavePeer:
        """Starts the mock, then zwave-server; returns once the WebSocket server listens (nodes may still be in
        their interview: wait for the client's nodes to be ready)."""
        _check_installed()
        workdir = Path(tmp_path) / "zwave-peer"
        workdir.mkdir(parents=True, exist_ok=True)
        nodes_file = DEFAULT_NODES
        if nodes is not None:
            nodes_file = workdir / "nodes.json"
            nodes_file.write_text(json.dumps({"nodes": nodes}, indent=1))
        peer = cls(workdir, nodes_file, driver_options)
        try:
            await peer._start_mock(timeout)
            for attempt in range(3):  # a free port can still be taken between the check and zwave-server's listen
                peer.ws_port = _free_port()
                try:
                    await peer.start_server(timeout)
                    break
                except RuntimeError as e:
                    if "EADDRINUSE" not in str(e) or attempt == 2:
                        raise
        except BaseException:
            await peer.stop()
            raise
        return peer

    def _write_config(self, driver_options: dict[str, Any]) -> None:
        # zwave-server refuses to start without securityKeys.S0_Legacy; random keys per peer, nothing shared.
        config: dict[str, Any] = {
            "securityKeys": {
                name: secrets.token_hex(16)
                for name in ("S0_Legacy", "S2_Unauthenticated", "S2_Authenticated", "S2_AccessControl")
            },
            # Own cache per peer so runs never share a network; survives kill_server/start_server on purpose.
            "storage": {"cacheDir": str(self.cache_dir)},
            # Console logging even without a TTY: it lands in peer.output for debugging.
            "logConfig": {"enabled": True, "level": "info", "forceConsole": True, "logToFile": False},
        }
        config.update(driver_options)
        self.config_file.write_text(json.dumps(config, indent=1))

    async def _spawn(self, name: str, *argv: str) -> _Proc:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=HERE,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
            limit=1 << 20,
            env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
        )
        return _Proc(name, proc, self)

    async def _start_mock(self, timeout: float) -> None:
        mark = self._line_count
        self._mock = await self._spawn(
            "mock",
            "node",
            str(HERE / "mock.mjs"),
            "--nodes",
            str(self.nodes_file),
            "--port",
            "0",
            "--control-port",
            "0",
        )
        control = await self.wait_for_line(
            r"mock\| Control listening on tcp://[^:]+:(\d+)", timeout, after=mark, process=self._mock
        )
        serial = await self.wait_for_line(
            r"mock\| Server listening on tcp://[^:]+:(\d+)", timeout, after=mark, process=self._mock
        )
        self.control_port = int(re.search(r":(\d+)$", control).group(1))  # type: ignore[union-attr]
        self.serial_port = int(re.search(r":(\d+)$", serial).group(1))  # type: ignore[union-attr]
        self._control = await asyncio.open_connection("127.0.0.1", self.control_port, limit=1 << 22)

    async def start_server(self, timeout: float = 30.0) -> None:
        """(Re)starts zwave-server on the same WebSocket port and cache; returns when it listens."""
        if self.server_running:
            raise RuntimeError("zwave-server is already running")
        mark = self._line_count
        server = self._server = await self._spawn(
            "server",
            str(ZWAVE_SERVER),
            f"tcp://127.0.0.1:{self.serial_port}",
            "--config",
            str(self.config_file),
            "--port",
            str(self.ws_port),
            "--host",
            "127.0.0.1",
            "--disable-dns-sd",
        )
        try:
            await self.wait_for_line(r"server\| .*ZwaveJS server listening on", timeout, after=mark, process=server)
        except RuntimeError:
            await server.kill()
            raise

    async def kill_server(self) -> None:
        """SIGKILLs zwave-server only (a crash, no clean shutdown); the simulated controller and nodes stay.

        Returns once the mock has seen its serial client go: it takes one client at a time, like a serial port,
        so a server started again before that would be turned away."""
        if self._server is not None and self.server_running:
            mark = self._line_count
            await self._server.kill(signal.SIGKILL)
            await self.wait_for_line(r"mock\| Client disconnected", 10.0, after=mark, process=self._mock)

    async def stop(self) -> None:
        """Ends both processes and the control connection; safe to call twice."""
        if self._control is not None:
            self._control[1].close()
            self._control = None
        for proc in (self._server, self._mock):
            if proc is not None:
                await proc.kill(signal.SIGTERM, grace=3.0)

    # -- output ------------------------------------------------------------------------------------------------

    def _add_line(self, line: str) -> None:
        self.output.append(line)
        self._line_count += 1
        self._new_line.set()

    @property
    def line_count(self) -> int:
        """Lines ever written; pass it as ``after`` to wait only for lines that come later."""
        return self._line_count

    async def wait_for_line(
        self, pattern: str | re.Pattern[str], timeout: float = 30.0, after: int = 0, process: _Proc | None = None
    ) -> str:
        """Waits for an output line (prefixed "mock| " or "server| ") matching ``pattern`` among the lines numbered
        ``after`` and later that are still in the buffer; returns it. Raises RuntimeError (with the recent output)
        at once if ``process`` exits first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            first = self._line_count - len(self.output)
            for index, line in enumerate(self.output, start=first):
                if index >= after and regex.search(line):
                    return line
            if process is not None and process.reader.done():
                tail = "\n".join(list(self.output)[-40:])
                raise RuntimeError(f"{process.name} exited before printing {regex.pattern!r}; last lines:\n{tail}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = "\n".join(list(self.output)[-40:])
                raise TimeoutError(f"no output line matching {regex.pattern!r} within {timeout} s; last lines:\n{tail}")
            self._new_line.clear()
            try:
                await asyncio.wait_for(self._new_line.wait(), remaining)
            except TimeoutError:
                pass

    # -- control channel ---------------------------------------------------------------------------------------

    async def control(self, op: str, **args: Any) -> Any:
        """One request to mock.mjs; raises RuntimeError with the mock's error text on failure."""
        if self._control is None:
            raise RuntimeError("the mock is not running")
        reader, writer = self._control
        async with self._control_lock:  # one request at a time keeps answers in order
            request = {"id": next(self._ids), "op": op, **args}
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 15)
        if not line:
            raise RuntimeError("the mock closed the control connection")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise RuntimeError(f"mock {op} failed: {answer.get('error')}")
        return answer.get("result")

    async def report(self, node_id: int, kind: str, value: Any = None, *, endpoint: int = 0, **fields: Any) -> None:
        """Makes a node send an unsolicited report, as after a local change. ``kind`` and its fields:
        binary_switch(value: bool), multilevel_switch(value: 0-99), multilevel_sensor(value, sensor_type=1 air
        temperature, scale=0 °C), binary_sensor(value: bool, sensor_type=255 any), notification(type, event,
        event_parameters=hex), meter(value, meter_type=1 electric, scale=0 kWh / 2 W, rate_type=1),
        battery(value: %), door_lock(value: 0 unsecured / 255 secured). ``endpoint`` > 0 wraps it in Multi Channel."""
        await self.control("report", node=node_id, kind=kind, value=value, endpoint=endpoint, **fields)

    async def set_dead(self, node_id: int, dead: bool = True) -> None:
        """A dead node neither ACKs nor answers (zwave-js marks it dead once a command fails); dead=False revives."""
        await self.control("dead", node=node_id, dead=dead)

    async def wake(self, node_id: int) -> None:
        """A sleeping node wakes (Wake Up Notification) and answers until the driver sends No More Information."""
        await self.control("wake", node=node_id)

    async def sleep(self, node_id: int) -> None:
        """Puts a node to sleep at once (stops answering), without waiting for No More Information."""
        await self.control("sleep", node=node_id)

    async def received(self, node_id: int) -> dict[str, Any]:
        """What the mock node got: {"state": mock state (e.g. "BinarySwitch_currentValue", "MultilevelSwitch_
        currentValue", "DoorLock_currentMode"), "received": [{"cc", "ccId", "command", "endpoint", "args", "at"}, ...]
        (the last 500 commands, after Multi Channel unwrapping), "dead", "asleep"}."""
        result: dict[str, Any] = await self.control("received", node=node_id)
        return result

    async def clear_received(self, node_id: int) -> None:
        await self.control("clear", node=node_id)
