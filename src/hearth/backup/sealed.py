"""The sealed stream of a backup archive: a clear header, then the payload in AES-256-GCM chunks.

Layout::

    MAGIC (8 bytes) | header length (u32, big-endian) | header (JSON) | chunk | chunk | ...
    chunk := ciphertext length (u32, big-endian) | ciphertext (plaintext + 16-byte GCM tag)

The key comes from the user's passphrase through scrypt, with a fresh salt per archive (in the header), so every
archive has its own key and the chunk nonce can simply be the chunk's index. The nonce also carries a "last
chunk" flag and every chunk authenticates the whole header as associated data: a flipped byte, a reordered,
dropped or swapped chunk, an edited header, a cut-off tail or bytes added after the end all fail, and the
archive is refused before anything in it is used (the STREAM construction of Hoang, Reyhanitabar, Rogaway and
Vizár). Authenticated encryption also keeps the secrets an archive holds (token hashes, Zigbee and Z-Wave network
keys, rolling codes) unreadable without the passphrase.

A key-check value in the header tells a wrong passphrase from an altered payload. It cannot tell a wrong
passphrase from an altered key-check value: that message says both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"HRTHBK\x00\x01"
FORMAT = 1
CHUNK_SIZE = 1 << 20
TAG_SIZE = 16
MAX_HEADER = 4096
_U32 = struct.Struct(">I")
# scrypt at N=2^15, r=8 takes 32 MiB and about a tenth of a second on a small ARM board: slow enough to make
# guessing a passphrase costly, quick enough for a gateway. A header may ask for more, within these bounds
# (a hostile header must not make us allocate gigabytes).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
_N_RANGE = (1 << 14, 1 << 17)
_P_MAX = 4
_KEY_CHECK_LABEL = b"hearth backup key check"


class BackupError(ValueError):
    """An archive that cannot be used; the message says why in words a user can act on."""


class WrongPassphrase(BackupError):
    """The passphrase does not open the archive (or its header's key check was altered)."""


class ArchiveTampered(BackupError):
    """A chunk fails authentication: the archive was altered or damaged."""


@dataclass(frozen=True, slots=True)
class SealedHeader:
    """The clear part of an archive: how to derive its key, and what it is (authenticated, not secret)."""

    raw: bytes  # MAGIC, length and JSON exactly as read: every chunk authenticates these bytes
    fields: dict[str, Any]

    @property
    def gateway_id(self) -> str:
        return str(self.fields.get("gatewayId", ""))

    @property
    def created_ms(self) -> int:
        value = self.fields.get("createdAt", 0)
        return value if isinstance(value, int) else 0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, what: str, size: int) -> bytes:
    try:
        data = base64.b64decode(str(value), validate=True)
    except ValueError:
        raise BackupError(f"not a Hearth backup archive (bad {what} in the header)") from None
    if len(data) != size:
        raise BackupError(f"not a Hearth backup archive (bad {what} in the header)")
    return data


