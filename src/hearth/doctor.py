"""``hearth doctor``: what would stop the gateway from running well here, checked one by one."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from dataclasses import dataclass

from hearth.config import Settings


@dataclass(slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_doctor(settings: Settings) -> list[Check]:
    from hearth.core.catalogue import Catalogue, CatalogueError
    from hearth.core.drivers import DriverLoadError, DriverManager
    from hearth.store.database import migrations

    checks = [Check("python", sys.version_info >= (3, 11), sys.version.split()[0])]
    try:
        catalogue = Catalogue.load(settings.catalogue_dir())
        checks.append(Check("catalogue", True, f"{len(catalogue)} controllables in {settings.catalogue_dir()}"))
    except CatalogueError as exc:
        checks.append(Check("catalogue", False, str(exc)))
    manager = DriverManager()
    for name, config in settings.enabled_drivers().items():
        try:
            manager.check_config(name, manager.load(name), config)
            checks.append(Check(f"driver {name}", True, "importable, settings valid"))
        except DriverLoadError as exc:
            checks.append(Check(f"driver {name}", False, str(exc)))
    data_dir = settings.data_dir()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".doctor-probe"
        probe.write_text("ok")
        probe.unlink()
        checks.append(Check("data folder", True, f"{data_dir} is writable"))
    except OSError as exc:
        checks.append(Check("data folder", False, f"{data_dir}: {exc}"))
    free = shutil.disk_usage(data_dir).free if data_dir.exists() else 0
    checks.append(Check("disk space", free > 100 * 2**20, f"{free / 2**20:.0f} MiB free"))
    db_path = data_dir / "hearth.db"
    if db_path.exists():
        try:
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
            try:
                integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            finally:
                conn.close()
            known = len(migrations())
            checks.append(Check("database integrity", integrity == "ok", f"{db_path}: {integrity}"))
            checks.append(Check("database schema", version <= known, f"version {version} (this Hearth knows {known})"))
            checks.append(Check("database journal", mode == "wal", f"journal_mode={mode}"))
        except sqlite3.Error as exc:
            checks.append(Check("database integrity", False, f"{db_path}: {exc}"))
    else:
        checks.append(Check("database", True, f"{db_path} will be made at first start"))
    return checks
