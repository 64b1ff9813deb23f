"""The installed pyoverkiz, whichever release it is, behind the few calls the tests make.

The dev extra installs the newest pyoverkiz that runs on each supported Python: 1.20.6 on 3.11, 2.3.0 on 3.12+.
Their HTTP calls are the same End-User API; their Python API differs (read from each release's own code):

- 2.x takes ``credentials=LocalTokenCredentials(token)`` and ``create_local_server_config(host=...)``; 1.x takes
  ``username``, ``password``, ``token`` and ``generate_local_server(host=...)``.
- 2.x renamed the exceptions ``...Exception`` -> ``...Error`` (``BaseOverkizException`` -> ``BaseOverkizError``).
- 2.x has one ``execute_action_group(actions=[Action(...)])`` for 1.x's ``execute_command(s)``,
  ``cancel_execution`` for ``cancel_command``, ``get_action_groups`` / ``execute_persisted_action_group`` for
  ``get_scenarios`` / ``execute_scenario``; its models are keyword-only attrs classes.
- 2.x's ``login()`` returns None and its ``delete_local_token`` returns None (both raise on failure); 1.x returns
  True.
- 2.x's events are one class per event name (only execution events have ``exec_id``, only device events
  ``device_url``); its ``States`` and ``CommandDefinitions`` are mappings that iterate over names; a device's
  protocol, gateway and address are under ``device.identifier``; ``failed_commands`` keeps the API's keys
  (``deviceURL``) where 1.x snake-cases them (``device_url``).

Nothing here changes what is sent to Hearth or read from it: each function is the same request in either release.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from pyoverkiz.client import OverkizClient
from pyoverkiz.enums import Protocol
from pyoverkiz.models import Command, Device, Event, Location

PYOVERKIZ_VERSION = version("pyoverkiz")
PYOVERKIZ_2 = int(PYOVERKIZ_VERSION.split(".")[0]) >= 2

if PYOVERKIZ_2:
    from pyoverkiz.auth.credentials import LocalTokenCredentials
    from pyoverkiz.exceptions import BaseOverkizError as BaseOverkizError
    from pyoverkiz.exceptions import InvalidCommandError as InvalidCommandError
    from pyoverkiz.exceptions import NoSuchActionGroupError, NoSuchDeviceError, UnsupportedOperationError
    from pyoverkiz.exceptions import NotAuthenticatedError as NotAuthenticatedError
    from pyoverkiz.exceptions import OverkizError as OverkizError
    from pyoverkiz.models import Action
    from pyoverkiz.utils import create_local_server_config

    # pyoverkiz 2.x raises these for an errorCode alone (its response_handler._ERROR_CODE_MESSAGE_MAP), with the
    # message as the only argument; 1.x raises OverkizException({"errorCode": ..., "error": ...}) for them.
    _CODE_OF_ERROR: dict[type[BaseException], str] = {
        UnsupportedOperationError: "UNSUPPORTED_OPERATION",
        InvalidCommandError: "UNSUPPORTED_OPERATION",  # with "No such command" in the message
        NoSuchDeviceError: "NO_SUCH_DEVICE",
        NoSuchActionGroupError: "NO_SUCH_ACTION_GROUP",
    }
else:
    from pyoverkiz.exceptions import BaseOverkizException as BaseOverkizError  # type: ignore[no-redef]
    from pyoverkiz.exceptions import InvalidCommandException as InvalidCommandError  # type: ignore[no-redef]
    from pyoverkiz.exceptions import NotAuthenticatedException as NotAuthenticatedError  # type: ignore[no-redef]
    from pyoverkiz.exceptions import OverkizException as OverkizError  # type: ignore[no-redef]
    from pyoverkiz.utils import generate_local_server

__all__ = ["PYOVERKIZ_VERSION", "BaseOverkizError", "InvalidCommandError", "NotAuthenticatedError", "OverkizError"]


def make_client(host: str, token: str) -> OverkizClient:
    """A LOCAL-mode client on ``host`` ("address:port"). Call it inside a running loop (it opens its session)."""
    if PYOVERKIZ_2:
        return OverkizClient(
            server=create_local_server_config(host=host),
            credentials=LocalTokenCredentials(token=token),
            verify_ssl=False,
        )
    return OverkizClient(
        username="", password="", token=token, verify_ssl=False, server=generate_local_server(host=host)
    )


async def login(client: OverkizClient) -> None:
    """Local mode: POST events/register (the token is the session); either release raises if it fails."""
    result = await client.login()
    if not PYOVERKIZ_2:
        assert result is True


def command(name: str, parameters: list[Any] | None = None) -> Command:
    if PYOVERKIZ_2:
        return Command(name=name, parameters=parameters)
    return Command(name, parameters)


async def execute_commands(
    client: OverkizClient, device_url: str, commands: list[Command], label: str | None = None
) -> str:
    """POST exec/apply with one action on ``device_url``; returns the execId."""
    if PYOVERKIZ_2:
        return await client.execute_action_group(
            actions=[Action(device_url=device_url, commands=commands)], label=label
        )
    return await client.execute_commands(device_url, commands, label)  # type: ignore[attr-defined,no-any-return]


async def execute_command(client: OverkizClient, device_url: str, one: Command, label: str | None = None) -> str:
    return await execute_commands(client, device_url, [one], label)


async def cancel_execution(client: OverkizClient, exec_id: str) -> None:
    """DELETE exec/current/setup/{execId}."""
    if PYOVERKIZ_2:
        await client.cancel_execution(exec_id)
    else:
        await client.cancel_command(exec_id)  # type: ignore[attr-defined]


async def get_action_groups(client: OverkizClient) -> list[Any]:
    """GET actionGroups: 1.x's Scenario or 2.x's PersistedActionGroup (both: oid, label, creation_time, actions)."""
    if PYOVERKIZ_2:
        return list(await client.get_action_groups())
    return list(await client.get_scenarios())  # type: ignore[attr-defined]


async def execute_action_group(client: OverkizClient, oid: str) -> str:
    """POST exec/{oid}; returns the execId."""
    if PYOVERKIZ_2:
        return await client.execute_persisted_action_group(oid)
    return await client.execute_scenario(oid)  # type: ignore[attr-defined,no-any-return]


async def delete_local_token(client: OverkizClient, gateway_id: str, uuid: str) -> None:
    """DELETE config/{gatewayId}/local/tokens/{uuid}; either release raises if the gateway refuses."""
    result = await client.delete_local_token(gateway_id, uuid)
    if not PYOVERKIZ_2:
        assert result is True


def parse_location(location: dict[str, Any]) -> Location:
    """A /setup/location answer read as pyoverkiz reads the location of /setup (2.x: its cattrs converter)."""
    if PYOVERKIZ_2:
        from pyoverkiz.converter import converter

        return converter.structure(location, Location)
    import humps  # pyhumps: pyoverkiz 1.x's own dependency, which it decamelizes every answer with

    return Location(**humps.decamelize(location))


def exec_id(event: Event) -> str | None:
    """The execId of an execution event, None for any other event."""
    return getattr(event, "exec_id", None)


def device_url(event: Event) -> str | None:
    """The deviceURL of a device event, None for any other event."""
    return getattr(event, "device_url", None)


def failed_device_urls(event: Event) -> list[str]:
    """The deviceURLs of an ExecutionStateChangedEvent's failedCommands."""
    key = "deviceURL" if PYOVERKIZ_2 else "device_url"
    return [c[key] for c in getattr(event, "failed_commands", None) or []]


