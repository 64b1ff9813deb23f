"""Home Assistant MQTT discovery payloads, checked against Home Assistant's *documented* schema (test side only).

Our MQTT bridge announces entities to Home Assistant by publishing discovery messages; this module lets a test
check those messages without running Home Assistant. Every fact below is encoded from the documentation, never
from Home Assistant's code, and each table says which page it came from. Pages read (repository
``home-assistant/home-assistant.io``, stored versions at the commits given):

- ``source/_integrations/mqtt.markdown`` (0a314403): topic format, device-based discovery, abbreviations, origin,
  availability options, birth message.
- ``source/_integrations/{sensor,binary_sensor,switch,light,cover,lock,climate,button,number,select}.mqtt.markdown``
  (9e4a69ab, fbc3a3b3, 53821638, 6683497e, dbb6eaf1, ebecc7e8, d7225566, d7225566, ebecc7e8, 23472596):
  configuration variables.
- ``source/_integrations/{sensor,binary_sensor,cover}.markdown`` (7450caca, 1e6bb74f, f6411fe9): device classes.
- ``home-assistant/developers.home-assistant`` ``docs/core/entity/sensor.md`` (30def446): state classes, and
  ``docs/core/entity.md`` (ee12b531): entity categories; the MQTT pages link to both for those values.

Deliberately stricter than Home Assistant in one way: HA *ignores* unknown keys in a discovery payload (mqtt.markdown,
"Discovery payload"), so a typo there silently loses a feature. Here an unknown key is an error, which is what a test
of our own publisher wants.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# --- Topics and the birth message (mqtt.markdown) -------------------------------------------------------------

DEFAULT_DISCOVERY_PREFIX = "homeassistant"
# "By default, Home Assistant sends `online` and `offline` to `homeassistant/status`" (Birth and last will messages).
BIRTH_TOPIC = "homeassistant/status"
BIRTH_PAYLOAD_ONLINE = "online"
WILL_PAYLOAD_OFFLINE = "offline"

# node_id and object_id "must only consist of characters from the character class [a-zA-Z0-9_-]" (Discovery topic).
_ID = re.compile(r"[a-zA-Z0-9_-]+")

# The platforms listed under "Configuration of MQTT components via MQTT discovery". The device trigger's component
# name in a topic is `device_automation` and the tag scanner's is `tag` (the migration example's topics and `p`).
SUPPORTED_COMPONENTS: frozenset[str] = frozenset(
    {
        "alarm_control_panel",
        "binary_sensor",
        "button",
        "camera",
        "climate",
        "cover",
        "device_automation",
        "device_tracker",
        "event",
        "fan",
        "humidifier",
        "image",
        "lawn_mower",
        "light",
        "lock",
        "notify",
        "number",
        "scene",
        "select",
        "sensor",
        "siren",
        "switch",
        "tag",
        "text",
        "update",
        "vacuum",
        "valve",
        "water_heater",
    }
)
# "Also required is a `unique_id` for entity-based components" (Device discovery payload): the two above that are
# not entities are the device trigger and the tag scanner.
NON_ENTITY_COMPONENTS: frozenset[str] = frozenset({"device_automation", "tag"})
# `<component>` is `device` "in case of a device discovery" (Discovery topic).
DEVICE_COMPONENT = "device"


class DiscoveryTopic(NamedTuple):
    """The parts of ``<discovery_prefix>/<component>/[<node_id>/]<object_id>/config``."""

    prefix: str
    component: str
    node_id: str | None
    object_id: str


def parse_discovery_topic(topic: str, prefix: str = DEFAULT_DISCOVERY_PREFIX) -> DiscoveryTopic:
    """Split a discovery topic into its parts, raising ValueError if it does not follow the documented format.

    The prefix is configurable in HA (and may itself contain ``/``), so it is given rather than guessed: with it
    known, the optional node_id level is unambiguous.
    """
    if not topic.startswith(prefix + "/"):
        raise ValueError(f"{topic!r} does not start with the discovery prefix {prefix!r}")
    rest = topic[len(prefix) + 1 :].split("/")
    if len(rest) not in (3, 4) or rest[-1] != "config":
        raise ValueError(f"{topic!r} is not <prefix>/<component>/[<node_id>/]<object_id>/config")
    component, object_id = rest[0], rest[-2]
    node_id = rest[1] if len(rest) == 4 else None
    if component != DEVICE_COMPONENT and component not in SUPPORTED_COMPONENTS:
        raise ValueError(f"{topic!r}: {component!r} is not a supported MQTT component nor 'device'")
    for label, value in (("node_id", node_id), ("object_id", object_id)):
        if value is not None and not _ID.fullmatch(value):
            raise ValueError(f"{topic!r}: {label} {value!r} has characters outside [a-zA-Z0-9_-]")
    return DiscoveryTopic(prefix, component, node_id, object_id)


# --- Abbreviations (mqtt.markdown, "Supported abbreviations in MQTT discovery messages") ------------------------

# Abbreviated key -> full key, for the entity options. The documented table lists `pl_stop` and `pl_strt` twice
# (same meaning); each is here once.
OPTION_ABBREVIATIONS: dict[str, str] = {
    "act_t": "action_topic",
    "act_tpl": "action_template",
    "atype": "automation_type",
    "aux_cmd_t": "aux_command_topic",
    "aux_stat_t": "aux_state_topic",
    "aux_stat_tpl": "aux_state_template",
    "av_tones": "available_tones",
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "away_mode_cmd_t": "away_mode_command_topic",
    "away_mode_stat_t": "away_mode_state_topic",
    "away_mode_stat_tpl": "away_mode_state_template",
    "b_tpl": "blue_template",
    "bri_cmd_t": "brightness_command_topic",
    "bri_cmd_tpl": "brightness_command_template",
    "bri_scl": "brightness_scale",
    "bri_stat_t": "brightness_state_topic",
    "bri_tpl": "brightness_template",
    "bri_val_tpl": "brightness_value_template",
    "clr_temp_cmd_tpl": "color_temp_command_template",
    "clr_temp_cmd_t": "color_temp_command_topic",
    "clr_temp_k": "color_temp_kelvin",
    "clr_temp_stat_t": "color_temp_state_topic",
    "clr_temp_tpl": "color_temp_template",
    "clr_temp_val_tpl": "color_temp_value_template",
    "clrm": "color_mode",
    "clrm_stat_t": "color_mode_state_topic",
    "clrm_val_tpl": "color_mode_value_template",
    "cmd_off_tpl": "command_off_template",
    "cmd_on_tpl": "command_on_template",
    "cmd_t": "command_topic",
    "cmd_tpl": "command_template",
    "cmps": "components",
    "cod_arm_req": "code_arm_required",
    "cod_dis_req": "code_disarm_required",
    "cod_trig_req": "code_trigger_required",
    "cont_type": "content_type",
    "curr_temp_t": "current_temperature_topic",
    "curr_temp_tpl": "current_temperature_template",
    "dev": "device",
    "dev_cla": "device_class",
    "dir_cmd_t": "direction_command_topic",
    "dir_cmd_tpl": "direction_command_template",
    "dir_stat_t": "direction_state_topic",
    "dir_val_tpl": "direction_value_template",
    "dsp_prc": "display_precision",
    "e": "encoding",
    "en": "enabled_by_default",
    "ent_cat": "entity_category",
    "ent_pic": "entity_picture",
    "evt_typ": "event_types",
    "exp_aft": "expire_after",
    "fanspd_lst": "fan_speed_list",
    "flsh_tlng": "flash_time_long",
    "flsh_tsht": "flash_time_short",
    "fx_cmd_t": "effect_command_topic",
    "fx_cmd_tpl": "effect_command_template",
    "fx_list": "effect_list",
    "fx_stat_t": "effect_state_topic",
    "fx_tpl": "effect_template",
    "fx_val_tpl": "effect_value_template",
    "fan_mode_cmd_t": "fan_mode_command_topic",
    "fan_mode_cmd_tpl": "fan_mode_command_template",
    "fan_mode_stat_t": "fan_mode_state_topic",
    "fan_mode_stat_tpl": "fan_mode_state_template",
    "frc_upd": "force_update",
    "g_tpl": "green_template",
    "hs_cmd_t": "hs_command_topic",
    "hs_cmd_tpl": "hs_command_template",
    "hs_stat_t": "hs_state_topic",
    "hs_val_tpl": "hs_value_template",
    "ic": "icon",
    "img_e": "image_encoding",
    "img_t": "image_topic",
    "init": "initial",
    "hum_cmd_t": "target_humidity_command_topic",
    "hum_cmd_tpl": "target_humidity_command_template",
    "hum_stat_t": "target_humidity_state_topic",
    "hum_state_tpl": "target_humidity_state_template",
    "json_attr": "json_attributes",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "l_ver_t": "latest_version_topic",
    "l_ver_tpl": "latest_version_template",
    "lrst_t": "last_reset_topic",
    "lrst_val_tpl": "last_reset_value_template",
    "max": "max",
    "max_hum": "max_humidity",
    "max_k": "max_kelvin",
    "max_mirs": "max_mireds",
    "max_temp": "max_temp",
    "migr_discvry": "migrate_discovery",
    "min": "min",
    "min_hum": "min_humidity",
    "min_k": "min_kelvin",
    "min_mirs": "min_mireds",
    "min_temp": "min_temp",
    "mode": "mode",
    "mode_cmd_t": "mode_command_topic",
    "mode_cmd_tpl": "mode_command_template",
    "mode_stat_t": "mode_state_topic",
    "mode_stat_tpl": "mode_state_template",
    "modes": "modes",
    "name": "name",
    "o": "origin",
    "obj_id": "object_id",
    "off_dly": "off_delay",
    "on_cmd_type": "on_command_type",
    "ops": "options",
    "opt": "optimistic",
    "osc_cmd_t": "oscillation_command_topic",
    "osc_cmd_tpl": "oscillation_command_template",
    "osc_stat_t": "oscillation_state_topic",
    "osc_val_tpl": "oscillation_value_template",
    "p": "platform",
    "pct_cmd_t": "percentage_command_topic",
    "pct_cmd_tpl": "percentage_command_template",
    "pct_stat_t": "percentage_state_topic",
    "pct_val_tpl": "percentage_value_template",
    "pl": "payload",
    "pl_arm_away": "payload_arm_away",
    "pl_arm_custom_b": "payload_arm_custom_bypass",
    "pl_arm_home": "payload_arm_home",
    "pl_arm_nite": "payload_arm_night",
    "pl_arm_vacation": "payload_arm_vacation",
    "pl_avail": "payload_available",
    "pl_cln_sp": "payload_clean_spot",
    "pl_cls": "payload_close",
    "pl_dir_fwd": "payload_direction_forward",
    "pl_dir_rev": "payload_direction_reverse",
    "pl_disarm": "payload_disarm",
    "pl_home": "payload_home",
    "pl_inst": "payload_install",
    "pl_loc": "payload_locate",
    "pl_lock": "payload_lock",
    "pl_not_avail": "payload_not_available",
    "pl_not_home": "payload_not_home",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "pl_open": "payload_open",
    "pl_osc_off": "payload_oscillation_off",
    "pl_osc_on": "payload_oscillation_on",
    "pl_paus": "payload_pause",
    "pl_stop": "payload_stop",
    "pl_strt": "payload_start",
    "pl_prs": "payload_press",
    "pl_ret": "payload_return_to_base",
    "pl_rst": "payload_reset",
    "pl_rst_hum": "payload_reset_humidity",
    "pl_rst_mode": "payload_reset_mode",
    "pl_rst_pct": "payload_reset_percentage",
    "pl_rst_pr_mode": "payload_reset_preset_mode",
    "pl_stpa": "payload_start_pause",
    "pl_toff": "payload_turn_off",
    "pl_ton": "payload_turn_on",
    "pl_trig": "payload_trigger",
    "pl_unlk": "payload_unlock",
    "pos": "reports_position",
    "pos_clsd": "position_closed",
    "pos_open": "position_open",
    "pr_mode_cmd_t": "preset_mode_command_topic",
    "pr_mode_cmd_tpl": "preset_mode_command_template",
    "pr_mode_stat_t": "preset_mode_state_topic",
    "pr_mode_val_tpl": "preset_mode_value_template",
    "pr_modes": "preset_modes",
    "ptrn": "pattern",
    "r_tpl": "red_template",
    "rel_s": "release_summary",
    "rel_u": "release_url",
    "ret": "retain",
    "rgb_cmd_t": "rgb_command_topic",
    "rgb_cmd_tpl": "rgb_command_template",
    "rgb_stat_t": "rgb_state_topic",
    "rgb_val_tpl": "rgb_value_template",
    "rgbw_cmd_t": "rgbw_command_topic",
    "rgbw_cmd_tpl": "rgbw_command_template",
    "rgbw_stat_t": "rgbw_state_topic",
    "rgbw_val_tpl": "rgbw_value_template",
    "rgbww_cmd_t": "rgbww_command_topic",
    "rgbww_cmd_tpl": "rgbww_command_template",
    "rgbww_stat_t": "rgbww_state_topic",
    "rgbww_val_tpl": "rgbww_value_template",
    "send_cmd_t": "send_command_topic",
    "send_if_off": "send_if_off",
    "set_fan_spd_t": "set_fan_speed_topic",
    "set_pos_t": "set_position_topic",
    "set_pos_tpl": "set_position_template",
    "pos_t": "position_topic",
    "pos_tpl": "position_template",
    "spd_rng_min": "speed_range_min",
    "spd_rng_max": "speed_range_max",
    "src_type": "source_type",
    "stat_cla": "state_class",
    "stat_closing": "state_closing",
    "stat_clsd": "state_closed",
    "stat_jam": "state_jammed",
    "stat_locked": "state_locked",
    "stat_locking": "state_locking",
    "stat_off": "state_off",
    "stat_on": "state_on",
    "stat_open": "state_open",
    "stat_opening": "state_opening",
    "stat_stopped": "state_stopped",
    "stat_unlocked": "state_unlocked",
    "stat_unlocking": "state_unlocking",
    "stat_t": "state_topic",
    "stat_tpl": "state_template",
    "stat_val_tpl": "state_value_template",
    "step": "step",
    "stype": "subtype",
    "sug_dsp_prc": "suggested_display_precision",
    "sup_clrm": "supported_color_modes",
    "sup_dur": "support_duration",
    "sup_vol": "support_volume_set",
    "sup_feat": "supported_features",
    "swing_mode_cmd_t": "swing_mode_command_topic",
    "swing_mode_cmd_tpl": "swing_mode_command_template",
    "swing_mode_stat_t": "swing_mode_state_topic",
    "swing_mode_stat_tpl": "swing_mode_state_template",
    "t": "topic",
    "temp_cmd_t": "temperature_command_topic",
    "temp_cmd_tpl": "temperature_command_template",
    "temp_hi_cmd_t": "temperature_high_command_topic",
    "temp_hi_cmd_tpl": "temperature_high_command_template",
    "temp_hi_stat_t": "temperature_high_state_topic",
    "temp_hi_stat_tpl": "temperature_high_state_template",
    "temp_lo_cmd_t": "temperature_low_command_topic",
    "temp_lo_cmd_tpl": "temperature_low_command_template",
    "temp_lo_stat_t": "temperature_low_state_topic",
    "temp_lo_stat_tpl": "temperature_low_state_template",
    "temp_stat_t": "temperature_state_topic",
    "temp_stat_tpl": "temperature_state_template",
    "temp_unit": "temperature_unit",
    "tilt_clsd_val": "tilt_closed_value",
    "tilt_cmd_t": "tilt_command_topic",
    "tilt_cmd_tpl": "tilt_command_template",
    "tilt_max": "tilt_max",
    "tilt_min": "tilt_min",
    "tilt_opnd_val": "tilt_opened_value",
    "tilt_opt": "tilt_optimistic",
    "tilt_status_t": "tilt_status_topic",
    "tilt_status_tpl": "tilt_status_template",
    "tit": "title",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "url_t": "url_topic",
    "url_tpl": "url_template",
    "val_tpl": "value_template",
    "whit_cmd_t": "white_command_topic",
    "whit_scl": "white_scale",
    "xy_cmd_t": "xy_command_topic",
    "xy_cmd_tpl": "xy_command_template",
    "xy_stat_t": "xy_state_topic",
    "xy_val_tpl": "xy_value_template",
}
# "Supported abbreviations for device registry configuration".
DEVICE_ABBREVIATIONS: dict[str, str] = {
    "cu": "configuration_url",
    "cns": "connections",
    "ids": "identifiers",
    "name": "name",
    "mf": "manufacturer",
    "mdl": "model",
    "mdl_id": "model_id",
    "hw": "hw_version",
    "sw": "sw_version",
    "sa": "suggested_area",
    "sn": "serial_number",
}
# "Supported abbreviations for origin info".
ORIGIN_ABBREVIATIONS: dict[str, str] = {"name": "name", "sw": "sw_version", "url": "support_url"}

# --- Value types ------------------------------------------------------------------------------------------------

# The docs' `type:` words as Python types. `template`, `icon` and `device_class` are strings in JSON; `float` takes
# an int too (JSON has one number type); `map` is a dict. bool is never accepted for int/float (see _type_ok).
STR: tuple[type, ...] = (str,)
INT: tuple[type, ...] = (int,)
FLOAT: tuple[type, ...] = (int, float)
BOOL: tuple[type, ...] = (bool,)
LIST: tuple[type, ...] = (list,)
DICT: tuple[type, ...] = (dict,)
STR_OR_LIST: tuple[type, ...] = (str, list)

# The `device` map's keys, identical on every platform page (sensor.mqtt.markdown et al., `device: keys:`).
DEVICE_KEYS: dict[str, tuple[type, ...]] = {
    "configuration_url": STR,
    "connections": LIST,
    "hw_version": STR,
    "identifiers": STR_OR_LIST,
    "manufacturer": STR,
    "model": STR,
    "model_id": STR,
    "name": STR,
    "serial_number": STR,
    "suggested_area": STR,
    "sw_version": STR,
    "via_device": STR,
}
# Origin options (mqtt.markdown, "Discovery payload"): `name` is "(Required)".
ORIGIN_KEYS: dict[str, tuple[type, ...]] = {"name": STR, "sw_version": STR, "support_url": STR}
# The keys of one `availability` list item (every platform page, `availability: keys:`); `topic` is required.
AVAILABILITY_ITEM_KEYS: dict[str, tuple[type, ...]] = {
    "payload_available": STR,
    "payload_not_available": STR,
    "topic": STR,
    "value_template": STR,
}

# --- Enumerations -----------------------------------------------------------------------------------------------

# availability_mode: "Valid entries are `all`, `any`, and `latest`" (mqtt.markdown, availability; every platform).
AVAILABILITY_MODES = frozenset({"all", "any", "latest"})
# entity_category: EntityCategory.CONFIG / DIAGNOSTIC (developers docs/core/entity.md, "Registry properties").
ENTITY_CATEGORIES = frozenset({"config", "diagnostic"})
# sensor / binary_sensor: "When set, the entity category must be `diagnostic` for sensors"
# (sensor.mqtt.markdown, binary_sensor.mqtt.markdown).
SENSOR_ENTITY_CATEGORIES = frozenset({"diagnostic"})
# sensor.markdown, "Device class" (None is spelled as JSON null, allowed by sensor.mqtt.markdown).
SENSOR_DEVICE_CLASSES = frozenset(
    {
        "apparent_power",
        "aqi",
        "area",
        "atmospheric_pressure",
        "battery",
        "blood_glucose_concentration",
        "carbon_dioxide",
        "carbon_monoxide",
        "current",
        "data_rate",
        "data_size",
        "date",
        "distance",
        "duration",
        "energy",
        "energy_storage",
        "enum",
        "frequency",
        "gas",
        "humidity",
        "illuminance",
        "irradiance",
        "moisture",
        "monetary",
        "nitrogen_dioxide",
        "nitrogen_monoxide",
        "nitrous_oxide",
        "ozone",
        "ph",
        "pm1",
        "pm25",
        "pm10",
        "power_factor",
        "power",
        "precipitation",
        "precipitation_intensity",
        "pressure",
        "reactive_power",
        "signal_strength",
        "sound_pressure",
        "speed",
        "sulphur_dioxide",
        "temperature",
        "timestamp",
        "volatile_organic_compounds",
        "volatile_organic_compounds_parts",
        "voltage",
        "volume",
        "volume_flow_rate",
        "volume_storage",
        "water",
        "weight",
        "wind_speed",
    }
)
# developers docs/core/entity/sensor.md, "Available state classes" (the stored version lists these three).
SENSOR_STATE_CLASSES = frozenset({"measurement", "total", "total_increasing"})
# binary_sensor.markdown, "Device class".
BINARY_SENSOR_DEVICE_CLASSES = frozenset(
    {
        "battery",
        "battery_charging",
        "carbon_monoxide",
        "cold",
        "connectivity",
        "door",
        "garage_door",
        "gas",
        "heat",
        "light",
        "lock",
        "moisture",
        "motion",
        "moving",
        "occupancy",
        "opening",
        "plug",
        "power",
        "presence",
        "problem",
        "running",
        "safety",
        "smoke",
        "sound",
        "tamper",
        "update",
        "vibration",
        "window",
    }
)
# cover.markdown, "Device class".
COVER_DEVICE_CLASSES = frozenset(
    {
        "awning",
        "blind",
        "curtain",
        "damper",
        "door",
        "garage",
        "gate",
        "shade",
        "shutter",
        "window",
    }
)
# light.mqtt.markdown: the schemas `default`, `json` and `template`; `on_command_type` is `last`, `first` or
# `brightness`; the JSON schema's color modes, of which `onoff` and `brightness` must stand alone.
LIGHT_SCHEMAS = frozenset({"default", "json", "template"})
LIGHT_ON_COMMAND_TYPES = frozenset({"last", "first", "brightness"})
LIGHT_COLOR_MODES = frozenset({"onoff", "brightness", "color_temp", "hs", "xy", "rgb", "rgbw", "rgbww", "white"})
LIGHT_EXCLUSIVE_COLOR_MODES = frozenset({"onoff", "brightness"})
# number.mqtt.markdown: `mode` is `box` or `slider`, default `"auto"`; `step`'s "Smallest value `0.001`".
NUMBER_MODES = frozenset({"auto", "box", "slider"})
NUMBER_MIN_STEP = 0.001
# climate.mqtt.markdown: `modes` "Needs to be a subset of the default values"; `temperature_unit` is `C` or `F`;
# `precision`'s "Supported values are `0.1`, `0.5` and `1.0`".
CLIMATE_MODES = frozenset({"auto", "off", "cool", "heat", "dry", "fan_only"})
CLIMATE_TEMPERATURE_UNITS = frozenset({"C", "F"})
CLIMATE_PRECISIONS = frozenset({0.1, 0.5, 1.0})
# qos is documented only as an integer; 0, 1 and 2 are the MQTT levels (MQTT 3.1.1, section 4.3).
QOS_LEVELS = frozenset({0, 1, 2})

# --- Per-platform schemas ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformSchema:
    """One platform's documented configuration variables (full names) and what the docs say of their values."""

    options: dict[str, tuple[type, ...]]
    required: frozenset[str] = frozenset()
    enums: dict[str, frozenset[Any]] = field(default_factory=dict)
    # Options the page says "can be set to `null`" / "can be `null`".
    nullable: frozenset[str] = frozenset({"name"})
    # Documented rules that tie options together; each returns error strings.
    rules: tuple[Callable[[dict[str, Any]], list[str]], ...] = ()


