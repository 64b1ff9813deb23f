"""``[drivers.rts]``: the transmitter, how frames go on air, and the motors' default travel times."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from hearth.sdk.settings import parse_driver_settings


class RtsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # cul: CUL / nanoCUL with culfw (we keep each remote's key and rolling code);
    # rfxtrx: RFXtrx433E / XL (the stick keeps the rolling codes, up to 40 remotes).
    transmitter: str = Field("cul", pattern="^(cul|rfxtrx)$")
    port: str = Field("/dev/ttyACM0", min_length=1)
    baudrate: int = Field(38400, gt=0)
    # How many times culfw sends each frame (its Yr setting; culfw's own default is 6). The RFXtrx decides itself.
    repeats: int = Field(6, ge=1, le=20)
    # Air time of one frame and the silence kept after a command (RTS: ~112 ms + ~30 ms per frame).
    frame_s: float = Field(0.14, gt=0, le=1)
    gap_s: float = Field(0.03, ge=0, le=2)
    # Longest the stick may take to answer (handshake, RFXtrx acknowledgements).
    answer_timeout_s: float = Field(3, gt=0)
    reconnect_min_s: float = Field(1, gt=0)
    reconnect_max_s: float = Field(60, gt=0)
    # Defaults for new devices (each device can have its own): full travel down and up, the "my" position
    # (as a closure, 0 open .. 100 closed), and the time a venetian blind takes to turn its slats fully.
    travel_down_s: float = Field(20, gt=0, le=300)
    travel_up_s: float = Field(22, gt=0, le=300)
    my_closure: int = Field(50, ge=0, le=100)
    tilt_s: float = Field(1.5, gt=0, le=30)
    # How often a moving device's assumed position is reported.
    position_report_s: float = Field(1.0, gt=0)


def parse_settings(config: Mapping[str, object]) -> RtsSettings:
    return parse_driver_settings(RtsSettings, config)