def command_parameters(definition_commands: Any) -> dict[str, int]:
    """A device definition's commands as {commandName: nparams}."""
    if PYOVERKIZ_2:
        return {name: c.nparams for name, c in definition_commands.items()}
    return {c.command_name: c.nparams for c in definition_commands}


def attributes(device: Device) -> dict[str, Any]:
    """A device's attributes as {name: value}."""
    if PYOVERKIZ_2:
        return {name: a.value for name, a in device.attributes.items()}
    return {a.name: a.value for a in device.attributes}


def identifier(device: Device) -> tuple[Protocol, str, str]:
    """(protocol, gatewayId, device address) that pyoverkiz parses out of the deviceURL."""
    if PYOVERKIZ_2:
        return device.identifier.protocol, device.identifier.gateway_id, device.identifier.device_address
    return device.protocol, device.gateway_id, device.device_address  # type: ignore[attr-defined]


def execution_device_urls(execution: Any) -> str:
    """The running execution's action group as text, for finding a deviceURL in it."""
    if PYOVERKIZ_2:
        group = execution.action_group
        return " ".join(a.device_url for a in (group.actions if group else []))
    return str(execution.action_group)


def refusal(error: BaseException) -> tuple[str | None, str]:
    """(errorCode, error) of the gateway's refusal as pyoverkiz reports it; errorCode None where it is lost."""
    payload = error.args[0] if error.args else None
    if isinstance(payload, dict):  # an errorCode pyoverkiz has no class for: the body itself
        return payload.get("errorCode"), str(payload.get("error"))
    if PYOVERKIZ_2:
        return _CODE_OF_ERROR.get(type(error)), str(error)
    return None, str(error)
