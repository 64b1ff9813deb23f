"""Cold start, resident memory and S6 REST: a real gateway process, as ``hearth run`` starts it.

The gateway runs as a child process through ``tests.support.process.HearthProcess`` (``python -m hearth
run`` on ``config/demo.toml``: the demo house plus ``HEARTH_DRIVERS__VIRTUAL__GENERATED_DEVICES=1000``, so
1034 devices; its own temp data folder, HTTPS on a free port of 127.0.0.1). It is started once to populate
the store, stopped, then started COLD_STARTS more times.

- Cold start (S7): from just before the exec of ``hearth run`` to the first ``GET /health`` answered 200
  over HTTPS, with the 1034 devices already in SQLite; median of the starts. Baseline: the same clock for
  ``tests/bench/bare_app.py``, a bare interpreter that imports fastapi, uvicorn, aiosqlite and pydantic and
  serves a trivial app with uvicorn over the same certificate. The difference is Hearth's own start work.
- Memory (S8, the short form): VmRSS from /proc/<pid>/status of the last gateway after start and IDLE_S of
  idle. Baseline: VmRSS of a bare interpreter that only imports the same four libraries and sleeps. The
  difference is Hearth's code, catalogue, 1034 devices and their states. (No 1 h soak here.) After the S6
  load: VmRSS at once, and SETTLE_S later (target < 80 MB), once the gateway's periodic ``malloc_trim`` has
  handed back what the 50 connections' buffers left free in the heap.
- S6 REST: 50 keep-alive HTTP/1.1 TLS connections, each on ``GET /setup/devices/{deviceURL}/states`` (50
  devices), then separately on ``POST /exec/apply`` (one ``on`` command on a light or plug), for S6_SECONDS
  each, closed loop (saturation) and paced (a request every PACE_S per connection: 200 req/s). The load
  generator is wrk when the machine has it (``tests/bench/wrk_load.py``; ``make bench`` installs Debian's
  package), else 50 ``httpx.AsyncClient`` in this process, which take most of a core themselves (the bare
  app's POST p99 was 15-32 ms under them, 2-3 ms under wrk). Baseline: ``bare_app`` (one trivial GET route and
  one POST route that reads a JSON body) in a subprocess over the same TLS, under the same generator. The exec
  rate limit (50/s per token by default) is raised for this run through HEARTH_API__RATE_EXEC_*, otherwise 50
  clients on one token would measure 429s; any non-2xx answer is counted and reported.

With a closed loop, latency ~= 50 / throughput (Little's law), so only the paced p99 has a target.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.bench import wrk_load
from tests.bench.common import REPO, Results, Row, median, percentile, rss_mb
from tests.support.process import HearthProcess

GENERATED = 1000
COLD_STARTS = 3
IDLE_S = 3.0
SETTLE_S = 12.0  # after the S6 load: longer than the gateway's memory trim interval (10 s)
CLIENTS = 50
PACE_S = 0.25  # paced load: 50 clients x 4 req/s (the load generator, in Python, stays off the critical path)
ENV = {
    "HEARTH_DRIVERS__VIRTUAL__GENERATED_DEVICES": str(GENERATED),
    "HEARTH_API__RATE_EXEC_PER_S": "1000000",
    "HEARTH_API__RATE_EXEC_BURST": "1000000",
    "HEARTH_LOG__LEVEL": "WARNING",
}


def _wait_health(url: str, timeout: float = 30.0) -> float:
    """Poll GET url until 200; returns the perf_counter of the 200."""
    deadline = time.perf_counter() + timeout
    with httpx.Client(verify=False, timeout=2.0) as client:
        while time.perf_counter() < deadline:
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter()
            except httpx.HTTPError:
                pass
            time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


class BareServer:
    """``tests.bench.bare_app`` in a child process."""

    def __init__(self, cert: Path | None = None, key: Path | None = None, idle: bool = False) -> None:
        args = [sys.executable, "-m", "tests.bench.bare_app"]
        if idle:
            args.append("--idle")
        elif cert is not None and key is not None:
            args += ["--cert", str(cert), "--key", str(key)]
        self.proc = subprocess.Popen(
            args,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.port = 0
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.startswith("PORT "):
            self.port = int(line.split()[1])
        elif not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"bare_app did not start: {line}{self.proc.stdout.read()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _cpu_s(pid: int) -> float:
    """user + system CPU seconds of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(
    requests: list[wrk_load.Request],
    headers: dict[str, str],
    seconds: float,
    server_pid: int,
    interval_s: float | None = None,
) -> dict[str, float]:
    """One client per entry of ``requests`` (method, url, json body) for ``seconds``: a closed loop (next
    request as soon as the answer comes: saturation), or, with ``interval_s``, one request per interval
    per client (open loop: the latency 50 clients see at a given rate)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]

    async def client_loop(
        method: str, url: str, body: dict | None, start_at: asyncio.Event, stop_at: list[float]
    ) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(verify=False, timeout=10.0, limits=limits, headers=headers) as client:
            for _ in range(3):  # connect, TLS handshake, warm-up
                await client.request(method, url, json=body)
            await start_at.wait()
            clock = time.perf_counter
            next_at = clock() + (random.uniform(0, interval_s) if interval_s else 0.0)
            while clock() < stop_at[0]:
                if interval_s:
                    await asyncio.sleep(max(0.0, next_at - clock()))
                    next_at += interval_s
                t0 = clock()
                try:
                    response = await client.request(method, url, json=body)
                except httpx.HTTPError:
                    errors[0] += 1
                    continue
                latencies.append((clock() - t0) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    start_at = asyncio.Event()
    stop_at = [float("inf")]
    tasks = [asyncio.create_task(client_loop(m, u, b, start_at, stop_at)) for m, u, b in requests]
    await asyncio.sleep(1.0)  # every client connected and warmed up
    t_start = time.perf_counter()
    server0, client0 = _cpu_s(server_pid), time.process_time()
    stop_at[0] = t_start + seconds
    start_at.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t_start
    server_cpu, client_cpu = _cpu_s(server_pid) - server0, time.process_time() - client0
    bad = sum(n for code, n in statuses.items() if not 200 <= code < 300) + errors[0]
    out = {
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "bad": bad,
        "n": len(latencies),
        "codes": dict(statuses),  # type: ignore[dict-item]
        "client_pct": 100 * client_cpu / elapsed,
    }
    return _with_server_cpu(out, server_cpu, elapsed)


def _with_server_cpu(out: dict[str, float], server_cpu: float, elapsed: float) -> dict[str, float]:
    """The server's CPU during a load beside its figures: per request timed, and as a share of a core."""
    out["server_us"] = 1e6 * server_cpu / max(1, out["n"])
    out["server_pct"] = 100 * server_cpu / elapsed
    return out


