"""The soak: a real gateway process with a house of 1,000 devices under a steady load for an hour (by default).

``python -m tests.bench.soak [--duration-s 3600] [--window-s 600] [--devices 1000] [--clients 20]``
(``make soak``; ``SOAK_DURATION_S``, ``SOAK_WINDOW_S`` for the Makefile).

What runs, all real:
- ``hearth run`` (config/demo.toml: the demo house, plus generated virtual devices up to ``--devices``); the
  virtual sensors drift every ``--drift-s`` seconds (with 1,000 devices: tens of state changes a second, about
  what a house of that size reports);
- mosquitto, with the MQTT bridge on: a listener plays Home Assistant (counts the state messages it hears) and
  every 5 s sends a command on a light's ``<base>/<id>/command`` topic;
- a CUL (culfw) transmitter emulated behind a pty, with 4 Somfy RTS shutters: a command to one every 10 s;
- ``--clients`` REST clients (httpx, one keep-alive TLS connection each): each reads one device's states every
  second and turns a light or a plug on/off every 10 s (``POST /exec/apply``).
In the middle: at 45 % of the run the broker is stopped and started again (2 s away); at 55 % the CUL is
unplugged for 5 s and plugged back (the radio restarting).

Per window: the gateway's RSS (VmRSS) at its end and its peak (VmHWM), the event loop lag (the gateway's own
``hearth_event_loop_lag_seconds`` histogram, the window's share: the bucket that holds its p99, and its
mean), REST latency percentiles, MQTT state messages heard, commands sent. At the end "nothing lost" is
checked: every execution the clients were given an id for ends COMPLETED or FAILED (FAILED only with the
radio unplugged), no request went unanswered, the listener heard states again after the broker restart, and
the light the MQTT commands drive shows the last value sent. Exit status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.bench.common import percentile, rss_mb
from tests.peers.mosquitto import Mosquitto
from tests.peers.mqtt_listener import TopicListener
from tests.peers.rts import CulEmulator
from tests.support.process import HearthProcess

DEMO_DEVICES = 34  # the demo house (hearth_virtual.house) with its protocol gateways; generated ones come on top
RTS_SHUTTERS = 4


@dataclass
class Window:
    index: int
    get_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    errors: int = 0
    mqtt_states: int = 0
    mqtt_commands: int = 0
    rts_commands: int = 0
    rss_mb: float = 0.0
    hwm_mb: float = 0.0
    lag_p99_ms: float = float("nan")
    lag_mean_ms: float = float("nan")


class Soak:
    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args = args
        self.folder = folder
        self.started = 0.0
        self.windows: list[Window] = [Window(0)]
        self.exec_ids: dict[str, float] = {}  # execId -> when it was given (monotonic)
        self.failures_expected: list[tuple[float, float]] = []  # (from, to) monotonic: the radio unplugged
        self.last_mqtt_value: int | None = None
        self.broker_restarted_at: float | None = None
        self.states_after_broker_restart = 0
        self.stop = asyncio.Event()
        self.problems: list[str] = []

    @property
    def window(self) -> Window:
        return self.windows[-1]

    # ------------------------------------------------------------------ the peers and the gateway

    async def run(self) -> int:
        args = self.args
        self.broker = await Mosquitto(self.folder / "mqtt").start()
        (self.folder / "cul").mkdir()
        self.cul = await CulEmulator.start(self.folder / "cul", time_scale=0.1)
        env = {
            "HEARTH_DRIVERS__VIRTUAL__GENERATED_DEVICES": str(max(0, args.devices - DEMO_DEVICES)),
            "HEARTH_DRIVERS__VIRTUAL__DRIFT_INTERVAL_S": str(args.drift_s),
            "HEARTH_API__RATE_EXEC_PER_S": "1000000",
            "HEARTH_API__RATE_EXEC_BURST": "1000000",
            "HEARTH_LOG__LEVEL": "WARNING",
            "HEARTH_BRIDGE__ENABLED": "true",
            "HEARTH_BRIDGE__HOST": "127.0.0.1",
            "HEARTH_BRIDGE__PORT": str(self.broker.port),
            "HEARTH_BRIDGE__KEEPALIVE_S": "5",
            "HEARTH_BRIDGE__RECONNECT_MIN_S": "0.5",
            "HEARTH_BRIDGE__RECONNECT_MAX_S": "2",
            "HEARTH_BRIDGE__COMMANDS_PER_S": "100",
            "HEARTH_BRIDGE__COMMANDS_BURST": "100",
            **{
                f"HEARTH_DRIVERS__RTS__{k}": v
                for k, v in {
                    "ENABLED": "true",
                    "TRANSMITTER": "cul",
                    "PORT": self.cul.port_path,
                    "REPEATS": "2",
                    "GAP_S": "0.01",
                    "TRAVEL_DOWN_S": "2",
                    "TRAVEL_UP_S": "2",
                    "RECONNECT_MIN_S": "0.3",
                    "RECONNECT_MAX_S": "1",
                    "ANSWER_TIMEOUT_S": "2",
                }.items()
            },
        }
        self.proc = HearthProcess(self.folder / "data", env=env)
        self.proc.start(timeout=120)
        token = self.proc.first_token
        assert token
        self.headers = {"Authorization": f"Bearer {token}"}
        try:
            return await self._soak()
        finally:
            self.proc.kill()
            await self.cul.stop()
            await self.broker.stop()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.proc.base_url, verify=False, timeout=30, headers=self.headers)

    async def _soak(self) -> int:
        args = self.args
        async with self._client() as api:
            devices = (await api.get("/setup/devices")).json()
            for _ in range(100):  # the transmitter opens after the start
                if any("RTS transmitter" in line and "ready" in line for line in self.proc.output):
                    break
                await asyncio.sleep(0.1)
            gw = self.proc.gateway_id
            self.rts = []
            for i in range(RTS_SHUTTERS):
                channel = (await api.get(f"/config/{gw}/rts/channel")).json()["rtsChannelId"]
                created = await api.post(f"/config/{gw}/devices/{channel}/rts/1/{quote(f'Soak shutter {i}')}")
                assert created.status_code == 201, created.text
            devices = (await api.get("/setup/devices")).json()
        self.rts = [
            d["deviceURL"]
            for d in devices
            if d["deviceURL"].startswith("rts://")
            and d["controllableName"] != "rts:RTSGatewayComponent"
            and "Soak shutter" in d["label"]
        ]
        self.switches = [
            d["deviceURL"]
            for d in devices
            if d["deviceURL"].startswith("virtual://")
            and {c["commandName"] for c in d["definition"]["commands"]} >= {"on", "off"}
        ]
        dimmable = [
            d
            for d in devices
            if d["deviceURL"].startswith("virtual://")
            and "setIntensity" in {c["commandName"] for c in d["definition"]["commands"]}
        ]
        self.mqtt_light = dimmable[0]["deviceURL"]
        self.devices = [d["deviceURL"] for d in devices]
        print(
            f"soak: {len(self.devices)} devices ({len(self.switches)} switchable, {len(self.rts)} RTS), "
            f"{args.clients} REST clients, {args.duration_s:g} s in windows of {args.window_s:g} s; "
            f"load average {_load()}",
            flush=True,
        )
        from hearth.bridge.discovery import object_id

        self.mqtt_base = f"hearth/{self.proc.gateway_id}"
        self.mqtt_light_topic = f"{self.mqtt_base}/{object_id(self.proc.gateway_id, self.mqtt_light)}/command"
        listener = StateListener(self, self.broker.port, [f"{self.mqtt_base}/+/state"], "soak-home-assistant")
        await listener.start()

        self.started = time.monotonic()
        tasks = [asyncio.create_task(self._rest_client(i)) for i in range(args.clients)]
        tasks += [
            asyncio.create_task(self._mqtt_commander()),
            asyncio.create_task(self._rts_commander()),
            asyncio.create_task(self._sampler()),
            asyncio.create_task(self._incidents()),
        ]
        await asyncio.sleep(args.duration_s)
        self.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._close_window()
        await listener.stop()
        await self._check_nothing_lost()
        self._print()
        return 1 if self.problems else 0

    # ------------------------------------------------------------------ load

    async def _rest_client(self, number: int) -> None:
        rng = random.Random(number)
        mine = self.devices[number % len(self.devices)]
        async with self._client() as api:
            tick = 0
            await asyncio.sleep(rng.random())
            while not self.stop.is_set():
                began = time.perf_counter()
                try:
                    response = await api.get(f"/setup/devices/{quote(mine, safe='')}/states")
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                self._timed(self.window.get_ms, began, ok)
                tick += 1
                if tick % 10 == number % 10:
                    url = rng.choice(self.switches)
                    began = time.perf_counter()
                    try:
                        response = await api.post(
                            "/exec/apply",
                            json={
                                "label": f"soak {number}",
                                "actions": [{"deviceURL": url, "commands": [{"name": rng.choice(("on", "off"))}]}],
                            },
                        )
                        ok = response.status_code == 200
                        if ok:
                            self.exec_ids[response.json()["execId"]] = time.monotonic()
                    except httpx.HTTPError:
                        ok = False
                    self._timed(self.window.post_ms, began, ok)
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - began)))

    def _timed(self, into: list[float], began: float, ok: bool) -> None:
        if ok:
            into.append((time.perf_counter() - began) * 1000)
        else:
            self.window.errors += 1

    async def _mqtt_commander(self) -> None:
        value = 0
        while not self.stop.is_set():
            await asyncio.sleep(5)
            value = value % 100 + 1
            try:
                await self.listener_publish(json.dumps({"name": "setIntensity", "parameters": [value]}))
                self.last_mqtt_value = value
                self.window.mqtt_commands += 1
            except Exception:  # the broker is restarting: the next one goes
                pass

    async def listener_publish(self, payload: str) -> None:
        import aiomqtt

        async with aiomqtt.Client("127.0.0.1", self.broker.port, identifier="soak-commander") as client:
            await client.publish(self.mqtt_light_topic, payload, qos=1)

    async def _rts_commander(self) -> None:
        async with self._client() as api:
            step = 0
            while not self.stop.is_set():
                await asyncio.sleep(10)
                url = self.rts[step % len(self.rts)]
                step += 1
                try:
                    response = await api.post(
                        "/exec/apply",
                        json={
                            "label": "soak rts",
                            "actions": [{"deviceURL": url, "commands": [{"name": "open" if step % 2 else "close"}]}],
                        },
                    )
                    if response.status_code == 200:
                        self.exec_ids[response.json()["execId"]] = time.monotonic()
                        self.window.rts_commands += 1
                    else:
                        self.window.errors += 1
                except httpx.HTTPError:
                    self.window.errors += 1

    async def _incidents(self) -> None:
        duration = self.args.duration_s
        await asyncio.sleep(duration * 0.45)
        print(f"  {self._at()}: broker restart", flush=True)
        await self.broker.stop()
        await asyncio.sleep(2)
        await self.broker.start()
        self.broker_restarted_at = time.monotonic()
        await asyncio.sleep(max(0.0, duration * 0.10 - 2))
        print(f"  {self._at()}: radio unplugged for 5 s", flush=True)
        began = time.monotonic()
        self.cul.unplug()
        await asyncio.sleep(5)
        await self.cul.replug()
        # Commands given while it was away (and those in flight when it went) may fail, and say so.
        self.failures_expected.append((began - 15, time.monotonic() + 15))

    def _at(self) -> str:
        return f"t={time.monotonic() - self.started:.0f} s"

    # ------------------------------------------------------------------ measuring

    async def _sampler(self) -> None:
        async with self._client() as api:
            self._lag_before = await self._lag(api)
            next_window = self.started + self.args.window_s
            while not self.stop.is_set():
                try:
                    await asyncio.wait_for(self.stop.wait(), timeout=max(0.0, next_window - time.monotonic()))
                except TimeoutError:
                    pass
                if self.stop.is_set():
                    break
                await self._close_window(api)
                self.windows.append(Window(len(self.windows)))
                next_window += self.args.window_s

    async def _close_window(self, api: httpx.AsyncClient | None = None) -> None:
        window = self.window
        if window.rss_mb:
            return
        assert self.proc.proc is not None
        window.rss_mb, window.hwm_mb = rss_mb(self.proc.proc.pid)
        if api is None:
            async with self._client() as own:
                lag = await self._lag(own)
        else:
            lag = await self._lag(api)
        window.lag_p99_ms, window.lag_mean_ms = _lag_delta(self._lag_before, lag)
        self._lag_before = lag
        row = self._row(window)
        print("  " + row, flush=True)

    async def _lag(self, api: httpx.AsyncClient) -> dict[str, float]:
        root = self.proc.base_url.split("/enduser-mobile-web")[0]
        text = (await api.get(f"{root}/metrics")).text
        out: dict[str, float] = {}
        for line in text.splitlines():
            m = re.match(r'hearth_event_loop_lag_seconds_(bucket\{le="([^"]+)"\}|sum|count) (\S+)', line)
            if m:
                out[m.group(2) or m.group(1)] = float(m.group(3))
        return out

    def _row(self, w: Window) -> str:
        return (
            f"window {w.index + 1}: RSS {w.rss_mb:.1f} MB (peak {w.hwm_mb:.1f}), loop lag p99 <= "
            f"{w.lag_p99_ms:g} ms (mean {w.lag_mean_ms:.2f} ms), GET states p50 {_p(w.get_ms, 50)} p99 "
            f"{_p(w.get_ms, 99)} ms ({len(w.get_ms)}), POST exec/apply p50 {_p(w.post_ms, 50)} p99 "
            f"{_p(w.post_ms, 99)} ms ({len(w.post_ms)}), MQTT states heard {w.mqtt_states}, MQTT commands "
            f"{w.mqtt_commands}, RTS commands {w.rts_commands}, errors {w.errors}; load {_load()}"
        )

    # ------------------------------------------------------------------ nothing lost

    async def _check_nothing_lost(self) -> None:
        async with self._client() as api:
            unfinished: dict[str, float] = dict(self.exec_ids)
            failed: list[str] = []
            deadline = time.monotonic() + 60
            while unfinished and time.monotonic() < deadline:
                for exec_id, given in list(unfinished.items()):
                    response = await api.get(f"/history/executions/{exec_id}")
                    if response.status_code != 200:
                        continue
                    execution = response.json()["execution"]
                    if execution["state"] in ("COMPLETED", "FAILED"):
                        del unfinished[exec_id]
                        if execution["state"] == "FAILED" and not any(
                            a <= given <= b for a, b in self.failures_expected
                        ):
                            failed.append(f"{exec_id} {execution['failureType']}")
                if unfinished:
                    await asyncio.sleep(1)
            if unfinished:
                self.problems.append(f"{len(unfinished)} executions never finished (lost): {list(unfinished)[:3]}")
            if failed:
                self.problems.append(f"{len(failed)} executions failed with the radio plugged in: {failed[:3]}")
            if self.last_mqtt_value is not None:
                await asyncio.sleep(2)
                shown = (
                    (await api.get(f"/setup/devices/{quote(self.mqtt_light, safe='')}/states/core:LightIntensityState"))
                    .json()
                    .get("value")
                )
                if shown != self.last_mqtt_value:
                    self.problems.append(
                        f"the light driven over MQTT shows {shown}, the last command sent {self.last_mqtt_value}"
                    )
        if self.broker_restarted_at is not None and self.states_after_broker_restart == 0:
            self.problems.append("no MQTT state message after the broker restart")
        errors = sum(w.errors for w in self.windows)
        if errors:
            self.problems.append(f"{errors} REST requests failed or went unanswered")
        print(
            f"soak: {len(self.exec_ids)} executions checked, "
            f"{self.states_after_broker_restart} MQTT state messages after the broker restart",
            flush=True,
        )

    def _print(self) -> None:
        all_get = [x for w in self.windows for x in w.get_ms]
        all_post = [x for w in self.windows for x in w.post_ms]
        print(
            f"soak: whole run: GET p50 {_p(all_get, 50)} p99 {_p(all_get, 99)} ms, POST p50 {_p(all_post, 50)} "
            f"p99 {_p(all_post, 99)} ms, RSS {self.windows[0].rss_mb:.1f} -> {self.windows[-1].rss_mb:.1f} MB; "
            f"load average {_load()}"
        )
        print("soak: " + ("nothing lost" if not self.problems else "PROBLEMS: " + "; ".join(self.problems)))


class StateListener(TopicListener):
    def __init__(self, soak: Soak, port: int, topics: list[str], identifier: str) -> None:
        super().__init__(port, topics, identifier)
        self.soak = soak

    def record(self, topic: str, payload: bytes, retain: bool) -> None:
        soak = self.soak
        soak.window.mqtt_states += 1
        if soak.broker_restarted_at is not None:
            soak.states_after_broker_restart += 1


def _lag_delta(before: dict[str, float], after: dict[str, float]) -> tuple[float, float]:
    """(upper bound of the bucket holding the window's p99, mean), in ms, from two cumulative histograms."""
    count = after.get("count", 0) - before.get("count", 0)
    if count <= 0:
        return float("nan"), float("nan")
    mean = (after.get("sum", 0) - before.get("sum", 0)) / count * 1000
    bounds = sorted((float(k) if k != "+Inf" else float("inf"), k) for k in after if k not in ("sum", "count"))
    for bound, key in bounds:
        if after[key] - before.get(key, 0) >= 0.99 * count:
            return bound * 1000, mean
    return float("inf"), mean


def _p(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.1f}" if values else "-"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=float(os.environ.get("SOAK_DURATION_S", 3600)))
    parser.add_argument("--window-s", type=float, default=float(os.environ.get("SOAK_WINDOW_S", 600)))
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--drift-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hearth-soak-") as folder:
        return asyncio.run(Soak(args, Path(folder)).run())


if __name__ == "__main__":
    sys.exit(main())
