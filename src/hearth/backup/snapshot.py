"""A consistent copy of a live SQLite database, with SQLite's online backup, while the gateway writes to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def is_sqlite(path: Path) -> bool:
    """Whether the file is an SQLite database, asked of SQLite itself.

    Never by reading the file's header with a plain ``open``: SQLite's locks are POSIX locks, owned by the
    process, and closing any descriptor of the file drops all of them, the gateway's own connection's
    included. Another process (``hearth token``) could then think itself alone on the database, reset its
    WAL on close, and leave the gateway reading a stale copy. SQLite shares one descriptor per file within a
    process and keeps the locks right.
    """
    if path.stat().st_size == 0:
        return False  # SQLite would take an empty file for an empty database
    try:
        conn = sqlite3.connect(path, timeout=10.0)
    except sqlite3.Error:
        return False
    try:
        conn.execute("PRAGMA schema_version").fetchone()
        return True
    except sqlite3.OperationalError:
        raise  # a database, busy or unreadable: never to be copied as a plain file
    except sqlite3.DatabaseError:
        return False  # "file is not a database"
    finally:
        conn.close()


def snapshot_database(source: Path, target: Path) -> None:
    """Copy ``source`` into the new file ``target`` as one consistent snapshot.

    A separate connection reads, so the gateway's own connection is never touched. The copy is made in one
    step (``pages=-1``): in WAL mode a reader never blocks the writer, and one step reads one snapshot. A
    copy in several steps would start over each time another connection writes, which under load might
    never end. The copy is then switched out of WAL mode, so that it is one self-contained file.
    """
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist")
    # Opened read-write (not mode=ro): a read-only connection cannot open a WAL database whose -shm file is
    # missing, as it is after a clean stop. Nothing is written through it; busy_timeout waits out a
    # checkpoint holding the WAL index.
    src = sqlite3.connect(source, timeout=10.0)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def check_database(path: Path) -> tuple[str, int]:
    """(SQLite's quick_check result, schema version) of a database file, opened read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        integrity = str(conn.execute("PRAGMA quick_check").fetchone()[0])
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        return integrity, version
    finally:
        conn.close()
