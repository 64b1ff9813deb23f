"""Reading zigpy's devices: the clusters a function uses, their cached attributes, the status of their answers."""

from __future__ import annotations

import contextlib
from typing import Any

from zigpy.zcl import foundation

from hearth.sdk import CommandFailed, FailureType
from hearth_zigbee.mapping import Function

# Attributes a function's states are worked out from beside the one reported (colour mode and capabilities,
# the window covering's type and mode), read from zigpy's cache.
CONTEXT_ATTRIBUTES = (0x0301, 0x0302, 0x0604, 0x0605)


def clusters_of(function: Function) -> list[tuple[int, int]]:
    """(endpoint, cluster) of every cluster a function reads or commands."""
    return [(function.endpoint, c) for c in function.clusters] + list(function.extra)


def cluster_of(device: Any, endpoint: int, cluster: int) -> Any:
    """The server cluster of a device's endpoint, or None."""
    ep = device.endpoints.get(endpoint)
    if ep is None or not hasattr(ep, "in_clusters"):
        return None
    return ep.in_clusters.get(cluster)


def cached(cluster: Any, attr: int) -> Any:
    """The attribute's value in zigpy's cache, or None."""
    try:
        return cluster.get(attr)
    except Exception:
        return None


def cache_of(device: Any, endpoint: int) -> dict[tuple[int, int], Any]:
    """The cached context attributes of one endpoint, by (cluster, attribute)."""
    out: dict[tuple[int, int], Any] = {}
    ep = device.endpoints.get(endpoint)
    if ep is None or not hasattr(ep, "in_clusters"):
        return out
    for cid, cluster in ep.in_clusters.items():
        for attr in CONTEXT_ATTRIBUTES:
            value = cached(cluster, attr)
            if value is not None:
                out[(cid, attr)] = value
    return out


def status_name(status: Any) -> str:
    return getattr(status, "name", None) or str(status)


def check_answer(result: Any, label: str) -> None:
    """A ZCL answer that is not SUCCESS fails the command, naming the status."""
    statuses: list[Any] = []
    if isinstance(result, list | tuple):
        for item in result:
            if isinstance(item, list):  # write attributes: [WriteAttributesStatusRecord]
                statuses.extend(getattr(r, "status", None) for r in item)
            elif hasattr(item, "status"):
                statuses.append(item.status)
    elif hasattr(result, "status"):
        statuses.append(result.status)
    for status in statuses:
        if status is None or status == foundation.Status.SUCCESS:
            continue
        if isinstance(status, int) and not isinstance(status, foundation.Status):
            with contextlib.suppress(ValueError):
                status = foundation.Status(status)  # type: ignore[no-untyped-call]  # zigpy's enum: untyped __call__
        raise CommandFailed(FailureType.ERRORCOMMAND, f"{label}: ZCL status {status_name(status)}")
