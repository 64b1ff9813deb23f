"""Schemathesis over the live /openapi.json: no input the schema allows may crash the gateway.

Every documented operation gets a bounded number of generated requests (admin token, TLS verification
off) and two checks: no 5xx (``not_a_server_error``) and the response conforms to the documented schema
(``response_schema_conformance``). Requests are drawn from three strategies: schemathesis' positive and
negative data, and positive data whose path ids are real (a deviceURL of the demo house, a place, a zone,
an action group...), since purely random ids mostly end in 404 before reaching any interesting code.

The gateway is a dedicated one, in its own data folder: fuzzing renames and relocates devices, creates and
deletes places, zones, action and condition groups, cancels executions and deletes history.

Nothing is excluded: ``DELETE /exec/current*`` only cancels this gateway's own executions, so it cannot
make another test flaky, and the WebSocket route (``/events/ws``) is not in /openapi.json at all (it is
covered by hand in test_auth_scopes.py). Token ids are the one thing never fed in as real values: deleting
the admin token under the fuzzer would turn the rest of the run into 401s.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.support.process import HearthProcess

# ~110 operations x 20 examples stays around two minutes.
MAX_EXAMPLES = 20

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
def admin(fuzzed_hearth: HearthProcess) -> Iterator[httpx.Client]:
    assert fuzzed_hearth.first_token
    with httpx.Client(base_url=fuzzed_hearth.base_url, verify=False, timeout=15,
                      headers={"Authorization": f"Bearer {fuzzed_hearth.first_token}"}) as client:
        # Something to find behind each kind of id: an action group, a zone, a scheduled run, an execution.
        action = {"deviceURL": fuzzed_hearth.device_url("3"), "commands": [{"name": "on"}]}
        group = client.post("/actionGroups", json={"label": "fuzz seed", "actions": [action]})
        assert group.status_code == 201, group.text
        oid = group.json()["actionGroupOID"]
        zone = client.post("/setup/zones", json={"label": "fuzz zone", "items": [
            {"itemType": "device", "deviceURL": fuzzed_hearth.device_url("3")}]})
        assert zone.status_code == 201, zone.text
        for path in (f"/exec/{oid}", "/exec/apply"):
            assert client.post(path, json={"label": "seed", "actions": [action]}).status_code == 200
        condition = client.post("/conditionGroups", json={"label": "fuzz seed", "conditions": [
            {"device": {"deviceURL": fuzzed_hearth.device_url("3"), "stateName": "core:OnOffState",
                        "operator": "EQUALS", "value": "on"}}]})
        assert condition.status_code == 201, condition.text
        scheduled = client.post(f"/exec/schedule/{oid}/{int(time.time() * 1000) + 3_600_000}")
        assert scheduled.status_code == 200, scheduled.text
        yield client


@pytest.fixture(scope="module")
def api_schema(fuzzed_hearth: HearthProcess) -> Any:
    assert fuzzed_hearth.first_token
    schema = schemathesis.openapi.from_url(f"{fuzzed_hearth.root_url}/openapi.json", verify=False, timeout=10)
    schema.config.update(base_url=fuzzed_hearth.root_url, tls_verify=False, request_timeout=15,
                         headers={"Authorization": f"Bearer {fuzzed_hearth.first_token}"})
    schema.config.generation.update(max_examples=MAX_EXAMPLES)
    return schema


def live_ids(proc: HearthProcess, admin: httpx.Client) -> dict[str, list[str]]:
    """Real values for path parameters, read again before each operation (fuzzing adds and removes them)."""
    def get(path: str) -> Any:
        response = admin.get(path)
        return response.json() if response.status_code == 200 else []

    places: list[str] = []
    stack = [get("/setup/places")]
    while stack:
        place = stack.pop()
        if isinstance(place, dict) and place.get("oid"):
            places.append(place["oid"])
            stack.extend(place.get("subPlaces", []))
    groups = [g["oid"] for g in get("/actionGroups") if g.get("oid")]
    conditions = [g["oid"] for g in get("/conditionGroups") if g.get("oid")]
    executions = [e["id"] for e in get("/history/executions") if e.get("id")]
    executions += [e["id"] for e in get("/exec/current") if e.get("id")]
    listener = admin.post("/events/register").json()["id"]
    return {
        "gateway_id": [proc.gateway_id],
        "device_url": [d["deviceURL"] for d in get("/setup/devices")],
        "place_oid": places, "parent_oid": places,
        "zone_oid": [z["oid"] for z in get("/setup/zones")],
        "oid": groups + conditions, "action_group_oid": groups,
        "exec_id": executions,
        "trigger_id": [r["triggerId"] for r in get("/exec/schedule") if r.get("triggerId")],
        "listener_id": [listener],
        "trigger_type": ["genericCommandSchedulingTrigger", "discreteTrigger", "ifThenSetupTrigger", "eventTrigger"],
    }


def real_ids_strategy(operation: Any, ids: dict[str, list[str]]) -> Any:
    names = [p.name for p in operation.path_parameters if ids.get(p.name)]
    if not names:
        return None
    drawn = st.fixed_dictionaries({name: st.sampled_from(ids[name]) for name in names})
    return drawn.flatmap(lambda values: operation.as_strategy(GenerationMode.POSITIVE, path_parameters=values))


# Not ``schemathesis.pytest.from_fixture(...)`` + ``@schema.parametrize()``: with pytest 9 its lazy loader
# dies on ``request.node._nodeid`` (AttributeError, schemathesis/pytest/lazy.py:212), and the schema is only
# known once the gateway runs. So each operation's Hypothesis strategy is run by hand, failures collected.
def test_api(fuzzed_hearth: HearthProcess, admin: httpx.Client, api_schema: Any) -> None:
    failures: list[str] = []
    operations = 0
    statuses: Counter[int] = Counter()
    # No shared keep-alive session: after an unhandled error uvicorn drops the connection, and the next
    # request on it would fail in place of the one that caused it.
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = (operation.as_strategy(GenerationMode.POSITIVE)
                    | operation.as_strategy(GenerationMode.NEGATIVE))
        with_ids = real_ids_strategy(operation, live_ids(fuzzed_hearth, admin))
        if with_ids is not None:
            strategy = strategy | with_ids

        @given(case=strategy)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, print_blob=False,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(verify=False, timeout=15,
                                              checks=[not_a_server_error, response_schema_conformance])
            statuses[response.status_code] += 1

        try:
            run()
        # schemathesis' FailureGroup is a BaseExceptionGroup, not an Exception.
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - try every operation, then report all
            failures.append(f"=== {operation.label}\n{exc}")
    print(f"{operations} operations, responses by status: {dict(sorted(statuses.items()))}")
    assert operations > 50
    assert not failures, f"{len(failures)} operation(s) failed:\n" + "\n".join(failures)
    # The admin token went with every request: nothing was refused for authentication or scope, and
    # the fuzzing got past validation often enough to matter.
    assert statuses[401] == statuses[403] == 0, statuses
    assert sum(n for status, n in statuses.items() if status < 300) > operations, statuses


def _is_integer(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(v.get("type") == "integer" for v in schema.get("anyOf", []))


def test_out_of_range_integers_are_refused_not_crashed(fuzzed_hearth: HearthProcess, admin: httpx.Client) -> None:
    """Deterministic companion of the fuzzing: every integer parameter (path or query) of every operation,
    far beyond 64 bits and far below, must get a 4xx, never a 5xx (SQLite and datetime overflow there)."""
    spec = admin.get(f"{fuzzed_hearth.root_url}/openapi.json").json()
    ids = live_ids(fuzzed_hearth, admin)
    crashed = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = op.get("parameters", [])
            integers = [p for p in params if _is_integer(p.get("schema", {}))]
            for param in integers:
                for huge in (2**70, -(2**70)):
                    values: dict[str, object] = {p["name"]: (ids.get(p["name"]) or ["x"])[0]
                                                 for p in params if p["in"] == "path"}
                    query: dict[str, int] = {}
                    if param["in"] == "path":
                        values[param["name"]] = huge
                    else:
                        query[param["name"]] = huge
                    url = path.format(**{k: quote(str(v), safe="") for k, v in values.items()})
                    # A connection of its own: after an unhandled error uvicorn drops the connection, and a
                    # keep-alive client would see the *next* request fail instead of this one's 500.
                    response = httpx.request(method.upper(), f"{fuzzed_hearth.root_url}{url}", params=query,
                                             json={} if "requestBody" in op else None, verify=False, timeout=15,
                                             headers=dict(admin.headers))
                    if response.status_code >= 500:
                        crashed.append(f"{method.upper()} {url} {query} -> {response.status_code} {response.text}")
    assert not crashed, "\n".join(crashed)


def test_gateway_survived_the_fuzzing(fuzzed_hearth: HearthProcess) -> None:
    """Runs after test_api: the process is still up, and logged no traceback (a crash in a background task
    would not show as a 5xx)."""
    assert fuzzed_hearth.proc is not None and fuzzed_hearth.proc.poll() is None, "".join(fuzzed_hearth.output)
    errors = [line for line in fuzzed_hearth.output if "Traceback" in line or " ERROR " in line]
    assert not errors, "the gateway logged errors while fuzzed:\n" + "".join(fuzzed_hearth.output[-80:])
