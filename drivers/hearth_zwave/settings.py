"""``[drivers.zwave]``: where the zwave-js server is (or which stick Hearth should run one on), and patience."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hearth.sdk.settings import parse_driver_settings


class ZWaveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The zwave-js server's WebSocket. With `port` set, Hearth runs the server itself and listens here.
    url: str = Field("ws://127.0.0.1:3000", pattern=r"^wss?://")
    # Set to the stick's serial port (/dev/serial/by-id/..., or tcp://host:port) to have Hearth start and
    # supervise zwave-js-server itself; leave unset when the server runs as its own service (deploy/).
    port: str | None = None
    # The zwave-server program (from the pinned npm install, see deploy/zwave/).
    server_command: str = "zwave-server"
    # Reconnecting to a lost server (and restarting a managed one): first wait, doubled up to the maximum.
    reconnect_min_s: float = Field(1, gt=0)
    reconnect_max_s: float = Field(60, gt=0)
    # Longest a command may wait for zwave-js's answer from an awake node.
    command_timeout_s: float = Field(30, gt=0)
    # Longest a command to a sleeping node waits for the node to wake up before the execution fails.
    wakeup_wait_s: float = Field(900, gt=0, le=3000)

    @model_validator(mode="after")
    def _managed_server_is_local(self) -> ZWaveSettings:
        if self.port is not None and not self.url.startswith("ws://127.0.0.1:"):
            raise ValueError("url: with port set, Hearth runs the server itself on ws://127.0.0.1:<port>")
        return self

    @property
    def ws_port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])


def parse_settings(config: Mapping[str, object]) -> ZWaveSettings:
    return parse_driver_settings(ZWaveSettings, config)
