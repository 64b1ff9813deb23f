"""``hearth run | token | check-config | doctor | backup | restore``."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hearth import __version__
from hearth.config import LOG_LEVELS, ConfigError, Settings, load_settings
from hearth.net import lan_address

if TYPE_CHECKING:
    from hearth.store.tokens import TokenInfo, TokenStore

_T = TypeVar("_T")

DEFAULT_CONFIG = Path("config/demo.toml")


def _config_path(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    env = os.environ.get("HEARTH_CONFIG")
    if env:
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(_config_path(args.config))


# ----------------------------------------------------------------------------- run


async def _run(settings: Settings) -> int:
    from hearth.app import build
    from hearth.backup.commands import prepare_data_folder
    from hearth.log import setup_logging
    from hearth.systemd import Notifier, WriterProgress

    setup_logging(settings.log.level, settings.log.format)
    # Before anything opens the data folder: own it (one gateway per folder), apply a restore staged by the API.
    data_lock = prepare_data_folder(settings)
    gateway = build(settings)
    api = gateway.api
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Under systemd (Type=notify, WatchdogSec=): pinged from this loop from now on, while the writer progresses.
    notifier = Notifier.from_environment()
    notifier.start_watchdog(WriterProgress(gateway.writer, notifier.watchdog_s or 0.0))
    try:
        report = await gateway.start()
    except Exception as exc:
        await gateway.stop()
        print(f"hearth: cannot start: {exc}", file=sys.stderr)
        notifier.status(f"cannot start: {exc}")
        return 2
    # What start made lives as long as the process: keep it out of the collector's full passes, which
    # otherwise stall the loop for tens of ms with a few thousand devices.
    gc.freeze()
    scheme = "https" if settings.api.tls else "http"
    host = lan_address() if settings.api.host in ("0.0.0.0", "::") else settings.api.host
    port = api.port if api is not None else settings.api.port
    drivers = ", ".join(report.drivers) or "none"
    banner = [
        f'Hearth {__version__} "{settings.gateway.name}": gateway {report.gateway_id} started in '
        f"{report.start_seconds:.2f} s: {report.devices} devices, drivers: {drivers}"
    ]
    if api is not None:
        banner.append(f"  End-User API: {scheme}://{host}:{port}/enduser-mobile-web/1/enduserAPI/")
        banner.append(f"  Web page:     {scheme}://{host}:{port}/")
    banner.append(f"  Data:         {settings.data_dir()}")
    if report.first_admin_token:
        banner.append("  First admin token (shown once; keep it, or make another with `hearth token create`):")
        banner.append(f"  {report.first_admin_token}")
    # One write. Unbuffered (PYTHONUNBUFFERED, as under systemd or docker) print() writes a line and its newline
    # apart, and a log line of another thread (stderr, often the same pipe) landed between them: on the token's
    # line, which then read as "hth_...2026-12-08 00:59:19,243 DEBUG ...".
    sys.stdout.write("\n".join(banner) + "\n")
    sys.stdout.flush()
    notifier.ready(f"gateway {report.gateway_id}: {report.devices} devices, drivers: {drivers}, port {port}")
    await stop.wait()
    print("Hearth stopping", flush=True)
    notifier.stopping("stopping")
    await gateway.stop()
    data_lock.release()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.log_level:
        settings.log.level = args.log_level.upper()  # the command line wins over [log] level
    return asyncio.run(_run(settings))


# ----------------------------------------------------------------------------- token


def _local_time(ms: int | None) -> str:
    """Epoch ms as the box's local time, to the minute ("never" for none)."""
    if not ms:
        return "never"
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


async def _with_store(settings: Settings, work: Callable[[TokenStore], Awaitable[_T]]) -> _T:
    from hearth.store.database import Database
    from hearth.store.tokens import TokenStore

    db = Database(settings.data_dir() / "hearth.db", settings.store.synchronous)
    await db.open()
    try:
        return await work(TokenStore(db))
    finally:
        await db.close()


