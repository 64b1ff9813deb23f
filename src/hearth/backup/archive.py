"""The backup archive: a sealed stream (sealed.py) holding a gzip'd tar whose first member is a manifest.

The manifest lists every other member with its size and SHA-256. Reading is in two passes: the first
authenticates every chunk of the sealed stream and nothing is unpacked; only then the second unpacks, and still
refuses any member that is not a plain file named in the manifest, a path that would leave the target folder,
a size over the limits, or content that does not match its hash. An archive is trusted only as far as the
passphrase: whoever holds it could seal a hostile tar, which these checks stop at the target folder.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from hearth.backup.sealed import (
    BackupError,
    ChunkReader,
    SealedHeader,
    SealedWriter,
    SealKey,
    open_chunks,
    open_key,
    read_header,
)

MANIFEST = "manifest.json"
MAX_MANIFEST = 4 << 20
MAX_FILES = 100_000
MAX_MEMBER = 16 << 30
MAX_TOTAL = 32 << 30
# Member paths begin with one of these: the data folder's files, and the configuration file.
ROOTS = ("data", "config")
_COPY = 1 << 20


@dataclass(frozen=True, slots=True)
class Member:
    """One file of an archive: its path in the archive, size and SHA-256, and where its bytes come from."""

    path: str
    size: int
    sha256: str
    source: Path | None = None  # a file to read (a database snapshot) ...
    content: bytes | None = None  # ... or the bytes themselves

    def open(self) -> BinaryIO:
        if self.content is not None:
            return io.BytesIO(self.content)
        assert self.source is not None
        return self.source.open("rb")


@dataclass(slots=True)
class Manifest:
    gateway_id: str
    created_ms: int
    hearth_version: str
    schema_version: int
    files: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "gatewayId": self.gateway_id,
            "createdAt": self.created_ms,
            "hearthVersion": self.hearth_version,
            "schemaVersion": self.schema_version,
            "files": self.files,
        }

    @property
    def total_size(self) -> int:
        return sum(int(f["size"]) for f in self.files)


def safe_member_path(name: str) -> PurePosixPath:
    """A member path that stays inside the target folder, or BackupError."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        raise BackupError(f"the archive holds a bad path {name!r}: nothing was restored")
    path = PurePosixPath(name)
    if any(part in ("", ".", "..") for part in name.split("/")) or path.parts[0] not in ROOTS or len(path.parts) < 2:
        raise BackupError(f"the archive holds a bad path {name!r}: nothing was restored")
    return path


def file_member(path: str, source: Path) -> Member:
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as f:
        while block := f.read(_COPY):
            digest.update(block)
            size += len(block)
    return Member(path, size, digest.hexdigest(), source=source)


def bytes_member(path: str, content: bytes) -> Member:
    return Member(path, len(content), hashlib.sha256(content).hexdigest(), content=content)


def write_archive(out: BinaryIO, passphrase: bytes, manifest: Manifest, members: list[Member]) -> None:
    """Seal ``members`` (and the manifest listing them) into ``out``."""
    manifest.files = [{"path": m.path, "size": m.size, "sha256": m.sha256} for m in members]
    meta = {
        "gatewayId": manifest.gateway_id,
        "createdAt": manifest.created_ms,
        "hearthVersion": manifest.hearth_version,
    }
    sealed = SealedWriter(out, passphrase, meta)
    # Level 6: most of what level 9 gains on a database, in half the time, on a small CPU.
    with gzip.GzipFile(fileobj=sealed, mode="wb", compresslevel=6, mtime=0) as packed:
        with tarfile.open(fileobj=packed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            listing = json.dumps(manifest.to_json(), separators=(",", ":")).encode()
            _add(tar, MANIFEST, len(listing), io.BytesIO(listing))
            for member in members:
                with member.open() as source:
                    _add(tar, member.path, member.size, source)
    sealed.close()


def _add(tar: tarfile.TarFile, name: str, size: int, source: BinaryIO) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    tar.addfile(info, source)


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class OpenedArchive:
    """An archive whose every chunk was authenticated with the passphrase."""

    path: Path
    header: SealedHeader
    key: SealKey


def verify(path: Path, passphrase: bytes) -> OpenedArchive:
    """Authenticate the whole archive (first pass): BackupError with a clear reason if it cannot be trusted."""
    with path.open("rb") as source:
        header = read_header(source)
        key = open_key(header, passphrase)
        for _ in open_chunks(source, header, key):
            pass
    return OpenedArchive(path, header, key)


@contextmanager
def _plain_stream(opened: OpenedArchive) -> Iterator[ChunkReader]:
    """The archive's plaintext, authenticated again chunk by chunk as it is read."""
    with opened.path.open("rb") as source:
        header = read_header(source)
        if header.raw != opened.header.raw:
            raise BackupError("the archive changed while it was being read: nothing was restored")
        yield ChunkReader(open_chunks(source, header, opened.key))


def _read_manifest(tar: tarfile.TarFile) -> Manifest:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isreg() or first.size > MAX_MANIFEST:
        raise BackupError("the archive has no manifest: nothing was restored")
    handle = tar.extractfile(first)
    assert handle is not None
    try:
        raw = json.loads(handle.read())
        files = raw["files"]
        manifest = Manifest(
            str(raw["gatewayId"]), int(raw["createdAt"]), str(raw["hearthVersion"]), int(raw["schemaVersion"]), files
        )
    except (ValueError, KeyError, TypeError):
        raise BackupError("the archive's manifest is not valid: nothing was restored") from None
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise BackupError("the archive's manifest is not valid: nothing was restored")
    seen: set[str] = set()
    for entry in files:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("size"), int)
            and isinstance(entry.get("sha256"), str)
            and 0 <= entry["size"] <= MAX_MEMBER
        ):
            raise BackupError("the archive's manifest is not valid: nothing was restored")
        safe_member_path(entry["path"])
        if entry["path"] in seen:
            raise BackupError(f"the archive lists {entry['path']!r} twice: nothing was restored")
        seen.add(entry["path"])
    if manifest.total_size > MAX_TOTAL:
        raise BackupError("the archive unpacks to more than this Hearth accepts: nothing was restored")
    return manifest


