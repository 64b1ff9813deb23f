"""The backup passphrase through the API, as the web page uses it: set once (the user's own or a random one),
answered once, never replaced; an archive made after opens with it on a box that never had it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.process import REPO, HearthProcess

pytestmark = [pytest.mark.timeout(120)]


def client(proc: HearthProcess) -> httpx.Client:
    assert proc.first_token
    return httpx.Client(
        base_url=proc.base_url, verify=False, timeout=30, headers={"Authorization": f"Bearer {proc.first_token}"}
    )


def test_a_passphrase_of_ones_own_is_set_once_and_opens_the_archive_elsewhere(
    fresh_hearth: HearthProcess, tmp_path: Path
) -> None:
    fresh_hearth.start()
    with client(fresh_hearth) as api:
        info = api.get("/ext/backups").json()
        assert info["passphraseSet"] is False
        where = Path(info["passphraseFile"])
        for refused in (
            {"passphrase": "short"},
            {"passphrase": "geheimnis-\u00e9t\u00e9"},
            {"passphrase": 12345678},
            {"passphrase": "long enough", "other": 1},
        ):
            answer = api.post("/ext/backup/passphrase", json=refused)
            assert answer.status_code == 400 and answer.json()["errorCode"], (refused, answer.text)
            assert not where.exists(), refused  # nothing written

        own = "correct horse battery staple"
        made = api.post("/ext/backup/passphrase", json={"passphrase": own})
        assert made.status_code == 201, made.text
        assert made.json() == {"passphrase": own, "made": False, "passphraseFile": str(where)}
        assert where.read_text().strip() == own and where.stat().st_mode & 0o777 == 0o600
        again = api.post("/ext/backup/passphrase", json={})
        assert again.status_code == 409 and again.json()["errorCode"] == "UNSUPPORTED_OPERATION"
        assert own not in again.text  # said once only
        assert where.read_text().strip() == own
        assert api.get("/ext/backups").json()["passphraseSet"] is True

        archive = tmp_path / "from-the-page.hbk"
        response = api.get("/ext/backup")
        assert response.status_code == 200
        archive.write_bytes(response.content)
    fresh_hearth.stop()

    kept = tmp_path / "kept"
    kept.write_text(own + "\n")
    kept.chmod(0o600)
    import os

    env = dict(os.environ, HEARTH_STORE__DATA_DIR=str(tmp_path / "another-box"))
    restored = subprocess.run(
        [
            sys.executable,
            "-m",
            "hearth",
            "restore",
            str(archive),
            "--passphrase-file",
            str(kept),
            "--config",
            str(REPO / "config" / "demo.toml"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert restored.returncode == 0, restored.stderr
    assert f"restored gateway {fresh_hearth.gateway_id}" in restored.stdout
    # The other box keeps the same passphrase for its own backups.
    assert (tmp_path / "another-box" / where.name).read_text().strip() == own


def test_a_random_passphrase_is_made_when_none_is_given(fresh_hearth: HearthProcess) -> None:
    fresh_hearth.start()
    with client(fresh_hearth) as api:
        made = api.post("/ext/backup/passphrase")
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["made"] is True and len(body["passphrase"]) == 29  # six groups of four, dashes between
        assert Path(body["passphraseFile"]).read_text().strip() == body["passphrase"]
    # Never in the log.
    assert not any(body["passphrase"] in line for line in fresh_hearth.output)
