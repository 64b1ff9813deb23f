"""The MQTT bridge for LAN consumers: Home Assistant's MQTT discovery, states out, commands in (bridge.py)."""

from hearth.bridge.bridge import MqttBridge

__all__ = ["MqttBridge"]