# Options every one of the ten platform pages documents, with the same type. `platform` is also on each page but
# "Only allowed and required in MQTT auto discovery device messages", so it is handled by validate_device_discovery.
# number.mqtt.markdown alone does not list `availability_template`; light's JSON-schema section omits
# `entity_picture` while every other section lists it, which reads as a gap in that section, so it is kept.
_COMMON: dict[str, tuple[type, ...]] = {
    "availability": LIST,
    "availability_mode": STR,
    "availability_template": STR,
    "availability_topic": STR,
    "device": DICT,
    "enabled_by_default": BOOL,
    "encoding": STR,
    "entity_category": STR,
    "entity_picture": STR,
    "icon": STR,
    "json_attributes_template": STR,
    "json_attributes_topic": STR,
    "name": STR,
    "object_id": STR,
    "payload_available": STR,
    "payload_not_available": STR,
    "qos": INT,
    "unique_id": STR,
}
_COMMON_ENUMS: dict[str, frozenset[Any]] = {
    "availability_mode": AVAILABILITY_MODES,
    "entity_category": ENTITY_CATEGORIES,
    "qos": QOS_LEVELS,
}


def _schema(
    options: dict[str, tuple[type, ...]],
    required: tuple[str, ...] = (),
    *,
    enums: dict[str, frozenset[Any]] | None = None,
    nullable: tuple[str, ...] = (),
    rules: tuple[Callable[[dict[str, Any]], list[str]], ...] = (),
    without: tuple[str, ...] = (),
) -> PlatformSchema:
    common = {k: v for k, v in _COMMON.items() if k not in without}
    return PlatformSchema(
        options=common | options,
        required=frozenset(required),
        enums=_COMMON_ENUMS | (enums or {}),
        nullable=frozenset(("name", *nullable)),
        rules=rules,
    )


