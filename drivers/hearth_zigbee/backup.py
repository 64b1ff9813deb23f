"""Network backups: zigpy's backup of the coordinator (keys, devices, its state) kept in crash-safe storage, and a
backup written back onto the coordinator in use, so that new hardware takes over the same network.

A backup holds the network key: it is a secret, never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hearth.sdk import CommandFailed, DriverContext, FailureType, JsonObject, JsonValue
from hearth_zigbee.radio import Radio

KEY_BACKUP = "backup"


class NetworkBackups:
    def __init__(self, ctx: DriverContext, radio: Radio) -> None:
        self.ctx = ctx
        self.radio = radio
        self.log: logging.Logger = ctx.log

    async def backup(self) -> JsonObject:
        """The network in zigpy's backup format; the last one kept if the radio is away."""
        app = self.radio.app
        if not self.radio.up or app is None:
            stored = await self.ctx.storage.get(KEY_BACKUP)
            if isinstance(stored, dict):
                return stored
            raise CommandFailed(FailureType.SERIAL_IO_ERROR, "the Zigbee radio is not connected")
        backup = await app.backups.create_backup(load_devices=True)
        data: JsonObject = backup.as_dict()
        await self.ctx.storage.put(KEY_BACKUP, data)
        return data

    async def restore(self, data: Mapping[str, JsonValue]) -> None:
        """Write a backup (ours or another zigpy's) onto the coordinator in use: the same network on new hardware.

        ValueError if ``data`` is not a zigpy backup. The network we would form again becomes the backup's, and
        the radio restarts on it, as after a power cycle; the devices keep their addresses and need no re-pairing.
        """
        from zigpy.backups import NetworkBackup

        try:
            backup = NetworkBackup.from_dict(dict(data))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a zigpy network backup ({type(exc).__name__}: {exc})") from None
        app = self.radio.app
        if not self.radio.up or app is None:
            raise CommandFailed(FailureType.SERIAL_IO_ERROR, "the Zigbee radio is not connected")
        info = backup.network_info
        await self.radio.keep_network(
            {
                "key": bytes(info.network_key.key).hex(),
                "channel": int(info.channel),
                "pan_id": int(info.pan_id),
                "extended_pan_id": str(info.extended_pan_id),
            }
        )
        await app.backups.restore_backup(backup)
        await self.radio.restart(app)
        await self.ctx.storage.put(KEY_BACKUP, backup.as_dict())

    async def keep(self) -> None:
        """A backup taken now into storage, if the radio gives one (after each start)."""
        try:
            await self.backup()
        except Exception as exc:
            self.log.info("zigbee backup not taken: %s", type(exc).__name__)
