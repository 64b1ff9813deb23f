"""Prints the conformance figures at the end of a run that swept the API."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.conformance import sweep
    from tests.conformance.test_enduser_conformance import RESULTS

    if RESULTS:
        terminalreporter.write_sep("=", "End-User API conformance")
        terminalreporter.write_line(sweep.report(RESULTS))


def pytest_sessionfinish(session: Any) -> None:
    import json
    import os

    from tests.conformance.test_enduser_conformance import RESULTS

    target = os.environ.get("HEARTH_CONFORMANCE_DUMP")
    if RESULTS and target:  # the served set, for updating left_out.MUST_SERVE by hand
        with open(target, "w", encoding="utf-8") as out:
            json.dump(sorted(r.op.key for r in RESULTS if r.served), out, indent=0)
