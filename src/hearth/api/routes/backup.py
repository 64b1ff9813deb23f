"""Backups through the API (our extension, under ``/ext``): download a fresh archive, list the scheduled ones,
upload one to restore at the next start. Admin only: an archive holds every secret of the gateway.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response, StreamingResponse

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.backup.builder import build_archive
from hearth.backup.layout import INCOMING_PREFIX, DataLayout
from hearth.backup.passphrase import (
    MIN_LENGTH,
    ensure_passphrase,
    make_passphrase,
    read_passphrase,
    write_passphrase,
)
from hearth.backup.restore import stage, staged
from hearth.backup.schedule import archive_name, list_archives
from hearth.backup.sealed import BackupError
from hearth.model.errors import ApiError, ErrorCode

EXT = "/ext"
# The archive is not JSON: the edge's JSON rules skip this path (api/edge.py, BodyGate).
RAW_BODY_PATHS = (EXT + "/backup/restore",)
# A restore may bring its own passphrase (a fresh box has none yet); never logged (there is no access log).
PASSPHRASE_HEADER = "x-hearth-backup-passphrase"
_READ = 1 << 20


class NewPassphrase(BaseModel):
    """The user's own passphrase, or nothing: the gateway makes a random one."""

    model_config = ConfigDict(extra="forbid")
    # Printable ASCII: a restore from another box sends it in a header, which a browser sends as Latin-1 only.
    passphrase: str | None = Field(default=None, min_length=MIN_LENGTH, max_length=256, pattern=r"^[ -~]+$")


