"""Backup and restore (issue 11): authenticated, encrypted archives of a gateway, made while it runs.

``sealed`` is the encrypted stream, ``archive`` the manifest and files inside it, ``snapshot`` SQLite's online
backup, ``builder`` what goes in, ``restore`` staging and applying, ``schedule`` the periodic backups,
``layout`` where all of it sits in the data folder, ``lock`` who owns that folder, ``passphrase`` the key,
``commands`` the CLI's side of it.
"""

from hearth.backup.sealed import ArchiveTampered, BackupError, WrongPassphrase

__all__ = ["ArchiveTampered", "BackupError", "WrongPassphrase"]