@dataclass(frozen=True, slots=True)
class SealKey:
    """The two halves of what scrypt gives: the AES key and the key-check key."""

    aead: AESGCM
    check: bytes

    @classmethod
    def derive(cls, passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> SealKey:
        # Imported here, not at the gateway's start (cryptography is a quarter of a second of imports on a slow
        # board): only a backup or a restore needs it.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        material = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(passphrase)
        return cls(AESGCM(material[:32]), material[32:])

    def key_check(self) -> bytes:
        return hmac.new(self.check, _KEY_CHECK_LABEL, hashlib.sha256).digest()[:16]


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class SealedWriter:
    """A write-only file object: what is written goes out sealed, chunk by chunk. ``close`` seals the end."""

    def __init__(self, out: BinaryIO, passphrase: bytes, meta: dict[str, Any]) -> None:
        salt = os.urandom(16)
        self._key = SealKey.derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        fields = {
            **meta,
            "format": FORMAT,
            "chunkSize": CHUNK_SIZE,
            "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
            "keyCheck": _b64(self._key.key_check()),
        }
        body = json.dumps(fields, separators=(",", ":")).encode()
        if len(body) > MAX_HEADER:
            raise ValueError("backup header too large")
        self._header = MAGIC + _U32.pack(len(body)) + body
        self._out = out
        self._out.write(self._header)
        self._buffer = bytearray()
        self._index = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK_SIZE:  # keep one chunk back: the last one is sealed as last
            self._seal(bytes(self._buffer[:CHUNK_SIZE]), last=False)
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self.closed = True

    def _seal(self, plain: bytes, last: bool) -> None:
        sealed = self._key.aead.encrypt(_nonce(self._index, last), plain, self._header)
        self._out.write(_U32.pack(len(sealed)) + sealed)
        self._index += 1


def _read_exact(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    return data if data is not None else b""


def read_header(source: BinaryIO) -> SealedHeader:
    """The header, checked for shape (not yet for authenticity: that needs the passphrase)."""
    magic = _read_exact(source, len(MAGIC))
    if magic != MAGIC:
        raise BackupError("not a Hearth backup archive (wrong file type)")
    length_bytes = _read_exact(source, 4)
    if len(length_bytes) != 4:
        raise BackupError("the archive is truncated (its header is incomplete)")
    (length,) = _U32.unpack(length_bytes)
    if not 2 <= length <= MAX_HEADER:
        raise BackupError("not a Hearth backup archive (bad header length)")
    body = _read_exact(source, length)
    if len(body) != length:
        raise BackupError("the archive is truncated (its header is incomplete)")
    try:
        fields = json.loads(body)
    except ValueError:
        raise BackupError("not a Hearth backup archive (its header is not JSON)") from None
    if not isinstance(fields, dict):
        raise BackupError("not a Hearth backup archive (bad header)")
    if fields.get("format") != FORMAT:
        raise BackupError(f"unsupported backup format {fields.get('format')!r} (this Hearth reads format {FORMAT})")
    if fields.get("chunkSize") != CHUNK_SIZE:
        raise BackupError("not a Hearth backup archive (bad chunk size)")
    return SealedHeader(magic + length_bytes + body, fields)


def open_key(header: SealedHeader, passphrase: bytes) -> SealKey:
    """Derive the archive's key; WrongPassphrase if its key check does not match."""
    kdf = header.fields.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise BackupError("not a Hearth backup archive (unknown key derivation)")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not (
        isinstance(n, int)
        and _N_RANGE[0] <= n <= _N_RANGE[1]
        and n & (n - 1) == 0
        and r == SCRYPT_R
        and isinstance(p, int)
        and 1 <= p <= _P_MAX
    ):
        raise BackupError("not a Hearth backup archive (key derivation parameters out of range)")
    salt = _unb64(kdf.get("salt"), "salt", 16)
    expected = _unb64(header.fields.get("keyCheck"), "key check", 16)
    key = SealKey.derive(passphrase, salt, n, r, p)
    if not hmac.compare_digest(key.key_check(), expected):
        raise WrongPassphrase("wrong passphrase (or the archive's header was altered): nothing was restored")
    return key


def open_chunks(source: BinaryIO, header: SealedHeader, key: SealKey) -> Iterator[bytes]:
    """The plaintext, chunk by chunk, each authenticated before it is yielded; ``source`` is past the header.

    Raises ArchiveTampered, or BackupError for a truncated archive or bytes after its end.
    """
    from cryptography.exceptions import InvalidTag

    index = 0
    offset = len(header.raw)
    while True:
        length_bytes = _read_exact(source, 4)
        if len(length_bytes) != 4:
            raise BackupError("the archive is truncated (it ends before its last part): nothing was restored")
        (length,) = _U32.unpack(length_bytes)
        if not TAG_SIZE <= length <= CHUNK_SIZE + TAG_SIZE:
            raise ArchiveTampered(
                f"the archive was altered or damaged (bad part length at byte {offset}): nothing was restored"
            )
        sealed = _read_exact(source, length)
        if len(sealed) != length:
            raise BackupError("the archive is truncated (it ends before its last part): nothing was restored")
        plain: bytes | None = None
        for last in (False, True):
            try:
                plain = key.aead.decrypt(_nonce(index, last), sealed, header.raw)
            except InvalidTag:
                continue
            break
        if plain is None:
            raise ArchiveTampered(
                f"the archive was altered or damaged (authentication fails at byte {offset}): nothing was restored"
            )
        yield plain
        if last:
            if _read_exact(source, 1):
                raise ArchiveTampered("the archive was altered (bytes after its end): nothing was restored")
            return
        index += 1
        offset += 4 + length


class ChunkReader:
    """A read-only file object over authenticated chunks, for tarfile and gzip to read from."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._position = 0  # gzip reads a few KiB at a time: a position, not a copy of the rest per read
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) - self._position < size):
            try:
                following = next(self._chunks)
            except StopIteration:
                self._done = True
                break
            self._buffer = self._buffer[self._position :] + following
            self._position = 0
        end = len(self._buffer) if size < 0 else self._position + size
        data = self._buffer[self._position : end]
        self._position += len(data)
        return data

    def drain(self) -> None:
        """Read to the end, so that every chunk (to the sealed last one) is authenticated."""
        while self.read(CHUNK_SIZE):
            pass