def _sensor_rules(c: dict[str, Any]) -> list[str]:
    """sensor.mqtt.markdown: `options` needs `device_class: enum`, is not empty, and excludes `state_class` and
    `unit_of_measurement`; `last_reset_value_template` needs `state_class: total`."""
    errors = []
    if "options" in c:
        if c.get("device_class") != "enum":
            errors.append("options: requires device_class 'enum'")
        if isinstance(c["options"], list) and not c["options"]:
            errors.append("options: an empty list is not allowed")
        errors += [
            f"options: cannot be used together with {k}"
            for k in ("state_class", "unit_of_measurement")
            if c.get(k) is not None
        ]
    if "last_reset_value_template" in c and c.get("state_class") != "total":
        errors.append("last_reset_value_template: requires state_class 'total'")
    return errors


def _light_json_rules(c: dict[str, Any]) -> list[str]:
    """light.mqtt.markdown (JSON schema): each supported color mode is documented, and `onoff` or `brightness`
    "must be the _only_ value in the list"."""
    modes = c.get("supported_color_modes")
    if not isinstance(modes, list):
        return []
    errors = [
        f"supported_color_modes: {m!r} is not one of {sorted(LIGHT_COLOR_MODES)}"
        for m in modes
        if m not in LIGHT_COLOR_MODES
    ]
    if len(modes) > 1 and LIGHT_EXCLUSIVE_COLOR_MODES & set(modes):
        errors.append("supported_color_modes: 'onoff' or 'brightness' must be the only value in the list")
    return errors


