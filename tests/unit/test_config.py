"""Settings: a TOML file, environment overrides, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.config import ConfigError, load_settings


def test_env_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text("[api]\nport = 9000\n[drivers.virtual]\nenabled = true\n")
    settings = load_settings(
        path,
        {
            "HEARTH_API__PORT": "18443",
            "HEARTH_STORE__DATA_DIR": "/tmp/x",
            "HEARTH_DRIVERS__VIRTUAL__TRAVEL_TIME_S": "2.5",
        },
    )
    assert settings.api.port == 18443
    assert str(settings.store.data_dir) == "/tmp/x"
    assert settings.drivers["virtual"]["travel_time_s"] == 2.5


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[api]\nport = 70000\n", {}, "api.port"),
        ("[api]\nprot = 1\n", {}, "api.prot: unknown setting"),
        ("[store]\nsynchronous = 'SOMETIMES'\n", {}, "store.synchronous"),
        ("", {"HEARTH_API__PORT": "eighty"}, "api.port"),
        ("[gateway]\nid = '12-34'\n", {}, "gateway.id"),
        ("[api\n", {}, "not valid TOML"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    path = tmp_path / "h.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path, env)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "none.toml", {})
