"""The End-User API of seed 003, operation by operation, against a running gateway on the demo house.

Every non-deprecated ``METHOD Title /path`` of the sections a gateway serves is called with a well-formed
request (real ids of the demo house: tests/conformance/requests.py); an operation is served when a route
answers it (not 405, not the no-route 404). Each documented field of the seed's example answer is then looked
for in ours, with its JSON type. The coverage is printed per section at the end of the run; what is left out
on purpose is in left_out.py with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conformance import left_out, shapes, sweep
from tests.conformance.seed_operations import GATEWAY_SECTIONS, gateway_operations, parse
from tests.support.process import HearthProcess

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

RESULTS: list[sweep.OperationResult] = []  # read by the summary in tests/conftest.py


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[sweep.OperationResult]]:
    proc = HearthProcess(
        tmp_path_factory.mktemp("hearth-conformance"),
        env={
            "HEARTH_DRIVERS__VIRTUAL__TRAVEL_TIME_S": "120",  # an execution still running when it is looked at
            "HEARTH_API__BAN_AFTER_FAILURES": "1000000",
            "HEARTH_API__RATE_EXEC_PER_S": "100000",
            "HEARTH_API__RATE_EXEC_BURST": "100000",
            "HEARTH_API__RATE_BULK_PER_S": "100000",
            "HEARTH_API__RATE_BULK_BURST": "100000",
            "HEARTH_API__RATE_POLLING_PER_S": "100000",
            "HEARTH_API__RATE_POLLING_BURST": "100000",
        },
    ).start()
    try:
        assert proc.first_token
        with httpx.Client(
            base_url=proc.base_url, verify=False, timeout=30, headers={"Authorization": f"Bearer {proc.first_token}"}
        ) as client:
            ids = sweep.gather_ids(client, proc.gateway_id)
            RESULTS[:] = sweep.run(client, gateway_operations(), ids)
        yield RESULTS
    finally:
        proc.kill()


def test_the_seed_is_read_whole() -> None:
    everything = parse()
    assert len(everything) == 495, "every METHOD line of the seed is an operation"
    assert all(op.section for op in everything), "every operation is under a section heading"
    ours = gateway_operations()
    assert {op.section for op in ours} == set(GATEWAY_SECTIONS)
    assert len(ours) == 246 and not any(op.deprecated for op in ours)


def test_the_checker_catches_what_it_must() -> None:
    """On the seed's own example of a gateway: a field left out, one of another type, one null, are caught."""
    [op] = [op for op in gateway_operations() if op.key == "GET /setup/gateways/{gatewayId}"]
    example = op.response_body
    assert {f.status for f in shapes.check(example, example)} == {shapes.PRESENT}
    answer = json.loads(json.dumps(example))
    del answer["connectivity"]["problems"]
    answer["alive"], answer["placeOID"] = "yes", None
    answer["partners"] = []
    found = {f.path: f.status for f in shapes.check(example, answer)}
    assert found["connectivity.problems"] == shapes.MISSING
    assert found["alive"] == found["placeOID"] == shapes.WRONG_TYPE
    assert found["partners[].status"] == shapes.UNVERIFIED and found["partners"] == shapes.PRESENT


def _covers(entry: tuple[str, str], key: str, path: str) -> bool:
    """A left-out entry covers a field of an operation: the same operation (or "*"), and the entry's path is the
    field's path, one of its parents, or a tail of one of them (``metadata`` covers ``rootPlace.metadata``)."""
    op, field = entry
    if op not in (key, "*"):
        return False
    heads = [path] + [path[:i] for i, c in enumerate(path) if c in ".[{"]
    return any(head == field or head.endswith("." + field) or head.endswith("]" + field) for head in heads if head)


def _left_out(key: str, path: str) -> bool:
    return any(_covers(entry, key, path) for entry in left_out.FIELDS_LEFT_OUT)


def test_served_operations_do_not_regress(results: list[sweep.OperationResult]) -> None:
    served = {r.op.key for r in results if r.served}
    lost = sorted(left_out.MUST_SERVE - served)
    assert not lost, f"operations no longer served: {lost}"


def test_coverage_does_not_fall(results: list[sweep.OperationResult]) -> None:
    total = sweep.coverage(results)[""]
    operations, fields = total.percent()
    assert operations >= left_out.MIN_OPERATIONS_PERCENT, sweep.report(results)
    assert fields >= left_out.MIN_FIELDS_PERCENT, sweep.report(results)


def test_served_answers_have_every_documented_field_with_its_type(results: list[sweep.OperationResult]) -> None:
    wrong = []
    for result in results:
        for found in result.fields:
            if found.status in sweep.FAILING and not _left_out(result.op.key, found.path):
                parent_also = any(
                    found.path.startswith(other.path + ".") or found.path.startswith(other.path + "[]")
                    for other in result.fields
                    if other.status in sweep.FAILING
                )
                if not parent_also:
                    wrong.append(
                        f"{result.op.key} {found.path}: {found.status} (documented {found.documented}"
                        f"{', ours ' + found.seen if found.seen else ''})"
                    )
    assert not wrong, f"{len(wrong)} documented fields missing or mistyped:\n" + "\n".join(wrong)


def test_what_is_left_out_is_true(results: list[sweep.OperationResult]) -> None:
    """Each entry names a documented operation or field, and it is still not served or not answered."""
    by_key = {r.op.key: r for r in results}
    stale = []
    for key in left_out.OPERATIONS_LEFT_OUT:
        if key not in by_key:
            stale.append(f"{key}: not an operation of the seed's gateway sections")
        elif by_key[key].served:
            stale.append(f"{key}: served now")
    for entry in left_out.FIELDS_LEFT_OUT:
        key, path = entry
        if key != "*" and key not in by_key:
            stale.append(f"{key}: not an operation of the seed's gateway sections")
            continue
        covered = [found for result in results for found in result.fields if _covers(entry, result.op.key, found.path)]
        if not any(found.status in sweep.FAILING for found in covered):
            stale.append(
                f"{key} {path}: "
                + (
                    "answered with its documented type now"
                    if covered
                    else "covers no documented field that was checked"
                )
            )
    assert not stale, "left_out.py says what is no longer true:\n" + "\n".join(stale)