def _number_rules(c: dict[str, Any]) -> list[str]:
    """number.mqtt.markdown: `step`'s smallest value is 0.001."""
    step = c.get("step")
    if isinstance(step, int | float) and not isinstance(step, bool) and step < NUMBER_MIN_STEP:
        return [f"step: {step} is below the smallest value {NUMBER_MIN_STEP}"]
    return []


def _climate_rules(c: dict[str, Any]) -> list[str]:
    """climate.mqtt.markdown: `modes` must be a subset of the default modes."""
    modes = c.get("modes")
    if not isinstance(modes, list):
        return []
    return [f"modes: {m!r} is not one of {sorted(CLIMATE_MODES)}" for m in modes if m not in CLIMATE_MODES]


# sensor.mqtt.markdown
SENSOR = _schema(
    {
        "device_class": STR,
        "expire_after": INT,
        "force_update": BOOL,
        "last_reset_value_template": STR,
        "options": LIST,
        "suggested_display_precision": INT,
        "state_class": STR,
        "state_topic": STR,
        "unit_of_measurement": STR,
        "value_template": STR,
    },
    ("state_topic",),
    enums={
        "device_class": SENSOR_DEVICE_CLASSES,
        "state_class": SENSOR_STATE_CLASSES,
        "entity_category": SENSOR_ENTITY_CATEGORIES,
    },
    nullable=("device_class", "unit_of_measurement"),
    rules=(_sensor_rules,),
)
# binary_sensor.mqtt.markdown
BINARY_SENSOR = _schema(
    {
        "device_class": STR,
        "expire_after": INT,
        "force_update": BOOL,
        "off_delay": INT,
        "payload_off": STR,
        "payload_on": STR,
        "state_topic": STR,
        "value_template": STR,
    },
    ("state_topic",),
    enums={"device_class": BINARY_SENSOR_DEVICE_CLASSES, "entity_category": SENSOR_ENTITY_CATEGORIES},
    nullable=("device_class",),
)
# switch.mqtt.markdown (its device classes live on switch.markdown, not read here: a string is all that is checked)
SWITCH = _schema(
    {
        "command_template": STR,
        "command_topic": STR,
        "device_class": STR,
        "optimistic": BOOL,
        "payload_off": STR,
        "payload_on": STR,
        "retain": BOOL,
        "state_off": STR,
        "state_on": STR,
        "state_topic": STR,
        "value_template": STR,
    },
    ("command_topic",),
    nullable=("device_class",),
)
# button.mqtt.markdown (device classes on button.markdown, not read here)
BUTTON = _schema(
    {"command_template": STR, "command_topic": STR, "device_class": STR, "payload_press": STR, "retain": BOOL},
    ("command_topic",),
    nullable=("device_class",),
)
# lock.mqtt.markdown
LOCK = _schema(
    {
        "code_format": STR,
        "command_template": STR,
        "command_topic": STR,
        "optimistic": BOOL,
        "payload_lock": STR,
        "payload_unlock": STR,
        "payload_open": STR,
        "payload_reset": STR,
        "retain": BOOL,
        "state_jammed": STR,
        "state_locked": STR,
        "state_locking": STR,
        "state_topic": STR,
        "state_unlocked": STR,
        "state_unlocking": STR,
        "value_template": STR,
    },
    ("command_topic",),
)
# cover.mqtt.markdown; payload_open/close/stop "needs to be set to `null`" in discovery to disable that command.
COVER = _schema(
    {
        "command_topic": STR,
        "device_class": STR,
        "optimistic": BOOL,
        "payload_close": STR,
        "payload_open": STR,
        "payload_stop": STR,
        "position_closed": INT,
        "position_open": INT,
        "position_template": STR,
        "position_topic": STR,
        "retain": BOOL,
        "set_position_template": STR,
        "set_position_topic": STR,
        "state_closed": STR,
        "state_closing": STR,
        "state_open": STR,
        "state_opening": STR,
        "state_stopped": STR,
        "state_topic": STR,
        "tilt_closed_value": INT,
        "tilt_command_template": STR,
        "tilt_command_topic": STR,
        "tilt_max": INT,
        "tilt_min": INT,
        "tilt_opened_value": INT,
        "tilt_optimistic": BOOL,
        "tilt_status_template": STR,
        "tilt_status_topic": STR,
        "value_template": STR,
    },
    enums={"device_class": COVER_DEVICE_CLASSES},
    nullable=("device_class", "payload_open", "payload_close", "payload_stop"),
)
# number.mqtt.markdown (device classes on number.markdown, not read here)
NUMBER = _schema(
    {
        "command_template": STR,
        "command_topic": STR,
        "device_class": STR,
        "max": FLOAT,
        "min": FLOAT,
        "mode": STR,
        "optimistic": BOOL,
        "payload_reset": STR,
        "retain": BOOL,
        "state_topic": STR,
        "step": FLOAT,
        "unit_of_measurement": STR,
        "value_template": STR,
    },
    ("command_topic",),
    enums={"mode": NUMBER_MODES},
    nullable=("device_class", "unit_of_measurement"),
    rules=(_number_rules,),
    without=("availability_template",),
)
# select.mqtt.markdown
SELECT = _schema(
    {
        "command_template": STR,
        "command_topic": STR,
        "optimistic": BOOL,
        "options": LIST,
        "retain": BOOL,
        "state_topic": STR,
        "value_template": STR,
    },
    ("command_topic", "options"),
)
# climate.mqtt.markdown: nothing is required.
_CLIMATE_TOPIC_GROUPS = (
    "fan_mode",
    "mode",
    "swing_horizontal_mode",
    "swing_mode",
    "temperature",
    "temperature_high",
    "temperature_low",
)
CLIMATE = _schema(
    {
        "action_template": STR,
        "action_topic": STR,
        "current_humidity_template": STR,
        "current_humidity_topic": STR,
        "current_temperature_template": STR,
        "current_temperature_topic": STR,
        "fan_modes": LIST,
        "initial": FLOAT,
        "max_humidity": FLOAT,
        "max_temp": FLOAT,
        "min_humidity": FLOAT,
        "min_temp": FLOAT,
        "modes": LIST,
        "optimistic": BOOL,
        "payload_off": STR,
        "payload_on": STR,
        "power_command_template": STR,
        "power_command_topic": STR,
        "precision": FLOAT,
        "preset_mode_command_template": STR,
        "preset_mode_command_topic": STR,
        "preset_mode_state_topic": STR,
        "preset_mode_value_template": STR,
        "preset_modes": LIST,
        "retain": BOOL,
        "swing_horizontal_modes": LIST,
        "swing_modes": LIST,
        "target_humidity_command_template": STR,
        "target_humidity_command_topic": STR,
        "target_humidity_state_topic": STR,
        "target_humidity_state_template": STR,
        "temperature_unit": STR,
        "temp_step": FLOAT,
        "value_template": STR,
    }
    | {
        f"{g}_{kind}": STR
        for g in _CLIMATE_TOPIC_GROUPS
        for kind in ("command_template", "command_topic", "state_template", "state_topic")
    },
    enums={"temperature_unit": CLIMATE_TEMPERATURE_UNITS, "precision": CLIMATE_PRECISIONS},
    rules=(_climate_rules,),
)
# light.mqtt.markdown, "Default schema - Configuration".
_LIGHT_COLOR_TOPICS = {
    f"{c}_{kind}": STR
    for c in ("hs", "rgb", "rgbw", "rgbww", "xy")
    for kind in ("command_template", "command_topic", "state_topic", "value_template")
}
LIGHT_DEFAULT = _schema(
    {
        "brightness_command_topic": STR,
        "brightness_command_template": STR,
        "brightness_scale": INT,
        "brightness_state_topic": STR,
        "brightness_value_template": STR,
        "color_mode_state_topic": STR,
        "color_mode_value_template": STR,
        "color_temp_command_template": STR,
        "color_temp_command_topic": STR,
        "color_temp_kelvin": BOOL,
        "color_temp_state_topic": STR,
        "color_temp_value_template": STR,
        "command_topic": STR,
        "effect_command_topic": STR,
        "effect_command_template": STR,
        "effect_list": STR_OR_LIST,
        "effect_state_topic": STR,
        "effect_value_template": STR,
        "max_kelvin": INT,
        "max_mireds": INT,
        "min_kelvin": INT,
        "min_mireds": INT,
        "on_command_type": STR,
        "optimistic": BOOL,
        "payload_off": STR,
        "payload_on": STR,
        "retain": BOOL,
        "schema": STR,
        "state_topic": STR,
        "state_value_template": STR,
        "white_command_topic": STR,
        "white_scale": INT,
    }
    | _LIGHT_COLOR_TOPICS,
    ("command_topic",),
    enums={"schema": LIGHT_SCHEMAS, "on_command_type": LIGHT_ON_COMMAND_TYPES},
)
# light.mqtt.markdown, "JSON schema - Configuration".
LIGHT_JSON = _schema(
    {
        "brightness": BOOL,
        "brightness_scale": INT,
        "color_temp_kelvin": BOOL,
        "command_topic": STR,
        "effect": BOOL,
        "effect_list": STR_OR_LIST,
        "flash_time_long": INT,
        "flash_time_short": INT,
        "max_kelvin": INT,
        "max_mireds": INT,
        "min_kelvin": INT,
        "min_mireds": INT,
        "optimistic": BOOL,
        "retain": BOOL,
        "schema": STR,
        "state_topic": STR,
        "supported_color_modes": LIST,
        "white_scale": INT,
    },
    ("command_topic",),
    enums={"schema": LIGHT_SCHEMAS},
    rules=(_light_json_rules,),
)

