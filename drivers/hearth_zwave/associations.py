"""Association groups: which nodes a node tells directly (a switch its lights), read from and written to the
zwave-js server's controller.
"""

from __future__ import annotations

from typing import Any

from zwave_js_server.exceptions import BaseZwaveJSServerError, FailedZWaveCommand, NotFoundError
from zwave_js_server.model.association import AssociationAddress

from hearth.sdk import AssociationGroup, AssociationGroups, CommandFailed, FailureType, describe_error
from hearth_zwave.connection import ServerConnection
from hearth_zwave.nodes import Nodes


class Associations:
    def __init__(self, connection: ServerConnection, nodes: Nodes) -> None:
        self.connection = connection
        self.nodes = nodes

    async def groups(self, node_id: int) -> AssociationGroups:
        """``{"maxAssociationGroup", "associationGroups": [{"maxNode", "groupId", "nodeList"}]}`` (End-User API)."""
        node = self.nodes.node(node_id)
        controller = self.connection.require().controller
        source = AssociationAddress(node_id=node.node_id)
        try:
            groups = await controller.async_get_association_groups(source)
            members = await controller.async_get_associations(source)
        except FailedZWaveCommand as exc:
            # ZW0302: the node has no Association command class.
            failure = FailureType.CMDUNKNOWN if exc.zwave_error_code == 302 else FailureType.ERROR_WHILE_EXECUTING
            raise CommandFailed(failure, exc.zwave_error_message) from None
        except (BaseZwaveJSServerError, NotFoundError) as exc:
            raise CommandFailed(FailureType.PEER_DOWN, f"zwave-js server: {describe_error(exc)}") from None
        listed: list[AssociationGroup] = [
            {
                "maxNode": group.max_nodes,
                "groupId": group_id,
                "nodeList": sorted(a.node_id for a in members.get(group_id, [])),
            }
            for group_id, group in sorted(groups.items())
        ]
        return {"maxAssociationGroup": max(groups, default=0), "associationGroups": listed}

    async def set(self, node_id: int, group_id: int, wanted: Any) -> None:
        """The group's members made ``wanted`` (node ids): those missing added, those not wanted removed."""
        if not isinstance(wanted, list) or not all(isinstance(n, int) for n in wanted):
            raise CommandFailed(FailureType.BAD_PARAM, "the group's nodes must be a list of node ids")
        node = self.nodes.node(node_id)
        controller = self.connection.require().controller
        source = AssociationAddress(node_id=node.node_id)
        current = {a.node_id for a in (await controller.async_get_associations(source)).get(group_id, [])}
        gone = [AssociationAddress(node_id=n) for n in sorted(current - set(wanted))]
        new = [AssociationAddress(node_id=n) for n in sorted(set(wanted) - current)]
        if gone:
            await controller.async_remove_associations(source, group_id, gone, wait_for_result=True)
        if new:
            await controller.async_add_associations(source, group_id, new, wait_for_result=True)
