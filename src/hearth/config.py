"""Settings: a TOML file, then ``HEARTH_<SECTION>__<KEY>`` environment variables over it.

Every setting is documented in ``config/hearth.example.toml``. A bad value stops the start with a message
naming the setting and the reason: the gateway never starts half-configured.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "HEARTH_"
REPO_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
# Where a wheel install puts the catalogue (pyproject's data-files).
INSTALLED_CATALOGUE = Path(sys.prefix) / "share" / "hearth" / "controllables"


class ConfigError(ValueError):
    """The configuration is wrong; the message names each bad setting and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GatewaySettings(_Section):
    name: str = Field("Hearth", min_length=1, max_length=64)
    # Made at first start and kept in the store; set it only to pin a known id.
    id: str = Field("", pattern=r"^(\d{4}-\d{4}-\d{4})?$")
    # The label of the root place.
    home_label: str = Field("My home", min_length=1, max_length=128)
    # Folder of the controllable catalogue; empty: the one beside the configuration, else the bundled one.
    catalogue_dir: str = ""


class StoreSettings(_Section):
    data_dir: Path = Path("./var")
    # FULL survives a power cut (a sync per commit); NORMAL only a crash of the process.
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    batch_window_ms: int = Field(250, ge=10, le=10_000)
    batch_max_rows: int = Field(5000, ge=100, le=1_000_000)


class HistorySettings(_Section):
    retention_days: float = Field(7, ge=0, le=3650)
    max_rows_per_state: int = Field(20_000, ge=1)
    sweep_interval_s: float = Field(3600, ge=1)
    # The first sweep waits this long after the start: commands come first.
    sweep_start_delay_s: float = Field(60, ge=0, le=86_400)
    # Rollups (hour, day, month buckets) kept this many days; never less than the longest raw retention.
    hourly_days: float = Field(90, ge=1, le=3650)
    daily_days: float = Field(1095, ge=1, le=36_500)
    monthly_days: float = Field(3650, ge=1, le=36_500)
    per_state: dict[str, float] = Field(default_factory=dict)

    @field_validator("per_state")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for name, days in value.items():
            if days < 0:
                raise ValueError(f"{name}: retention days must be 0 or more")
        return value


class ApiSettings(_Section):
    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(8443, ge=0, le=65535)
    tls: bool = True
    # Empty: a self-signed certificate made at first start in <data_dir>/tls/.
    cert_file: str = ""
    key_file: str = ""
    # Bad-token ban: this many failures from one address within the window ban it for ban_s.
    ban_after_failures: int = Field(10, ge=1)
    ban_window_s: float = Field(60, gt=0)
    ban_s: float = Field(300, gt=0)
    # Rate limits per token, requests per second with a burst; generous: the box serves its own LAN.
    rate_exec_per_s: float = Field(50, gt=0)
    rate_exec_burst: int = Field(200, ge=1)
    rate_bulk_per_s: float = Field(20, gt=0)
    rate_bulk_burst: int = Field(100, ge=1)
    rate_polling_per_s: float = Field(20, gt=0)
    rate_polling_burst: int = Field(100, ge=1)
    # Event listeners: idle expiry and buffer size (the oldest events go first when it is full).
    listener_idle_s: float = Field(600, gt=0)
    listener_buffer: int = Field(10_000, ge=10)
    # A request body must arrive whole within this time (else 408 and the connection is closed) and be at most
    # this large (else 413). Archives (backup restore) are not bound by these: they stream.
    body_timeout_s: float = Field(5, gt=0, le=300)
    max_body_bytes: int = Field(1_048_576, ge=1024)

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> ApiSettings:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("cert_file and key_file go together: set both, or neither for a self-signed one")
        return self


class ExecutorSettings(_Section):
    # How long a completed command with lockLevel L keeps lower-level commands off its device.
    lock_hold_s: float = Field(900, ge=0)
    # A delayed command, scheduled run, trigger delay or schedule, or a run owed by an alert rule that fell
    # due while the gateway was down still runs at start if it is late by less than this; later than that
    # it fails (TIMED_OUT) or is recorded as missed.
    missed_grace_s: float = Field(900, ge=0)
    # Finished executions kept in history: for this many days, and never fewer than the newest keep_last.
    history_days: float = Field(30, ge=0)
    history_keep_last: int = Field(500, ge=0)


class MqttBrokerSettings(_Section):
    """Where an MQTT broker is and how to log in: shared by the cloud sync and the LAN bridge."""

    host: str = "localhost"
    port: int = Field(8883, ge=1, le=65535)
    tls: bool = True
    # Empty: the system's certificate authorities. A client certificate instead of (or with) a password.
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    username: str = ""
    # The password is not in this file: it is read from this file (relative paths: in the data folder), which
    # must be readable by its owner only.
    password_file: str = ""
    keepalive_s: int = Field(30, ge=5, le=3600)