def cmd_token(args: argparse.Namespace) -> int:
    from hearth.store.tokens import Scope

    settings = _settings(args)
    if args.token_command == "create":

        async def create(tokens: TokenStore) -> str:
            token, _ = await tokens.create(Scope(args.scope), args.label)
            return token

        print(asyncio.run(_with_store(settings, create)))
        return 0
    if args.token_command == "list":

        async def listing(tokens: TokenStore) -> list[TokenInfo]:
            return await tokens.list()

        tokens = asyncio.run(_with_store(settings, listing))
        if not tokens:
            print("no tokens (make one with: hearth token create)")
            return 0
        width = max(len(t.id) for t in tokens)
        print(f"{'ID':<{width}}  {'SCOPE':<7}  {'CREATED':<16}  {'LAST USED':<16}  LABEL")
        for info in tokens:
            print(
                f"{info.id:<{width}}  {info.scope.value:<7}  {_local_time(info.creation_time):<16}  "
                f"{_local_time(info.last_use_time):<16}  {info.label}"
            )
        return 0
    if args.token_command == "revoke":

        async def revoke(tokens: TokenStore) -> bool:
            return await tokens.delete(args.id)

        if not asyncio.run(_with_store(settings, revoke)):
            print(f"hearth: no token with id {args.id}", file=sys.stderr)
            return 1
        return 0
    return 2


# ----------------------------------------------------------------------------- check-config, doctor


def cmd_check_config(args: argparse.Namespace) -> int:
    from hearth import extensions
    from hearth.core.catalogue import Catalogue
    from hearth.core.drivers import DriverManager

    settings = _settings(args)
    catalogue = Catalogue.load(settings.catalogue_dir())
    manager = DriverManager()
    for name, config in settings.enabled_drivers().items():
        manager.check_config(name, manager.load(name), config)
    # What run starts beside the drivers: their libraries must be there too (run refuses to start otherwise).
    extensions.check(settings)
    print(
        f"configuration OK: {settings.source or '(defaults)'}; catalogue: {len(catalogue)} controllables; "
        f"drivers: {', '.join(settings.enabled_drivers()) or 'none'}"
    )
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from hearth.doctor import report, run_doctor

    return report(run_doctor(_settings(args)), args.json)


# ----------------------------------------------------------------------------- backup, restore


def cmd_backup(args: argparse.Namespace) -> int:
    from hearth.backup.commands import backup_command

    return backup_command(_settings(args), args.output, args.passphrase_file)


def cmd_restore(args: argparse.Namespace) -> int:
    from hearth.backup.commands import restore_command

    return restore_command(_settings(args), args.archive, args.passphrase_file, force=args.force, check=args.check)


# ----------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hearth", description="Hearth home-gateway edge controller")
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="TOML configuration (default: $HEARTH_CONFIG, else config/demo.toml)")
        return p

    run = with_config(sub.add_parser("run", help="start the gateway"))
    run.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        help="log level, any case (default: [log] level of the configuration, else INFO)",
    )
    run.set_defaults(func=cmd_run)

    token = with_config(sub.add_parser("token", help="local API tokens"))
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="make a token and print it alone on stdout")
    create.add_argument("--scope", choices=["view", "control", "admin"], default="control")
    create.add_argument("--label", default="")
    with_config(create)
    listing = token_sub.add_parser("list", help="list tokens (never their values)")
    with_config(listing)
    revoke = token_sub.add_parser("revoke", help="delete a token by id")
    revoke.add_argument("id")
    with_config(revoke)
    token.set_defaults(func=cmd_token)

    check = with_config(sub.add_parser("check-config", help="validate the configuration and catalogue"))
    check.set_defaults(func=cmd_check_config)

    doctor = with_config(sub.add_parser("doctor", help="check the radios, ports, clock, disk, cloud and store"))
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(func=cmd_doctor)

    backup = with_config(
        sub.add_parser("backup", help="write an encrypted, authenticated archive of the gateway (it may be running)")
    )
    backup.add_argument(
        "--output", help="the archive file, '-' for stdout (default: a new file in the backups folder, printed)"
    )
    backup.add_argument("--passphrase-file", help="the passphrase (default: [backup] passphrase_file, made if missing)")
    backup.set_defaults(func=cmd_backup)

    restore = with_config(
        sub.add_parser("restore", help="restore an archive into the data folder (the gateway stopped)")
    )
    restore.add_argument("archive", help="the archive (.hbk) to restore")
    restore.add_argument("--passphrase-file", help="the archive's passphrase (default: [backup] passphrase_file)")
    restore.add_argument("--force", action="store_true", help="replace what the data folder holds")
    restore.add_argument("--check", action="store_true", help="only verify the archive; change nothing")
    restore.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Sub-parsers put --config on the leaf namespace; the parent's may be missing.
    if not hasattr(args, "config"):
        args.config = None
    try:
        return int(args.func(args))
    except (ConfigError, ValueError, RuntimeError) as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