# The platforms this validator models (the light's schema is chosen by its `schema` option).
PLATFORMS: dict[str, PlatformSchema] = {
    "sensor": SENSOR,
    "binary_sensor": BINARY_SENSOR,
    "switch": SWITCH,
    "button": BUTTON,
    "lock": LOCK,
    "cover": COVER,
    "number": NUMBER,
    "select": SELECT,
    "climate": CLIMATE,
    "light": LIGHT_DEFAULT,
}
LIGHT_SCHEMA_BY_NAME: dict[str, PlatformSchema] = {"default": LIGHT_DEFAULT, "json": LIGHT_JSON}

# Keys any discovery payload may carry besides the platform's options (mqtt.markdown, "Discovery payload"): the
# base topic `~`, and `origin`, recommended for single-component discovery and required for device discovery.
BASE_TOPIC = "~"
PAYLOAD_EXTRAS: dict[str, tuple[type, ...]] = {"origin": DICT}

# Device discovery's "Supported shared options" (mqtt.markdown, "Device discovery payload"): the availability
# options, `origin`, `command_topic`, `state_topic`, `qos` and `encoding`; `device` and `origin` are mandatory and
# "cannot be overridden at the entity/component level".
SHARED_OPTIONS = frozenset(
    {
        "availability",
        "availability_mode",
        "availability_template",
        "availability_topic",
        "payload_available",
        "payload_not_available",
        "command_topic",
        "state_topic",
        "qos",
        "encoding",
    }
)

