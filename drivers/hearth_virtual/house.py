"""The demo house of ``make run``: a few dozen devices of every kind the catalogue has.

Its rooms are the ``[[places]]`` of ``config/demo.toml``; a device whose room is missing goes to the root.
"""

from __future__ import annotations

# (address, controllableName, label, place label)
DEMO_DEVICES: list[tuple[str, str, str, str]] = [
    ("1", "rts:RollerShutterRTSComponent", "Living room shutter (RTS)", "Living room"),
    ("2", "zigbee:RollerShutterGenericComponent", "Living room bay window", "Living room"),
    ("3", "zigbee:DimmableLightComponent", "Living room ceiling", "Living room"),
    ("4", "zigbee:ExtendedColorLightComponent", "Living room lamp", "Living room"),
    ("5", "zigbee:TemperatureSensorComponent", "Living room temperature", "Living room"),
    ("6", "zigbee:RelativeHumidityComponent", "Living room humidity", "Living room"),
    ("7", "zigbee:MotionSensorComponent", "Living room motion", "Living room"),
    ("8", "zwave:HeatingThermostatZWaveComponent", "Living room heating", "Living room"),
    ("9", "zigbee:SmartPlugComponent", "Coffee machine plug", "Kitchen"),
    ("10", "zigbee:OnOffLightComponent", "Kitchen light", "Kitchen"),
    ("11", "zwave:FloodSensorZWaveComponent", "Kitchen leak sensor", "Kitchen"),
    ("12", "zigbee:SmokeSensorComponent", "Kitchen smoke alarm", "Kitchen"),
    ("13", "zigbee:ElectricityMeterComponent", "Main electricity meter", "Kitchen"),
    ("14", "zwave:DoorLockZWaveComponent", "Front door lock", "Hall"),
    ("15", "zigbee:DoorSensorComponent", "Front door contact", "Hall"),
    ("16", "zigbee:ColorTemperatureLightComponent", "Hall light", "Hall"),
    ("17", "zwave:GarageDoorZWaveComponent", "Garage door", "Garage"),
    ("18", "rts:GarageDoorRTSComponent", "Garage side gate (RTS)", "Garage"),
    ("19", "zwave:OnOffZWaveComponent", "Garage light", "Garage"),
    ("20", "zigbee:VenetianBlindComponent", "Bedroom blind", "Bedroom"),
    ("21", "zwave:DimmableLightZWaveComponent", "Bedroom light", "Bedroom"),
    ("22", "zigbee:ThermostaticValveComponent", "Bedroom radiator", "Bedroom"),
    ("23", "ble:TemperatureSensorBLEComponent", "Bedroom thermometer", "Bedroom"),
    ("24", "zwave:RollerShutterZWaveComponent", "Kids room shutter", "Kids room"),
    ("25", "rts:LightRTSComponent", "Kids room night light (RTS)", "Kids room"),
    ("26", "zwave:MotionSensorZWaveComponent", "Kids room motion", "Kids room"),
    ("27", "ble:RelativeHumiditySensorBLEComponent", "Bathroom humidity", "Bathroom"),
    ("28", "zwave:SmartPlugZWaveComponent", "Towel warmer plug", "Bathroom"),
    ("29", "zigbee:HorizontalAwningComponent", "Terrace awning", "Garden"),
    ("30", "zigbee:LuminanceSensorComponent", "Garden light sensor", "Garden"),
    ("31", "zigbee:PressureSensorComponent", "Garden weather station", "Garden"),
    ("32", "rts:ExteriorVenetianBlindRTSComponent", "Pergola blind (RTS)", "Garden"),
    ("33", "rts:OnOffRTSComponent", "Garden fountain (RTS)", "Garden"),
    ("34", "zigbee:BatterySensorComponent", "Garden remote battery", "Garden"),
]
