"""What a driver can do beyond ``Driver``, for the API's own routes: one Protocol per capability.

A driver declares a capability by subclassing its Protocol (so mypy checks the signatures where the driver is
written); the API finds it with ``isinstance`` (the Protocols are ``runtime_checkable``), so nothing typed ``Any``
sits between a route and a driver. A driver without the capability gets the route's "not supported" answer.
Radio procedures (form, join, leave, include, exclude...) are not here: they are commands of the protocol's stack
device, run as executions through ``Driver.execute`` like any other command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class AssociationCapable(Protocol):
    """A radio whose nodes have association groups (Z-Wave)."""

    async def association_groups(self, node_id: int) -> dict[str, Any]:
        """``{"associationGroups": [{"groupId", ...}]}`` as the node last reported them.

        CommandFailed: ACTUATORUNKNOWN for an unknown node, CMDUNKNOWN if the node has no associations, another
        failure if the radio is not reachable."""
        ...


@runtime_checkable
class NetworkBackupCapable(Protocol):
    """A radio whose network (keys, devices, coordinator state) can be saved and written back (Zigbee)."""

    async def backup(self) -> dict[str, Any]:
        """The network as a JSON object; it holds the network key. CommandFailed if the radio is not up."""
        ...

    async def restore(self, data: Mapping[str, Any]) -> None:
        """Write a backup made by ``backup`` onto the radio in use.

        ValueError says why ``data`` is not a backup; CommandFailed if the radio could not take it."""
        ...


@runtime_checkable
class ChannelAllocating(Protocol):
    """A one-way radio whose created devices each take a channel of the gateway's own (RTS: a virtual remote)."""

    async def free_channel(self) -> int:
        """The channel the next created device will take. ValueError if none is left."""
        ...
