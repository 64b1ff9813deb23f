"""The command line: run refuses a bad configuration outright; token, check-config and doctor."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.process import REPO, HearthProcess


def hearth_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_run_refuses_a_bad_config_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n[api]\nport = "eighty"\nprot = 1\n')
    result = hearth_cli("run", "--config", str(config))
    assert result.returncode == 2
    assert "api.port" in result.stderr and "api.prot: unknown setting" in result.stderr
    assert not (tmp_path / "data").exists(), "nothing may be started or written with a bad configuration"


def test_run_refuses_an_unknown_driver(tmp_path: Path) -> None:
    config = tmp_path / "h.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n[drivers.teleport]\nenabled = true\n')
    result = hearth_cli("run", "--config", str(config))
    assert result.returncode == 2
    assert "drivers.teleport: no such driver installed" in result.stderr


def test_check_config_and_doctor(tmp_path: Path) -> None:
    env = {"HEARTH_STORE__DATA_DIR": str(tmp_path / "data")}
    checked = hearth_cli("check-config", "--config", "config/demo.toml", env=env)
    assert checked.returncode == 0 and "configuration OK" in checked.stdout
    doctor = hearth_cli("doctor", "--config", "config/demo.toml", env=env)
    assert doctor.returncode == 0, doctor.stdout
    assert "[ok  ] catalogue" in doctor.stdout and "will be made at first start" in doctor.stdout


def test_doctor_finds_a_damaged_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "hearth.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + b"garbage" * 500)
    doctor = hearth_cli("doctor", "--config", "config/demo.toml", env={"HEARTH_STORE__DATA_DIR": str(data)})
    assert doctor.returncode == 1 and "[FAIL] database" in doctor.stdout


def test_tokens_are_stored_hashed(fresh_hearth: HearthProcess) -> None:
    fresh_hearth.start()
    token = fresh_hearth.token("view", "kitchen tablet")
    assert token.startswith("hth_") and "\n" not in token
    listing = fresh_hearth.cli("token", "list")
    assert "kitchen tablet" in listing and token not in listing
    fresh_hearth.stop()
    raw = (fresh_hearth.data_dir / "hearth.db").read_bytes()
    for suffix in ("-wal",):
        wal = fresh_hearth.data_dir / f"hearth.db{suffix}"
        if wal.exists():
            raw += wal.read_bytes()
    assert token.encode() not in raw
    conn = sqlite3.connect(fresh_hearth.data_dir / "hearth.db")
    assert conn.execute("SELECT COUNT(*) FROM tokens WHERE label = 'kitchen tablet'").fetchone()[0] == 1
    conn.close()


def test_gateway_id_and_certificate_are_kept(fresh_hearth: HearthProcess) -> None:
    fresh_hearth.start()
    first_id, token = fresh_hearth.gateway_id, fresh_hearth.first_token
    cert = (fresh_hearth.data_dir / "tls" / "cert.pem").read_bytes()
    assert token and any("First admin token" in line for line in fresh_hearth.output)
    fresh_hearth.stop()
    fresh_hearth.start()
    assert fresh_hearth.gateway_id == first_id
    assert (fresh_hearth.data_dir / "tls" / "cert.pem").read_bytes() == cert
    assert not any("First admin token" in line for line in fresh_hearth.output), "printed once only"