def _measure(
    requests: list[wrk_load.Request],
    headers: dict[str, str],
    seconds: float,
    server_pid: int,
    interval_s: float | None = None,
) -> dict[str, float]:
    """One S6 load: through wrk when the machine has it (see wrk_load), else the Python clients of ``_load``."""
    if not wrk_load.available():
        return asyncio.run(_load(requests, headers, seconds, server_pid, interval_s))
    server0, started = _cpu_s(server_pid), time.perf_counter()
    out = wrk_load.run(requests, headers, seconds, len(requests), interval_s)
    elapsed = time.perf_counter() - started
    out["client_pct"] = float("nan")  # wrk's own CPU is not read (a separate process, a few % of a core)
    return _with_server_cpu(out, _cpu_s(server_pid) - server0, elapsed)


def _rest(results: Results, gateway: HearthProcess, token: str, cert: Path, key: Path, seconds: float) -> None:
    gid = gateway.gateway_id
    actuators = [1000 + i for i in range(GENERATED) if i % 4 in (1, 3)][:CLIENTS]  # dimmable lights, plugs
    get_reqs = [
        ("GET", f"{gateway.base_url}/setup/devices/{quote(f'virtual://{gid}/{a}', safe='')}/states", None)
        for a in actuators
    ]
    post_reqs = [
        (
            "POST",
            f"{gateway.base_url}/exec/apply",
            {
                "label": "bench",
                "actions": [{"deviceURL": f"virtual://{gid}/{a}", "commands": [{"name": "on", "parameters": []}]}],
            },
        )
        for a in actuators
    ]
    auth = {"Authorization": f"Bearer {token}"}
    assert gateway.proc is not None
    pid = gateway.proc.pid
    g_get = _measure(get_reqs, auth, seconds, pid)
    g_post = _measure(post_reqs, auth, seconds, pid)
    g_get_paced = _measure(get_reqs, auth, seconds, pid, PACE_S)
    g_post_paced = _measure(post_reqs, auth, seconds, pid, PACE_S)
    bare = BareServer(cert, key)
    try:
        root = f"https://127.0.0.1:{bare.port}"
        bare_pid = bare.proc.pid
        bare_get = [("GET", f"{root}/states", None)] * CLIENTS
        bare_post = [("POST", f"{root}/apply", post_reqs[0][2])] * CLIENTS
        b_get = _measure(bare_get, {}, seconds, bare_pid)
        b_post = _measure(bare_post, {}, seconds, bare_pid)
        b_get_paced = _measure(bare_get, {}, seconds, bare_pid, PACE_S)
        b_post_paced = _measure(bare_post, {}, seconds, bare_pid, PACE_S)
    finally:
        bare.stop()
    rate = CLIENTS / PACE_S
    for label, g, b in (("GET states", g_get_paced, b_get_paced), ("POST exec/apply", g_post_paced, b_post_paced)):
        if g["bad"] or b["bad"]:
            results.errors.append(f"S6 {label} paced: hearth answered {g['codes']}, bare app {b['codes']}")
        results.add(
            Row("S6 REST", f"{label}, 50 clients at {rate:.0f} req/s: p50", g["p50"], "ms", "", None, b["p50"]),
            Row("S6 REST", f"{label}, 50 clients at {rate:.0f} req/s: p99", g["p99"], "ms", "<", 10.0, b["p99"]),
        )
    for label, g, b in (("GET states", g_get, b_get), ("POST exec/apply", g_post, b_post)):
        if g["bad"] or b["bad"]:
            results.errors.append(
                f"S6 {label}: hearth answered {g['codes']} ({g['bad']} non-2xx/errors), bare app {b['codes']}"
            )
        results.add(
            Row("S6 REST", f"{label}, 50 clients saturating: req/s", g["rps"], "req/s", "", None, b["rps"]),
            Row("S6 REST", f"{label}, 50 clients saturating: p50", g["p50"], "ms", "", None, b["p50"]),
            Row("S6 REST", f"{label}, 50 clients saturating: p99", g["p99"], "ms", "", None, b["p99"]),
            Row("S6 REST", f"{label}: server CPU per request", g["server_us"], "us", "", None, b["server_us"]),
        )
        generator = (
            "wrk"
            if wrk_load.available()
            else f"load generator at {g['client_pct']:.0f} % (bare run {b['client_pct']:.0f} %)"
        )
        results.note(
            f"S6 {label}: server process at {g['server_pct']:.0f} % of a core (bare app "
            f"{b['server_pct']:.0f} %), {generator}; {g['n']} requests timed."
        )
    results.note(
        f"S6: paced = each client sends one request every {PACE_S:g} s ({rate:.0f} req/s in all), the "
        "latency 50 clients see; saturating = closed loop, where latency is only clients / throughput, so "
        "its p99 is reported without a target."
    )
    generator = (
        f"wrk (2 threads, {CLIENTS} keep-alive TLS connections; paced: a random 50-150 % of the interval "
        "before each request)"
        if wrk_load.available()
        else f"{CLIENTS} httpx clients in the bench process (no wrk on this machine: apt install wrk)"
    )
    results.note(
        f"S6: {seconds:g} s per load, {generator}, sharing the {os.cpu_count()} cores with the server under "
        "test; exec rate limit raised for the run."
    )


