"""``python -m tests.bench [SCENARIO ...] [--json FILE] [--strict]``: run the benchmarks, print one table.

Scenarios (default: all, in this order): s1 (bus fan-out), s1ha (the bus side by side with Home Assistant's,
in its Python 3.13 venv: tests/bench/ha_bus.py says how it is found or installed), s9 (persistence),
s2 (state pipeline), s4 (action-group dispatch), s3 (condition groups), s5 (trigger to actuation),
zigbee (overhead per command), fleet (200 gateways' cloud sync), fleet_restart (200 gateways through a broker
restart, with and without jitter), s10 (the MQTT bridge), proc (cold start, memory and S6 REST on a real
gateway process), history (S11: state history at 10M points: queries, write cost, size, commands during start
and retention). Each row has its figure, its target, a baseline measured in the same run and the ratio to
it, and a verdict: "met", "MISSED" or "info" (a figure with no target). Environment: BENCH_S2_SECONDS (default 10),
BENCH_S6_SECONDS (default 5), BENCH_S10_SECONDS (default 5), BENCH_HISTORY_ROWS (default 10000000).

Exit status: 1 if a scenario crashed or a check of its own data failed (lost events, missing rows); with
``--strict`` also 2 if a target was missed; else 0.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
import traceback

from tests.bench.common import Results, format_table, machine_line

SCENARIOS = {
    "s1": "tests.bench.s1_bus",
    "s1ha": "tests.bench.ha_bus",
    "s9": "tests.bench.s9_persistence",
    "s2": "tests.bench.s2_pipeline",
    "s3": "tests.bench.s3_conditions",
    "s4": "tests.bench.s4_dispatch",
    "s5": "tests.bench.s5_trigger",
    "zigbee": "tests.bench.zigbee_overhead",
    "fleet": "tests.bench.fleet",
    "fleet_restart": "tests.bench.fleet_restart",
    "s10": "tests.bench.s10_bridge",
    "proc": "tests.bench.process_bench",
    "history": "tests.bench.s11_history",
}


class LogTally(logging.Handler):
    """Keeps Hearth's warnings and errors of the in-process gateways out of the table, but counted."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[tuple[str, str], int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        key = (record.levelname, f"{record.name}: {message[:160]}")
        self.counts[key] = self.counts.get(key, 0) + 1


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=f"any of {', '.join(SCENARIOS)} (default: all)"
    )
    parser.add_argument("--json", help="also write the rows as JSON to this file")
    parser.add_argument("--strict", action="store_true", help="exit 2 if a target is missed")
    args = parser.parse_args(argv)
    chosen = args.scenarios or list(SCENARIOS)
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")

    results = Results()
    tally = LogTally()
    hearth_log = logging.getLogger("hearth")
    hearth_log.addHandler(tally)
    hearth_log.propagate = False
    print(f"Hearth benchmarks on {machine_line()}; load average {_load()}", flush=True)
    began = time.perf_counter()
    timings = []
    for name in chosen:
        print(f"  running {name} ...", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(SCENARIOS[name]).run(results)
        except Exception:
            results.errors.append(f"{name} crashed:\n{traceback.format_exc()}")
        timings.append(f"{name} {time.perf_counter() - started:.1f} s")
    total = time.perf_counter() - began

    print()
    print(format_table(results.rows))
    print()
    print("Ratio = figure / baseline (same run). Rates: higher is better; times and sizes: lower is better.")
    for note in results.notes:
        print(f"- {note}")
    print(
        f"- Durations: {', '.join(timings)}; total {total:.0f} s. Not pinned to a core (no taskset); "
        f"load average at the end {_load()} (other work on the machine inflates latencies and lowers rates)."
    )
    for (level, message), count in sorted(tally.counts.items(), key=lambda kv: -kv[1]):
        print(f"- In-process gateways logged {count}x {level}: {message}")
    missed = [r for r in results.rows if r.verdict.startswith("MISSED")]
    print(
        f"- Targets: {sum(r.verdict == 'met' for r in results.rows)} met, {len(missed)} missed"
        + (": " + "; ".join(f"{r.scenario} {r.figure}" for r in missed) if missed else ".")
    )
    if results.errors:
        print("\nERRORS (the figures above may not be trustworthy):")
        for error in results.errors:
            print(f"- {error}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "machine": machine_line(),
                    "rows": [
                        {
                            "scenario": r.scenario,
                            "figure": r.figure,
                            "value": r.value,
                            "unit": r.unit,
                            "op": r.op,
                            "target": r.target,
                            "baseline": r.baseline,
                            "ratio": r.ratio,
                            "verdict": r.verdict,
                        }
                        for r in results.rows
                    ],
                    "notes": results.notes,
                    "errors": results.errors,
                },
                f,
                indent=2,
            )
    if results.errors:
        return 1
    if args.strict and missed:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
