"""What a driver can do beyond ``Driver``, for the API's own routes (and the operations view): one Protocol per
capability, and the JSON shapes they exchange.

A driver declares a capability by subclassing its Protocol (so mypy checks the signatures where the driver is
written); the API finds it with ``isinstance`` (the Protocols are ``runtime_checkable``), so nothing typed ``Any``
sits between a route and a driver. A driver without the capability gets the route's "not supported" answer.
Radio procedures (form, join, leave, include, exclude...) are not here: they are commands of the protocol's stack
device, run as executions through ``Driver.execute`` like any other command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeAlias, TypedDict, runtime_checkable

from hearth.model.device_url import DeviceURL

# A value of a JSON document, as json.loads gives it.
JsonValue: TypeAlias = "str | int | float | bool | None | list[JsonValue] | dict[str, JsonValue]"
# A JSON object whose content the API passes through as it is (a radio's network backup).
JsonObject: TypeAlias = dict[str, JsonValue]


class AssociationGroup(TypedDict):
    """One association group of a node, in the End-User API's shape (``GET .../groups/{groupId}``)."""

    maxNode: int
    groupId: int
    nodeList: list[int]


class AssociationGroups(TypedDict):
    """A node's association groups, in the End-User API's shape (``GET .../association/nodes/{nodeId}/groups``)."""

    maxAssociationGroup: int
    associationGroups: list[AssociationGroup]


@runtime_checkable
class AssociationCapable(Protocol):
    """A radio whose nodes have association groups (Z-Wave)."""

    async def association_groups(self, node_id: int) -> AssociationGroups:
        """The node's groups as it last reported them.

        CommandFailed: ACTUATORUNKNOWN for an unknown node, CMDUNKNOWN if the node has no associations, another
        failure if the radio is not reachable."""
        ...


@runtime_checkable
class NetworkBackupCapable(Protocol):
    """A radio whose network (keys, devices, coordinator state) can be saved and written back (Zigbee)."""

    async def backup(self) -> JsonObject:
        """The network as a JSON object; it holds the network key. CommandFailed if the radio is not up."""
        ...

    async def restore(self, data: Mapping[str, JsonValue]) -> None:
        """Write a backup made by ``backup`` onto the radio in use.

        ValueError says why ``data`` is not a backup; CommandFailed if the radio could not take it."""
        ...


@runtime_checkable
class ChannelAllocating(Protocol):
    """A one-way radio whose created devices each take a channel of the gateway's own (RTS: a virtual remote)."""

    async def free_channel(self) -> int:
        """The channel the next created device will take. ValueError if none is left."""
        ...


@runtime_checkable
class HasStackDevice(Protocol):
    """A radio that is itself a device (its stack device): unavailable while the radio is away.

    The stack device runs the protocol's network procedures; the operations view reads its availability."""

    stack_url: DeviceURL