def run(results: Results) -> None:
    seconds = float(os.environ.get("BENCH_S6_SECONDS", "5"))
    data = Path(tempfile.mkdtemp(prefix="hearth-bench-proc-"))
    gateway = HearthProcess(data / "data", env=ENV)
    try:
        gateway.start(timeout=120)  # first start: makes 1034 devices, the certificate and the first token
        token = gateway.first_token
        _wait_health(f"{gateway.root_url}/health")
        time.sleep(1.0)
        gateway.stop(timeout=30)
        if not token:
            raise RuntimeError("the first start printed no admin token")
        cert, key = data / "data" / "tls" / "cert.pem", data / "data" / "tls" / "key.pem"

        starts = []
        for i in range(COLD_STARTS):
            t0 = time.perf_counter()
            # Not the harness's whole-banner wait (it waits a grace second after the banner's last line).
            gateway.start(timeout=60, whole_banner=False)
            starts.append(_wait_health(f"{gateway.root_url}/health") - t0)
            if i < COLD_STARTS - 1:
                gateway.stop(timeout=30)
        time.sleep(IDLE_S)
        assert gateway.proc is not None
        rss, _ = rss_mb(gateway.proc.pid)

        bare_starts = []
        for _ in range(COLD_STARTS):
            t0 = time.perf_counter()
            bare = BareServer(cert, key)
            try:
                bare_starts.append(_wait_health(f"https://127.0.0.1:{bare.port}/health") - t0)
            finally:
                bare.stop()
        idle = BareServer(idle=True)
        try:
            time.sleep(1.0)
            bare_rss, _ = rss_mb(idle.proc.pid)
        finally:
            idle.stop()

        results.add(
            Row(
                "Cold start",
                f"exec -> /health 200, median of {COLD_STARTS}",
                median(starts),
                "s",
                "<",
                2.0,
                median(bare_starts),
            ),
            Row("Memory", f"VmRSS idle {IDLE_S:g} s, {GENERATED + 34} devices", rss, "MB", "<", 80.0, bare_rss),
        )
        results.note(
            f"Cold start runs (s): {', '.join(f'{s:.2f}' for s in starts)}; bare app: "
            f"{', '.join(f'{s:.2f}' for s in bare_starts)}."
        )

        _rest(results, gateway, token, cert, key, seconds)
        rss_after, hwm = rss_mb(gateway.proc.pid)
        # The gateway hands freed heap back to the system every 10 s (hearth.ops.memory): what stays is in use.
        time.sleep(SETTLE_S)
        rss_settled, _ = rss_mb(gateway.proc.pid)
        results.add(
            Row("Memory", "VmRSS right after the S6 load", rss_after, "MB", "", None, None),
            Row(
                "Memory",
                f"VmRSS {SETTLE_S:g} s after the S6 load, {GENERATED + 34} devices",
                rss_settled,
                "MB",
                "<",
                80.0,
                bare_rss,
            ),
            Row("Memory", "VmHWM (peak) after the S6 load", hwm, "MB", "", None, None),
        )
    finally:
        gateway.kill()
        shutil.rmtree(data, ignore_errors=True)
    logged = [line.strip() for line in gateway.output if " ERROR " in line or "Traceback" in line]
    if logged:
        results.note(f"The gateway process logged {len(logged)} ERROR lines in its last run; first: {logged[0][:200]}")
