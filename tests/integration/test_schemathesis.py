"""Schemathesis over the live /openapi.json: no input the schema allows may crash the gateway.

Every documented operation gets a bounded number of generated requests (admin token, TLS verification
off) and two checks: no 5xx (``not_a_server_error``) and the response conforms to the documented schema
(``response_schema_conformance``).

The gateway is a dedicated one, in its own data folder: fuzzing renames devices, creates and deletes
places, zones and action groups, cancels executions and deletes history.

Nothing is excluded: ``DELETE /exec/current*`` only cancels this gateway's own executions, so it cannot
make another test flaky, and the WebSocket route (``/events/ws``) is not in /openapi.json at all
(it is covered by hand in test_auth_scopes.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.support.process import HearthProcess

MAX_EXAMPLES = 25

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture(scope="module")
def fuzzed_hearth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthProcess]:
    proc = HearthProcess(tmp_path_factory.mktemp("hearth-fuzz"), env={
        # Thousands of requests from one token and address: rate limits and the ban are not under test here.
        "HEARTH_API__BAN_AFTER_FAILURES": "1000000",
        "HEARTH_API__RATE_EXEC_PER_S": "100000", "HEARTH_API__RATE_EXEC_BURST": "100000",
        "HEARTH_API__RATE_BULK_PER_S": "100000", "HEARTH_API__RATE_BULK_BURST": "100000",
        "HEARTH_API__RATE_POLLING_PER_S": "100000", "HEARTH_API__RATE_POLLING_BURST": "100000",
    }).start()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
def api_schema(fuzzed_hearth: HearthProcess) -> Any:
    assert fuzzed_hearth.first_token
    schema = schemathesis.openapi.from_url(f"{fuzzed_hearth.root_url}/openapi.json", verify=False, timeout=10)
    schema.config.update(base_url=fuzzed_hearth.root_url, tls_verify=False, request_timeout=15,
                         headers={"Authorization": f"Bearer {fuzzed_hearth.first_token}"})
    schema.config.generation.update(max_examples=MAX_EXAMPLES)
    return schema


# Not ``schemathesis.pytest.from_fixture(...)`` + ``@schema.parametrize()``: with pytest 9 its lazy loader
# dies on ``request.node._nodeid`` (AttributeError, schemathesis/pytest/lazy.py:212), and the schema is only
# known once the gateway runs. So each operation's Hypothesis strategy is run by hand, failures collected.
def test_api(fuzzed_hearth: HearthProcess, api_schema: Any) -> None:
    failures: list[str] = []
    operations = 0
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = (operation.as_strategy(GenerationMode.POSITIVE)
                    | operation.as_strategy(GenerationMode.NEGATIVE))

        @given(case=strategy)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, print_blob=False,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(verify=False, timeout=15,
                                              checks=[not_a_server_error, response_schema_conformance])
            statuses[response.status_code] += 1

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - every operation is tried, then all failures reported
            failures.append(f"=== {operation.label}\n{exc}")
    print(f"{operations} operations, responses by status: {dict(sorted(statuses.items()))}")
    assert operations > 50
    # The admin token went with every request: nothing was refused for authentication or scope, and
    # the fuzzing got past validation often enough to matter.
    assert statuses[401] == statuses[403] == 0, statuses
    assert sum(n for status, n in statuses.items() if status < 300) > operations, statuses
    assert not failures, f"{len(failures)} operation(s) failed:\n" + "\n".join(failures)

def test_gateway_survived_the_fuzzing(fuzzed_hearth: HearthProcess) -> None:
    """Runs after test_api: the process is still up, and logged no traceback (a crash in a background task
    would not show as a 5xx)."""
    assert fuzzed_hearth.proc is not None and fuzzed_hearth.proc.poll() is None, "".join(fuzzed_hearth.output)
    errors = [line for line in fuzzed_hearth.output if "Traceback" in line or " ERROR " in line]
    assert not errors, "the gateway logged errors while fuzzed:\n" + "".join(fuzzed_hearth.output[-80:])