class MqttSettings(MqttBrokerSettings):
    topic_prefix: str = Field("hearth", pattern=r"^[A-Za-z0-9_\-/]+$")


class BagtowerSettings(_Section):
    """Seed 000's monitoring cloud: each device registered with a stable id and its own API key, logs pushed."""

    enabled: bool = False
    base_url: str = Field("https://api.bagtower.example", pattern=r"^https?://")
    company_id: str = ""
    # A user token (owner or developer) to register devices: read from this file (in the data folder, mode 600).
    user_token_file: str = "bagtower-token"
    # The seed lost its paths: they are settings.
    devices_path: str = "/devices"
    device_key_path: str = "/devices/{deviceId}/apikey"
    device_path: str = "/devices/{deviceId}"  # PUT (update) and DELETE, companyId in the query
    logs_path: str = "/logs"
    api_key_header: str = "x-api-key"
    group: str = Field("hearth", min_length=1, max_length=15)
    # The push period we ask for; the server's answer to each log then decides. Never below min_period_s.
    period_s: int = Field(300, ge=1)
    min_period_s: int = Field(60, ge=1)
    timeout_s: float = Field(10, gt=0, le=60)


class SmartSolarSettings(_Section):
    """Seed 002's cloud: the gateway as one unit (product_imei); telemetry store-and-forward, product-status
    webhooks turned into action groups."""

    enabled: bool = False
    base_url: str = Field("https://smartapi.bboxx.co.uk", pattern=r"^https?://")
    product_imei: str = ""
    username: str = ""
    # Read from files in the data folder, mode 600: the login password and the webhook key the subscribe call
    # returned (once).
    password_file: str = "smartsolar-password"
    webhook_key_file: str = "smartsolar-webhook-key"
    # The exact URL the cloud posts webhooks to (it is part of what is signed).
    webhook_url: str = ""
    measurement: str = Field("telemetry", pattern=r"^[A-Za-z0-9_\-]+$")
    # Telemetry is kept until the cloud took it (seed 002's rm_data is every 4 h).
    upload_interval_s: float = Field(4 * 3600, gt=0)
    timeout_s: float = Field(10, gt=0, le=60)
    # The seed's report-then-pull (its rc_data): our status up, then the unit's instructions down, each upload.
    rc_data_path: str = "/v1/products/{imei}/rc_data"
    # enabled_status ("enabled", "disabled"), from an instruction or a product-status webhook, and
    # "capacity_limit" (a new limit from the cloud) -> the action group to run.
    actions: dict[str, str] = Field(default_factory=dict)
    # After a failed upload the next try comes after a jittered back-off from this up to upload_interval_s.
    retry_min_s: float = Field(5, gt=0)
    # The tamper status reported: "<deviceURL>#<stateName>" (e.g. a contact sensor); empty: none reported.
    tamper_state: str = ""


class AirVantageSettings(_Section):
    """Seeds 001/004 (AirVantage): operations' tasks for this system run as commands, alert rules taken down for
    edge evaluation, alerts sent up."""

    enabled: bool = False
    base_url: str = Field("https://na.airvantage.net", pattern=r"^https?://")
    system_uid: str = ""
    # A bearer token (the seeds give no scheme), read from this file in the data folder, mode 600.
    token_file: str = "airvantage-token"
    poll_interval_s: float = Field(60, gt=0)
    # After a failed cycle, the next one comes after a jittered back-off from this up to poll_interval_s.
    retry_min_s: float = Field(1, gt=0)
    # SYSTEM_SEND_COMMAND commandId -> the action group to run; "hearth.apply" takes an action group inline.
    commands: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(10, gt=0, le=60)