def extract(opened: OpenedArchive, target: Path) -> Manifest:
    """Unpack an authenticated archive into the new, empty folder ``target`` (second pass).

    Every file is written owner-only and synced. On any error the caller removes ``target``.
    """
    target.mkdir(mode=0o700)
    with _plain_stream(opened) as reader:
        try:
            # typeshed wants a seekable file object here; GzipFile only reads it forward, which ChunkReader does.
            with gzip.GzipFile(fileobj=reader, mode="rb") as unpacked:  # type: ignore[call-overload]
                with tarfile.open(fileobj=unpacked, mode="r|") as tar:
                    manifest = _read_manifest(tar)
                    free = shutil.disk_usage(target).free
                    if manifest.total_size > free:
                        raise BackupError(
                            f"the archive needs {manifest.total_size >> 20} MiB and only "
                            f"{free >> 20} MiB are free: nothing was restored"
                        )
                    _extract_members(tar, manifest, target)
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            # Only someone holding the passphrase can seal content that fails here.
            raise BackupError(
                f"the archive's content is damaged ({type(exc).__name__}): nothing was restored"
            ) from None
        reader.drain()
    return manifest


def _extract_members(tar: tarfile.TarFile, manifest: Manifest, target: Path) -> None:
    expected = {f["path"]: f for f in manifest.files}
    written: set[str] = set()
    # tar.next(), not iteration: iterating a stream-mode TarFile yields the members read so far again.
    while (info := tar.next()) is not None:
        entry = expected.get(info.name)
        if entry is None or info.name in written:
            raise BackupError(
                f"the archive holds {info.name!r}, which its manifest does not list: nothing was restored"
            )
        if not info.isreg():
            raise BackupError(
                f"the archive holds {info.name!r}, which is not a plain file (a link or device): nothing was restored"
            )
        if info.size != entry["size"]:
            raise BackupError(f"{info.name!r} is not the size its manifest says: nothing was restored")
        relative = safe_member_path(info.name)
        destination = target.joinpath(*relative.parts)
        for parent in reversed(destination.relative_to(target).parents):
            folder = target / parent
            if not folder.is_dir():
                folder.mkdir(mode=0o700)
        handle = tar.extractfile(info)
        assert handle is not None
        digest = hashlib.sha256()
        fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            remaining = info.size
            while remaining:
                block = handle.read(min(_COPY, remaining))
                if not block:
                    raise BackupError(f"{info.name!r} is cut short: nothing was restored")
                digest.update(block)
                out.write(block)
                remaining -= len(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != entry["sha256"]:
            raise BackupError(f"{info.name!r} does not match its manifest's SHA-256: nothing was restored")
        written.add(info.name)
    missing = sorted(set(expected) - written)
    if missing:
        raise BackupError(f"the archive lacks {missing[0]!r} that its manifest lists: nothing was restored")
