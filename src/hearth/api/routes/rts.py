"""The seed's RTS operation beyond device_lifecycle.py (its channel): ``transferKey``, which copies the key of
an existing control point (a remote) by listening to it.

Our RTS transmitters (CUL, RFXtrx) are driven to send only: the gateway hears no remote, so it cannot learn a
control point's key. It pairs its own channels instead (``pair`` with the motor in programming mode, see the
README's Somfy RTS section). The operation checks its input, then says so.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.routes import procedures, state_refresh
from hearth.model.errors import ApiError

RTS_DEVICE_TYPES = (0, 1)  # the seed: 0 an up/down device, 1 a 4-time device


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    @router.get(
        "/config/{gateway_id}/rts/transferKey/{channel}/{device_type}",
        summary="Copy the key of an RTS control point (refused: our transmitters only send)",
    )
    async def transfer_key(gateway_id: str, channel: int, device_type: int, _: Caller = guard.admin()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        if channel < 0 or device_type not in RTS_DEVICE_TYPES:
            raise ApiError.bad_request(
                "channel is a channel number, type 0 (up/down) or 1 (4-time)", "INVALID_FIELD_VALUE"
            )
        state_refresh.running_protocol(gw, "rts")
        raise ApiError.unsupported(
            "The RTS transmitter only sends: it cannot hear a control point's key; pair "
            "the gateway's own channel instead"
        )

    return router
