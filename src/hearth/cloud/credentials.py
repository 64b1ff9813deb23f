"""Cloud credentials: each in its own file in the data folder, readable by its owner only, never in the config."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_secret(folder: Path, name: str) -> bytes:
    """The secret in ``name`` (relative: in ``folder``), stripped. PermissionError if others may read it."""
    path = Path(name) if Path(name).is_absolute() else folder / name
    if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PermissionError(f"{path} must be readable by its owner only (chmod 600)")
    return path.read_bytes().strip()