# --- Validation -------------------------------------------------------------------------------------------------


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    # bool is an int subclass in Python, but JSON true is no number: only accept it where a boolean is documented.
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


def _expand(payload: Mapping[str, Any], table: Mapping[str, str], where: str) -> tuple[dict[str, Any], list[str]]:
    """Expand abbreviated keys with one of the documented tables; report a key given both ways."""
    out: dict[str, Any] = {}
    errors: list[str] = []
    for key, value in payload.items():
        full = table.get(key, key)
        if full in out:
            errors.append(f"{where}{full}: given twice (abbreviated and in full)")
        out[full] = value
    return out, errors


def _expand_all(payload: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Expand every documented abbreviation: the options, and the keys inside `device`, `origin` and each
    `availability` item. Unknown keys are kept as they are, to be reported by the checks."""
    config, errors = _expand(payload, OPTION_ABBREVIATIONS, "")
    for key, table in (("device", DEVICE_ABBREVIATIONS), ("origin", ORIGIN_ABBREVIATIONS)):
        if isinstance(config.get(key), Mapping):
            config[key], more = _expand(config[key], table, f"{key}.")
            errors += more
    if isinstance(config.get("availability"), list):
        items = []
        for i, item in enumerate(config["availability"]):
            if isinstance(item, Mapping):
                item, more = _expand(item, OPTION_ABBREVIATIONS, f"availability[{i}].")
                errors += more
            items.append(item)
        config["availability"] = items
    return config, errors


def expand_abbreviations(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload with every documented abbreviation expanded (see _expand_all)."""
    return _expand_all(payload)[0]


def _substitute_base(config: dict[str, Any], errors: list[str]) -> None:
    """Apply `~`: "In the value of configuration variables ending with `_topic`, `~` will be replaced with the base
    topic, if the `~` occurs at the beginning or end of the value" (mqtt.markdown)."""
    if BASE_TOPIC not in config:
        return
    base = config.pop(BASE_TOPIC)
    if not isinstance(base, str) or not base:
        errors.append(f"{BASE_TOPIC}: the base topic must be a non-empty string")
        return
    for key, value in config.items():
        if key.endswith("_topic") and isinstance(value, str):
            if value.startswith(BASE_TOPIC):
                value = base + value[1:]
            if value.endswith(BASE_TOPIC):
                value = value[:-1] + base
            config[key] = value


def _is_publish_topic(key: str) -> bool:
    # Topics Home Assistant publishes to: every `*command_topic`, and the cover's `set_position_topic`. A topic
    # published to must not hold the wildcards `+` or `#` (MQTT 3.1.1, section 4.7.1).
    return key.endswith("command_topic") or key == "set_position_topic"


def _check_topic(key: str, value: Any) -> list[str]:
    if not isinstance(value, str) or not value:
        return [f"{key}: a topic must be a non-empty string"]
    if _is_publish_topic(key) and ("+" in value or "#" in value):
        return [f"{key}: {value!r} holds an MQTT wildcard ('+' or '#'); HA publishes to it"]
    return []


def _check_keys(block: Mapping[str, Any], keys: Mapping[str, tuple[type, ...]], where: str) -> list[str]:
    errors = []
    for key, value in block.items():
        if key not in keys:
            errors.append(f"{where}{key}: unknown key")
        elif not _type_ok(value, keys[key]):
            errors.append(f"{where}{key}: expected {_type_names(keys[key])}, got {type(value).__name__}")
    return errors


def _check_device(device: Any) -> list[str]:
    if not isinstance(device, Mapping):
        return ["device: expected dict"]
    errors = _check_keys(device, DEVICE_KEYS, "device.")
    # "At least one of identifiers or connections must be present to identify the device" (every platform page).
    if not device.get("identifiers") and not device.get("connections"):
        errors.append("device: needs 'identifiers' or 'connections'")
    connections = device.get("connections")
    if isinstance(connections, list):
        # "a list of tuples `[connection_type, connection_identifier]`".
        errors += [
            f"device.connections: {c!r} is not a [connection_type, connection_identifier] pair"
            for c in connections
            if not (isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) for x in c))
        ]
    return errors