async def _stream(archive: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while block := await asyncio.to_thread(archive.read, _READ):
            yield block
    finally:
        archive.close()


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway
    settings = gw.settings
    restoring = asyncio.Lock()  # one upload staged at a time

    def layout() -> DataLayout:
        return DataLayout.of(settings)

    def unavailable(exc: Exception, what: str = "Backup") -> ApiError:
        return ApiError(503, ErrorCode.SERVICE_UNAVAILABLE, f"{what} not possible : {exc}")

    @router.get(EXT + "/backup", summary="Download a fresh, encrypted archive of the gateway (admin)")
    async def download(_: Caller = guard.admin()) -> Response:
        where = layout()
        try:
            passphrase, _made = await asyncio.to_thread(ensure_passphrase, where.passphrase_file)
            where.backup_dir.mkdir(parents=True, exist_ok=True)
            # Nameless on the box's own disk (not a tmpfs /tmp): nothing to clean up whatever happens.
            archive = tempfile.TemporaryFile(dir=where.backup_dir)
        except (BackupError, OSError) as exc:
            raise unavailable(exc) from None
        try:
            await asyncio.to_thread(build_archive, settings, archive, passphrase, where.backup_dir)
            size = archive.tell()
            archive.seek(0)
        except (BackupError, OSError) as exc:
            archive.close()
            raise unavailable(exc) from None
        except BaseException:
            archive.close()
            raise
        name = archive_name(gw.identity.gateway_id, datetime.datetime.now(datetime.UTC))
        return StreamingResponse(
            _stream(archive),
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "Content-Length": str(size),
            },
        )

    @router.get(EXT + "/backups", summary="The scheduled archives on the box, newest first (admin)")
    async def listing(_: Caller = guard.admin()) -> Response:
        where = layout()
        archives = await asyncio.to_thread(list_archives, where.backup_dir)
        pending = await asyncio.to_thread(staged, where)
        b = settings.backup
        return json_response(
            {
                "enabled": b.enabled,
                "intervalHours": b.interval_h,
                "keep": b.keep,
                "directory": str(where.backup_dir),
                "passphraseFile": str(where.passphrase_file),
                "passphraseSet": where.passphrase_file.exists(),
                "archives": [a.to_json() for a in archives],
                "stagedRestore": None
                if pending is None
                else {"gatewayId": pending.gateway_id, "creationTime": pending.created_ms},
            }
        )

    @router.post(
        EXT + "/backup/passphrase",
        status_code=201,
        summary="Set the backup passphrase once, the user's or a random one, and answer it (admin)",
    )
    async def set_passphrase(body: NewPassphrase | None = None, _: Caller = guard.admin()) -> Response:
        # The only moment the passphrase leaves the box: the web page shows it once, as `hearth backup` prints it
        # once. An archive opens on another box only with it, so it is never replaced here (that would orphan
        # every archive made before): 409 once one exists; the file itself is the user's to change.
        where = layout()
        async with restoring:  # one writer of the passphrase file at a time
            return await _set_passphrase(where, body)

    async def _set_passphrase(where: DataLayout, body: NewPassphrase | None) -> Response:
        if where.passphrase_file.exists():
            raise ApiError(
                409,
                ErrorCode.UNSUPPORTED_OPERATION,
                f"A backup passphrase is already set (in {where.passphrase_file}) : it is shown only when "
                "it is made; use the copy you kept",
            )
        chosen = body.passphrase if body is not None and body.passphrase is not None else None
        value = chosen if chosen is not None else make_passphrase()
        try:
            await asyncio.to_thread(write_passphrase, where.passphrase_file, value.encode())
        except OSError as exc:
            raise unavailable(exc, "Setting the passphrase") from None
        return json_response(
            {"passphrase": value, "made": chosen is None, "passphraseFile": str(where.passphrase_file)}, status=201
        )

    async def receive(request: Request, target: Path) -> None:
        limit = settings.backup.restore_max_mb << 20
        too_large = ApiError(
            413,
            ErrorCode.INVALID_FIELD_VALUE,
            f"Archive too large : over {settings.backup.restore_max_mb} MB (backup.restore_max_mb)",
        )
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise too_large
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            size = 0
            async for block in request.stream():
                size += len(block)
                if size > limit:
                    raise too_large
                await asyncio.to_thread(out.write, block)
        if size == 0:
            raise ApiError.bad_request(
                "Empty body : send the archive's bytes (application/octet-stream)", ErrorCode.INVALID_FIELD_VALUE
            )

    @router.post(
        EXT + "/backup/restore",
        status_code=202,
        summary="Verify an archive (the body) and restore it at the next start (admin)",
    )
    async def restore(request: Request, _: Caller = guard.admin()) -> Response:
        where = layout()
        given = request.headers.get(PASSPHRASE_HEADER)
        try:
            if given is not None:
                if len(given) < MIN_LENGTH:
                    raise BackupError(f"the passphrase is too short (at least {MIN_LENGTH} characters)")
                passphrase = given.encode("latin-1")  # Starlette decodes headers as latin-1: the raw bytes
            else:
                passphrase = await asyncio.to_thread(read_passphrase, where.passphrase_file)
        except BackupError as exc:
            raise ApiError.bad_request(f"Cannot restore : {exc}", ErrorCode.INVALID_FIELD_VALUE) from None
        async with restoring:
            upload = where.data_dir / f"{INCOMING_PREFIX}upload-{secrets.token_hex(4)}"
            try:
                await receive(request, upload)
                info = await asyncio.to_thread(stage, where, upload, passphrase)
            except BackupError as exc:
                raise ApiError.bad_request(f"Archive refused : {exc}", ErrorCode.INVALID_FIELD_VALUE) from None
            except OSError as exc:  # the box's disk (full, read-only), not the archive
                raise unavailable(exc, "Restore") from None
            finally:
                upload.unlink(missing_ok=True)
            if given is not None and not where.passphrase_file.exists():
                # So that backups after the restore are sealed with the passphrase the user already keeps.
                await asyncio.to_thread(write_passphrase, where.passphrase_file, passphrase)
        return json_response(
            {
                "restartRequired": True,
                "gatewayId": info.gateway_id,
                "creationTime": info.created_ms,
                "files": info.files,
            },
            status=202,
        )

    return router