class CloudSettings(_Section):
    enabled: bool = False
    airvantage: AirVantageSettings = Field(default_factory=AirVantageSettings)
    bagtower: BagtowerSettings = Field(default_factory=BagtowerSettings)
    smartsolar: SmartSolarSettings = Field(default_factory=SmartSolarSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    # Past this many rows the outbox drops telemetry (oldest values of a state first), never anything else.
    outbox_max_rows: int = Field(100_000, ge=100)
    # Report-then-pull cycle when nothing asks for an earlier one (a nudge, or new records).
    sync_interval_s: float = Field(60, gt=0)
    # State changes of one device are gathered this long and sent as one record per state (the latest).
    telemetry_window_s: float = Field(1.0, gt=0, le=60)
    batch_size: int = Field(200, ge=1, le=10_000)
    reconnect_min_s: float = Field(1, gt=0)
    reconnect_max_s: float = Field(60, gt=0)
    # Equal jitter on the reconnect back-off (a fleet does not come back in lockstep); false only for the bench.
    reconnect_jitter: bool = True


class BridgeSettings(MqttBrokerSettings):
    """The MQTT bridge for LAN consumers (Home Assistant's MQTT discovery): every device, its states and commands."""

    enabled: bool = False
    # A broker on the LAN: plain MQTT by default (the cloud's broker defaults to TLS on 8883).
    port: int = Field(1883, ge=1, le=65535)
    tls: bool = False
    # Topics of the devices: <base_topic>/<device>/state|availability|set/<what>; empty: hearth/<gatewayId>.
    base_topic: str = Field("", pattern=r"^([A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*)?$")
    # Home Assistant's discovery prefix (its default) and the topic of its birth and last-will messages.
    discovery_prefix: str = Field("homeassistant", pattern=r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$")
    ha_status_topic: str = Field("homeassistant/status", min_length=1)
    # Retained states come back to Home Assistant after its restart, without waiting for the next change.
    retain_states: bool = True
    reconnect_min_s: float = Field(1, gt=0)
    reconnect_max_s: float = Field(60, gt=0)
    # Commands taken from the command topics, per second, with a burst (a runaway automation must not flood
    # the radios).
    commands_per_s: float = Field(20, gt=0)
    commands_burst: int = Field(50, ge=1)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        # "debug" is as clear as "DEBUG" (Python's logging, uvicorn and systemd take either).
        return value.upper() if isinstance(value, str) else value


class BackupSettings(_Section):
    """Scheduled backups (``hearth backup`` and the API make archives whatever ``enabled`` says)."""

    enabled: bool = False
    interval_h: float = Field(24, gt=0, le=24 * 366)
    keep: int = Field(7, ge=1, le=1000)
    # The passphrase the archives' key is derived from (relative: in the data folder), owner-only; made at the
    # first backup if missing. Keep a copy off the box: a restore onto a new one needs it.
    passphrase_file: str = Field("backup-passphrase", min_length=1)
    # Where scheduled archives go (relative: in the data folder). Empty: <data_dir>/backups.
    dir: str = ""
    # The largest archive POST /ext/backup/restore accepts.
    restore_max_mb: int = Field(1024, ge=1, le=1 << 20)


class PlaceSeed(_Section):
    label: str = Field(min_length=1, max_length=128)
    type: int | str = 2
    children: list[PlaceSeed] = Field(default_factory=list)


class Settings(_Section):
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    cloud: CloudSettings = Field(default_factory=CloudSettings)
    bridge: BridgeSettings = Field(default_factory=BridgeSettings)
    # Places made at first start under the root; later the store is the truth.
    places: list[PlaceSeed] = Field(default_factory=list)
    # [drivers.<name>]: ``enabled`` plus the driver's own settings.
    drivers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    source: Path | None = Field(None, exclude=True)

    @field_validator("drivers")
    @classmethod
    def _drivers_have_enabled(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, section in value.items():
            if not isinstance(section, dict):
                raise ValueError(f"{name}: must be a table")
            if not isinstance(section.get("enabled", False), bool):
                raise ValueError(f"{name}.enabled: must be true or false")
        return value

    def enabled_drivers(self) -> dict[str, dict[str, Any]]:
        return {name: s for name, s in self.drivers.items() if s.get("enabled", False)}

    def catalogue_dir(self) -> Path:
        if self.gateway.catalogue_dir:
            return self._relative(Path(self.gateway.catalogue_dir))
        if self.source is not None and (self.source.parent / "controllables").is_dir():
            return self.source.parent / "controllables"
        if (REPO_CONFIG_DIR / "controllables").is_dir():
            return REPO_CONFIG_DIR / "controllables"
        return INSTALLED_CATALOGUE

    def data_dir(self) -> Path:
        return self.store.data_dir

    def _relative(self, path: Path) -> Path:
        if path.is_absolute() or self.source is None:
            return path
        return self.source.parent / path


def _parse_env_value(text: str) -> Any:
    """An environment value as TOML would read it (numbers, booleans, arrays), else as plain text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_env(raw: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    for key, text in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX) :].split("__")]
        if not all(path):
            raise ConfigError(f"{key}: empty part in the variable name")
        target = raw
        for part in path[:-1]:
            nxt = target.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"{key}: {part} is not a section")
            target = nxt
        target[path[-1]] = _parse_env_value(text)
    return raw


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        reason = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {where}: {reason}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(path: Path | None, environ: dict[str, str] | None = None) -> Settings:
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    apply_env(raw, dict(os.environ) if environ is None else environ)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None
    settings.source = path.resolve() if path is not None else None
    if path is not None and not settings.store.data_dir.is_absolute():
        # A relative data folder is relative to where Hearth runs (``make run`` keeps it in ./var).
        settings.store.data_dir = Path.cwd() / settings.store.data_dir
    return settings
