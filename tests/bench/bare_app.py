"""The baseline server of the process benchmarks: a trivial FastAPI app on uvicorn, nothing of Hearth.

It imports the same libraries the gateway serves with (fastapi, uvicorn, aiosqlite, pydantic), serves
over the same TLS certificate on 127.0.0.1 with the same uvicorn options as ``hearth.api.server``
(h11, no access log, no lifespan), and prints ``PORT <n>`` once it accepts connections. Routes:
``GET /health`` and ``GET /states`` return a small JSON body; ``POST /apply`` reads a JSON body and answers
``{"execId": ...}``, with no validation, no auth, no database.

``python -m tests.bench.bare_app [--cert FILE --key FILE] [--idle]``; ``--idle`` only imports and sleeps
(the memory baseline), printing ``READY``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
import uuid

import aiosqlite  # noqa: F401  (imported for its weight: the gateway imports it too)
import fastapi
import pydantic  # noqa: F401
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse


def build() -> fastapi.FastAPI:
    app = fastapi.FastAPI()
    states = [
        {"name": "core:OnOffState", "type": 3, "value": "on"},
        {"name": "core:LightIntensityState", "type": 1, "value": 42},
        {"name": "core:StatusState", "type": 3, "value": "available"},
    ]

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/states")
    async def get_states() -> JSONResponse:
        return JSONResponse(states)

    @app.post("/apply")
    async def apply(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse({"execId": str(uuid.uuid4())})

    return app


async def serve(cert: str | None, key: str | None) -> None:
    ssl = {"ssl_certfile": cert, "ssl_keyfile": key} if cert and key else {}
    config = uvicorn.Config(
        build(), log_config=None, access_log=False, lifespan="off", server_header=False, proxy_headers=False, **ssl
    )  # type: ignore[arg-type]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            return
        await asyncio.sleep(0.01)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await task


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--idle", action="store_true")
    args = parser.parse_args()
    if args.idle:
        print("READY", flush=True)
        time.sleep(600)
        return
    asyncio.run(serve(args.cert, args.key))


if __name__ == "__main__":
    sys.exit(main())
