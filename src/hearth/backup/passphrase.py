"""The backup passphrase: one file, readable by its owner only, from which each archive's key is derived.

The key cannot live only in the data folder: an archive must open on a fresh install, after the old box (and
its data folder) is gone. So it comes from a passphrase the user keeps a copy of. If there is none when the
first backup is made, Hearth makes a random one (about 120 bits) and says where it is; ``hearth backup`` prints
it once, like the first admin token. A user may put their own in the file instead (at least 8 characters).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from hearth.backup.sealed import BackupError
from hearth.cloud.credentials import read_secret

MIN_LENGTH = 8
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: it may be copied by hand


def read_passphrase(path: Path) -> bytes:
    """The passphrase in ``path``; BackupError if it is missing, readable by others, or too short."""
    try:
        value = read_secret(path.parent, path.name)
    except FileNotFoundError:
        raise BackupError(f"no backup passphrase: {path} does not exist") from None
    except PermissionError as exc:
        raise BackupError(str(exc)) from None
    if len(value) < MIN_LENGTH:
        raise BackupError(f"the backup passphrase in {path} is too short (at least {MIN_LENGTH} characters)")
    return value


def make_passphrase() -> str:
    """A random passphrase in six groups of four: 24 characters of 32, 120 bits."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(24))
    return "-".join(chars[i : i + 4] for i in range(0, 24, 4))


def write_passphrase(path: Path, value: bytes) -> None:
    """Write the passphrase file (owner-only), whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(value + b"\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def ensure_passphrase(path: Path) -> tuple[bytes, bool]:
    """(the passphrase, whether it was just made): made and written when ``path`` does not exist yet."""
    if path.exists():
        return read_passphrase(path), False
    value = make_passphrase().encode()
    write_passphrase(path, value)
    return value, True
