"""Where backup and restore keep their things in (and beside) the data folder, and what they leave alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hearth.config import Settings

LOCK_NAME = "hearth.lock"
# A verified restore waiting for the next start (see restore.py).
STAGED_NAME = "restore-staged"
# A restore being unpacked: not yet verified, removed on any failure, never applied.
INCOMING_PREFIX = ".restore-incoming-"
# What a restore replaces, moved aside until the restored files are all in place.
ASIDE_NAME = ".pre-restore"
# The configuration file of the gateway that made the archive, written here by a restore for the user to compare
# with theirs: it is not applied by itself (ports, paths and radios may differ on the new box).
CONFIG_COPY_NAME = "backup-config.toml"
# SQLite's side files: a backup takes the database through SQLite, and a restore must never leave an old WAL
# beside a restored database (SQLite would replay it into the wrong file).
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class DataLayout:
    data_dir: Path
    backup_dir: Path
    passphrase_file: Path

    @classmethod
    def of(cls, settings: Settings) -> DataLayout:
        data = settings.data_dir().absolute()  # absolute, so that kept() compares like with like
        backup = settings.backup

        def in_data(name: str) -> Path:
            path = Path(name)
            return path if path.is_absolute() else data / path

        return cls(data, in_data(backup.dir or "backups"), in_data(backup.passphrase_file))

    @property
    def lock_file(self) -> Path:
        return self.data_dir / LOCK_NAME

    @property
    def staged_dir(self) -> Path:
        return self.data_dir / STAGED_NAME

    @property
    def aside_dir(self) -> Path:
        return self.data_dir / ASIDE_NAME

    def kept(self, entry: Path) -> bool:
        """Whether a top-level entry of the data folder is neither backed up nor replaced by a restore.

        The backups folder and the passphrase file are kept wherever they sit inside the data folder (their
        top-level folder with them): restoring an archive must not take away the other archives or the key.
        """
        name = entry.name
        if name in (LOCK_NAME, STAGED_NAME, ASIDE_NAME) or name.startswith(INCOMING_PREFIX):
            return True
        return any(entry == path or entry in path.parents for path in (self.backup_dir, self.passphrase_file))

    def backed_up(self, entry: Path) -> bool:
        """Whether a top-level entry of the data folder goes into a backup."""
        return not self.kept(entry) and entry.name != CONFIG_COPY_NAME

    def replaceable(self) -> list[Path]:
        """The top-level entries a restore replaces (moves aside)."""
        if not self.data_dir.is_dir():
            return []
        return sorted(p for p in self.data_dir.iterdir() if not self.kept(p))