def _check_origin(origin: Any) -> list[str]:
    if not isinstance(origin, Mapping):
        return ["origin: expected dict"]
    errors = _check_keys(origin, ORIGIN_KEYS, "origin.")
    if not origin.get("name"):
        errors.append("origin: 'name' is required")
    return errors


def _check_availability(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []  # the type check has already said so
    errors = []
    for i, item in enumerate(items):
        where = f"availability[{i}]"
        if not isinstance(item, Mapping):
            errors.append(f"{where}: expected dict")
            continue
        errors += _check_keys(item, AVAILABILITY_ITEM_KEYS, f"{where}.")
        if "topic" not in item:
            errors.append(f"{where}: 'topic' is required")
        else:
            errors += _check_topic(f"{where}.topic", item["topic"])
    return errors


def _schema_for(component: str, config: Mapping[str, Any]) -> PlatformSchema | str:
    """The schema for this component, or why there is none."""
    if component not in SUPPORTED_COMPONENTS:
        return f"{component!r} is not a platform supported by MQTT discovery"
    if component == "light":
        name = config.get("schema", "default")
        if not isinstance(name, str):
            return "schema: expected str"
        if name not in LIGHT_SCHEMA_BY_NAME:
            return (
                f"light schema {name!r} is not modelled by this validator"
                if name in LIGHT_SCHEMAS
                else f"schema: {name!r} is not one of {sorted(LIGHT_SCHEMAS)}"
            )
        return LIGHT_SCHEMA_BY_NAME[name]
    if component not in PLATFORMS:
        # Supported by HA, but its page was not encoded here: say so rather than let the payload pass unchecked.
        return f"{component!r} is supported by HA but not modelled by this validator"
    return PLATFORMS[component]


def validate_config(component: str, payload: Mapping[str, Any]) -> list[str]:
    """Check one component's discovery config (abbreviated or not) against its documented schema.

    Returns human-readable errors, empty when the config conforms. `component` is the platform name as in the
    discovery topic (``sensor``, ``light``...).
    """
    config, errors = _expand_all(payload)
    _substitute_base(config, errors)
    schema = _schema_for(component, config)
    if isinstance(schema, str):
        errors.append(schema)
    else:
        errors += _check_options(component, config, schema)
    return [f"{component}: {e}" for e in errors]


def _check_options(component: str, config: dict[str, Any], schema: PlatformSchema) -> list[str]:
    errors: list[str] = []
    for key, value in config.items():
        if key == "platform":
            errors.append("platform: only allowed inside the components of a device discovery payload")
            continue
        types = schema.options.get(key) or PAYLOAD_EXTRAS.get(key)
        if types is None:
            errors.append(f"{key}: unknown option")
            continue
        if value is None:
            if key not in schema.nullable:
                errors.append(f"{key}: must not be null")
            continue
        if not _type_ok(value, types):
            errors.append(f"{key}: expected {_type_names(types)}, got {type(value).__name__}")
            continue
        allowed = schema.enums.get(key)
        if allowed is not None and value not in allowed:
            errors.append(f"{key}: {value!r} is not one of {sorted(allowed, key=str)}")
        if key.endswith("_topic"):
            errors += _check_topic(key, value)
    errors += [f"{key}: required option missing" for key in sorted(schema.required - config.keys())]
    # "Must not be used together with `availability_topic`" (availability, every platform page).
    if "availability" in config and "availability_topic" in config:
        errors.append("availability: must not be used together with availability_topic")
    errors += _check_availability(config.get("availability"))
    if "device" in config:
        errors += _check_device(config["device"])
        # device: "Only works when `unique_id` is set" (every platform page).
        if component not in NON_ENTITY_COMPONENTS and "unique_id" not in config:
            errors.append("unique_id: required when a device is given")
    if "origin" in config:
        errors += _check_origin(config["origin"])
    for rule in schema.rules:
        errors += rule(config)
    return errors


def validate_device_discovery(payload: Mapping[str, Any]) -> list[str]:
    """Check a device-based discovery payload (topic ``<prefix>/device/<object_id>/config``).

    `dev` and `o` are required at the root and may not be overridden by a component; `cmps` maps component ids to
    configs that each name their platform in `p`. Each component inherits the root's shared options that its
    platform documents, and gets the device and origin, before being checked with validate_config. A component
    holding nothing but `p` is the documented way to remove it, and is accepted as such.
    """
    root, errors = _expand_all(payload)
    _substitute_base(root, errors)
    if "cmp" in root:
        # The prose says "(abbreviated as `cmp`)", but the abbreviation table and every example use `cmps`.
        errors.append("cmp: unknown key; the documented abbreviation of 'components' is 'cmps'")
        root.pop("cmp")
    device, origin = root.pop("device", None), root.pop("origin", None)
    components = root.pop("components", None)
    if device is None:
        errors.append("device (dev): required in device discovery")
    else:
        errors += _check_device(device)
    if origin is None:
        errors.append("origin (o): required in device discovery")
    else:
        errors += _check_origin(origin)
    errors += [
        f"{key}: not a supported shared option (shared: {sorted(SHARED_OPTIONS)})"
        for key in root
        if key not in SHARED_OPTIONS
    ]
    shared = {k: v for k, v in root.items() if k in SHARED_OPTIONS}
    if not isinstance(components, Mapping) or not components:
        errors.append("components (cmps): required, a non-empty dict of component id -> component config")
        return errors
    for component_id, raw in components.items():
        errors += [f"components.{component_id}: {e}" for e in _check_component(raw, shared)]
    return errors


def _check_component(raw: Any, shared: Mapping[str, Any]) -> list[str]:
    if not isinstance(raw, Mapping):
        return ["expected dict"]
    config, errors = _expand(raw, OPTION_ABBREVIATIONS, "")
    platform = config.pop("platform", None)
    if platform is None:
        return [*errors, "platform (p): required for each component"]
    if platform not in SUPPORTED_COMPONENTS:
        return [*errors, f"platform: {platform!r} is not a platform supported by MQTT discovery"]
    errors += [f"{key}: cannot be overridden at the component level" for key in ("device", "origin") if key in config]
    if not config:
        return errors  # removal of this component
    schema = _schema_for(platform, config)
    documented = schema.options if isinstance(schema, PlatformSchema) else {}
    # Shared options reach the components whose platform documents them (a shared state_topic means nothing to
    # a button); the component's own value wins. The device and origin were checked once, at the root.
    merged = {k: v for k, v in shared.items() if k in documented} | config
    if platform not in NON_ENTITY_COMPONENTS and "unique_id" not in merged:
        errors.append("unique_id: required for entity components in device discovery")
    return errors + validate_config(platform, merged)


def validate_discovery_message(topic: str, payload: bytes | str, prefix: str = DEFAULT_DISCOVERY_PREFIX) -> list[str]:
    """Check one published discovery message: its topic, then its JSON payload for that component.

    An empty payload is the documented way to remove what the topic discovered, so it is valid.
    """
    try:
        parsed = parse_discovery_topic(topic, prefix)
    except ValueError as exc:
        return [str(exc)]
    if payload in (b"", ""):
        return []
    try:
        config = json.loads(payload)
    except ValueError as exc:
        return [f"payload is not JSON: {exc}"]
    if not isinstance(config, dict):
        return ["payload must be a JSON object"]
    if parsed.component == DEVICE_COMPONENT:
        return validate_device_discovery(config)
    return validate_config(parsed.component, config)


# --- What Home Assistant makes of the state topics and sends on the command topics --------------------------------
#
# Encoded from the same pages: a value template is a Jinja template given `value` (the payload) and `value_json` (it
# parsed as JSON) (mqtt.markdown, "Using templates"; Home Assistant renders them with Jinja2, as done here); a "None"
# result resets the value to unknown (cover/climate pages). Cover tilt is a percentage, 0 closed .. 100 open, scaled
# from the tilt_min..tilt_max range (cover.mqtt.markdown: tilt_min, tilt_max, tilt_opened_value, tilt_closed_value;
# cover.markdown: "tilt position ... 0 is closed, 100 is fully open").

COVER_STATES = ("open", "opening", "closed", "closing", "stopped")
# climate.mqtt.markdown, action_topic: "Valid action values: `off`, `heating`, `cooling`, `drying`, `idle`, `fan`."
CLIMATE_ACTIONS = frozenset({"off", "heating", "cooling", "drying", "idle", "fan"})


def render(template: str, payload: bytes | str) -> str:
    """A value template rendered as Home Assistant renders it for an incoming payload."""
    import jinja2.sandbox  # a test dependency (pyproject's dev extra)

    text = payload.decode() if isinstance(payload, bytes) else payload
    try:
        value_json: Any = json.loads(text)
    except ValueError:
        value_json = None
    return (
        jinja2.sandbox.ImmutableSandboxedEnvironment()
        .from_string(template)
        .render(value=text, value_json=value_json)
        .strip()
    )


def cover_state(config: Mapping[str, Any], payload: bytes | str) -> str | None:
    """The cover's state after a message on its state topic (None: unknown)."""
    value = render(config["value_template"], payload) if "value_template" in config else str(payload)
    words = {config.get(f"state_{s}", s): s for s in COVER_STATES}
    return words.get(value)


def cover_tilt(config: Mapping[str, Any], payload: bytes | str) -> float:
    """The tilt percentage Home Assistant shows after a message on the tilt status topic."""
    raw = float(render(config["tilt_status_template"], payload)) if "tilt_status_template" in config else float(payload)
    low, high = config.get("tilt_min", 0), config.get("tilt_max", 100)
    return (raw - low) * 100 / (high - low)


def cover_tilt_command(config: Mapping[str, Any], percent: float | None = None, *, opening: bool | None = None) -> str:
    """What Home Assistant publishes on the tilt command topic: a set-tilt percentage scaled into tilt_min..tilt_max,
    or tilt_opened_value / tilt_closed_value for open / close tilt (no tilt_command_template here)."""
    if opening is not None:
        return str(config.get("tilt_opened_value", 100) if opening else config.get("tilt_closed_value", 0))
    assert percent is not None
    low, high = config.get("tilt_min", 0), config.get("tilt_max", 100)
    return str(round(low + (high - low) * percent / 100))


def climate_value(config: Mapping[str, Any], what: str, payload: bytes | str) -> str:
    """A climate entity's `mode`, `action`, `current_temperature` or `temperature` after a state message."""
    template = config.get(f"{what}_state_template") or config.get(f"{what}_template")
    assert template is not None, f"no template for {what}"
    return render(template, payload)
