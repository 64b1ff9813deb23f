"""S6's load through wrk (C, epoll), the generator the spec names, when the machine has it (Debian: ``wrk``).

Why: the Python load generator (50 httpx clients in one process) takes most of a core of the two, so its own
scheduling is in every latency it reports: the bare FastAPI app, which does nothing, showed a POST p99 of 15-32
ms under it. wrk's two threads spend a few per cent of a core on the same load.

One run = ``wrk -t2 -c<connections> -d<seconds>s -s <script>`` with a Lua script made here: each request is the
next of the given (method, url, JSON body) list, round robin from a per-thread offset, with the given headers.
Paced (``interval_s``): each connection waits a random 50 %-150 % of the interval before each request (mean:
the interval), so 50 connections at 0.25 s make about 200 req/s in all without sending in step; the latency
wrk reports is from the request's write to its answer, the wait not counted. Closed loop without it. wrk's
``done`` prints one line that is parsed here: requests, duration, p50/p99 and the error counts (non-2xx
answers are "status" errors).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LINE = re.compile(r"^WRK (.*)$", re.MULTILINE)
# One request of a load: method, URL, JSON body (None: no body).
Request = tuple[str, str, dict[str, Any] | None]

SCRIPT = """
local specs = {specs}
local headers = {headers}
local reqs = {{}}
offset = 0
-- setup runs in the main script, once per thread: the threads start at different requests.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("offset", {offset_step} * threads)
end

function init(args)
  for k, v in pairs(headers) do wrk.headers[k] = v end
  for i, s in ipairs(specs) do
    reqs[i] = wrk.format(s[1], s[2], nil, s[3])
  end
  counter = offset
end

function request()
  counter = counter + 1
  return reqs[(counter % #reqs) + 1]
end
{delay}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%d p99_us=%d status=%d connect=%d read=%d write=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for this text (no control chars)


def run(
    requests: list[Request],
    headers: dict[str, str],
    seconds: float,
    connections: int,
    interval_s: float | None = None,
) -> dict[str, float]:
    """Requests, p50 and p99 in ms, errors; the URLs must share one scheme, host and port."""
    first = urlsplit(requests[0][1])
    base = f"{first.scheme}://{first.netloc}"
    specs = []
    for method, url, body in requests:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        payload = json.dumps(body) if body is not None else ""
        specs.append(f"{{{_lua_string(method)}, {_lua_string(path)}, {_lua_string(payload) if payload else 'nil'}}}")
    all_headers = {**headers}
    if any(body is not None for _, _, body in requests):
        all_headers["Content-Type"] = "application/json"
    delay = ""
    if interval_s:
        ms = interval_s * 1000
        delay = f"function delay()\n  return math.random({int(ms * 0.5)}, {int(ms * 1.5)})\nend\n"
    script = SCRIPT.format(
        specs="{" + ", ".join(specs) + "}",
        headers="{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in all_headers.items()) + "}",
        offset_step=max(1, len(requests) // 2),
        delay=delay,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = Path(f.name)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(path),
                base + "/",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        path.unlink(missing_ok=True)
    found = LINE.search(out.stdout)
    if found is None:
        raise RuntimeError(f"wrk printed no result (rc {out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    fields = {k: int(v) for k, v in (pair.split("=") for pair in found.group(1).split())}
    errors = fields["connect"] + fields["read"] + fields["write"] + fields["timeout"]
    return {
        "n": fields["requests"],
        "rps": fields["requests"] / (fields["duration_us"] / 1e6),
        "p50": fields["p50_us"] / 1000,
        "p99": fields["p99_us"] / 1000,
        "bad": fields["status"] + errors,
        "codes": {"non-2xx": fields["status"], "socket errors": errors},  # type: ignore[dict-item]
        "seconds": fields["duration_us"] / 1e6,
    }
