"""The driver contract: the only part of Hearth a driver imports.

A driver owns one protocol (the ``<protocol>`` of its deviceURLs). Hearth gives it a ``DriverContext`` to
declare devices, report what they say, keep crash-safe data and read its configuration; Hearth calls its
``execute`` for each command of an execution, never more at once than ``max_concurrency``.
"""

from hearth.core.backoff import Backoff
from hearth.core.tasks import cancel_and_wait
from hearth.model import events
from hearth.model.datatype import DataType
from hearth.model.definition import Controllable
from hearth.model.device_url import DeviceURL
from hearth.model.execution import FailureType
from hearth.sdk.capabilities import (
    AssociationCapable,
    AssociationGroup,
    AssociationGroups,
    ChannelAllocating,
    HasStackDevice,
    JsonObject,
    JsonValue,
    NetworkBackupCapable,
)
from hearth.sdk.describe import describe_error
from hearth.sdk.driver import (
    COMMISSIONING_CODES,
    CommandCall,
    CommandFailed,
    DeviceInfo,
    DeviceSpec,
    Driver,
    DriverContext,
    DriverStorage,
)
from hearth.sdk.link import LinkLog, LinkOwner, SupervisedLink, reconnect_backoff

__all__ = [
    "AssociationCapable",
    "AssociationGroup",
    "AssociationGroups",
    "Backoff",
    "COMMISSIONING_CODES",
    "ChannelAllocating",
    "CommandCall",
    "CommandFailed",
    "Controllable",
    "DataType",
    "DeviceInfo",
    "DeviceSpec",
    "DeviceURL",
    "Driver",
    "DriverContext",
    "DriverStorage",
    "FailureType",
    "HasStackDevice",
    "JsonObject",
    "JsonValue",
    "LinkLog",
    "LinkOwner",
    "NetworkBackupCapable",
    "SupervisedLink",
    "cancel_and_wait",
    "describe_error",
    "events",
    "reconnect_backoff",
]
