// What a person reads instead of our vocabulary: state names, values with their units, device kinds and icons.
// The End-User API gives a state's name and raw value only; the words and units here are those of the states'
// definitions in config/controllables (and of the seed's appendix for core: states).

import {stateTitle} from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

/** name -> {title, unit, words (value -> text), show(value) -> number|text, measure: a number to chart}. */
const STATES = {
  "core:OnOffState": {title: "Power", words: {on: "On", off: "Off"}},
  "core:LightIntensityState": {title: "Brightness", unit: "%", measure: true},
  // Our ClosureState is how far closed (0 open, 100 closed); people read how far open, as Home Assistant does.
  "core:ClosureState": {title: "Open", unit: "%", show: (v) => 100 - v, measure: true},
  "core:TargetClosureState": {title: "Opening to", unit: "%", show: (v) => 100 - v},
  "core:OpenClosedState": {title: "Position", words: {open: "Open", closed: "Closed"}},
  "core:OpenClosedUnknownState": {title: "Position", words: {open: "Open", closed: "Closed", unknown: "Unknown"}},
  "core:ContactState": {title: "Contact", words: {open: "Open", closed: "Closed"}},
  "core:DeploymentState": {title: "Deployed", unit: "%", measure: true},
  "core:SlateOrientationState": {title: "Tilt", unit: "%"},
  "core:MovingState": {title: "Moving", words: {true: "Moving", false: "Still"}},
  "core:TemperatureState": {title: "Temperature", unit: "°C", measure: true, digits: 1},
  "core:TargetTemperatureState": {title: "Setpoint", unit: "°C", digits: 1, measure: true},
  "core:RelativeHumidityState": {title: "Humidity", unit: "%", measure: true},
  "core:LuminanceState": {title: "Illuminance", unit: "lx", measure: true},
  "core:AtmosphericPressureState": {title: "Pressure", unit: "hPa", measure: true},
  "core:ElectricPowerConsumptionState": {title: "Power use", unit: "W", measure: true},
  "core:ElectricEnergyConsumptionState": {title: "Energy", unit: "kWh", show: (v) => v / 1000, digits: 2, measure: true},
  "core:OccupancyState": {title: "Motion", words: {personInside: "Detected", noPersonInside: "Clear"}},
  "core:SmokeState": {title: "Smoke", words: {detected: "Detected", notDetected: "Clear"}},
  "core:WaterDetectionState": {title: "Water", words: {detected: "Detected", notDetected: "Dry"}},
  "core:LockedUnlockedState": {title: "Lock", words: {locked: "Locked", unlocked: "Unlocked"}},
  "core:BatteryLevelState": {title: "Battery", unit: "%", measure: true},
  "core:BatteryState": {title: "Battery", words: {full: "Full", normal: "Good", low: "Low", verylow: "Very low"}},
  "ble:BatteryVoltageState": {title: "Battery voltage", unit: "V", digits: 2},
  "core:RSSILevelState": {title: "Signal", unit: "%", measure: true},
  "core:ColorTemperatureState": {title: "Colour temperature", unit: "K"},
  "core:TargetHeatingLevelState": {title: "Heating mode",
    words: {off: "Off", frostprotection: "Frost protection", eco: "Eco", comfort: "Comfort"}},
  "zigbee:PermitJoinState": {title: "Open for joining", words: {true: "Yes", false: "No"}},
  "zigbee:ChannelState": {title: "Channel"},
};

// Parts of a colour: shown as one swatch, not as 5 numbers.
export const COLOUR_STATES = new Set(["core:RedColorIntensityState", "core:GreenColorIntensityState",
  "core:BlueColorIntensityState", "core:ColorHueState", "core:ColorSaturationState"]);
// States that say nothing a person needs on a card.
export const QUIET_STATES = new Set(["core:NameState", "core:StatusState", "rts:LastCommandTimeState",
  "zigbee:ExtendedPanIdState", "zigbee:PanIdState", "zwave:HomeIdState", "core:TargetClosureState"]);

export function stateName(name) {
  return STATES[name] ? STATES[name].title : stateTitle(name);
}

export function stateUnit(name) {
  return STATES[name] && STATES[name].unit || "";
}

/** Whether a state is a number worth a chart. */
export function isMeasure(name, value) {
  return Boolean(STATES[name] && STATES[name].measure) || (!STATES[name] && typeof value === "number");
}

/** A state's value as a person reads it, without its unit: "On", "Detected", "21.5", "30" (open %). */
export function stateText(name, value) {
  const spec = STATES[name] || {};
  if (value === null || value === undefined) return "–";
  if (spec.words && Object.prototype.hasOwnProperty.call(spec.words, String(value))) return spec.words[String(value)];
  if (typeof value === "number") return numberText(spec.show ? spec.show(value) : value, spec.digits);
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "object") return JSON.stringify(value);
  return humaniseWord(String(value));
}

/** A state's value in the unit the page shows it in (open %, kWh): for charts and comparisons. */
export function stateNumber(name, value) {
  const spec = STATES[name] || {};
  const number = Number(value);
  return spec.show ? spec.show(number) : number;
}

function numberText(number, digits) {
  if (!Number.isFinite(number)) return String(number);
  if (digits !== undefined) return number.toFixed(digits);
  return Number.isInteger(number) ? String(number) : number.toFixed(1);
}

/** "noPersonInside" -> "No person inside"; plain words stay as they are. */
function humaniseWord(text) {
  if (!/^[a-z]+[A-Z]/.test(text)) return text;
  const words = text.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The colour a lamp shows, as #rrggbb, from its RGB or hue/saturation states; null if it has none. */
export function lampColour(states) {
  const r = states["core:RedColorIntensityState"];
  if (typeof r === "number") {
    return hex(r, states["core:GreenColorIntensityState"], states["core:BlueColorIntensityState"]);
  }
  const hue = states["core:ColorHueState"], sat = states["core:ColorSaturationState"];
  if (typeof hue !== "number" || typeof sat !== "number") return null;
  const c = sat / 100, x = c * (1 - Math.abs(((hue / 60) % 2) - 1)), m = 1 - c;
  const [rr, g, b] = hue < 60 ? [c, x, 0] : hue < 120 ? [x, c, 0] : hue < 180 ? [0, c, x] :
    hue < 240 ? [0, x, c] : hue < 300 ? [x, 0, c] : [c, 0, x];
  return hex((rr + m) * 255, (g + m) * 255, (b + m) * 255);
}

export function hex(r, g, b) {
  return "#" + [r, g, b].map((v) => Math.max(0, Math.min(255, Math.round(v || 0))).toString(16).padStart(2, "0")).join("");
}

// ------------------------------------------------------------------ kinds and icons

/** What kind of thing a device is, from its uiClass (the seed's UI classes) and its commands. */
export function kindOf(device) {
  const ui = device.uiClass || "";
  const commands = new Set((device.definition && device.definition.commands || []).map((c) => c.commandName));
  if (ui === "Light" || ui.endsWith("Light")) return "light";
  if (/Shutter|Blind|Screen|Awning|Curtain|Window|GarageDoor|Gate|Pergola/.test(ui)) return "cover";
  if (/Heat|Thermostat|Radiator|Climate|HVAC/i.test(ui) || commands.has("setTargetTemperature")) return "climate";
  if (/Lock|DoorLock/.test(ui) || commands.has("lock")) return "lock";
  if (/Plug|Switch|OnOff/.test(ui) || commands.has("on")) return "switch";
  if (/Sensor|Contact|Detector|Meter/.test(ui) || !commands.size) return "sensor";
  return "other";
}

export const KIND_WORDS = {light: "Lights", cover: "Covers", climate: "Heating", lock: "Locks", switch: "Switches",
  sensor: "Sensors", other: "Other"};

// Icons drawn for this page (24×24, strokes in the text colour): nothing is loaded from elsewhere.
const ICONS = {
  light: ["M9 18h6", "M10 21h4", "M12 3a6 6 0 0 0-4 10.5c.8.8 1 1.6 1 2.5h6c0-.9.2-1.7 1-2.5A6 6 0 0 0 12 3z"],
  cover: ["M4 3h16v18H4z", "M4 7h16", "M4 11h16", "M4 15h16"],
  climate: ["M10 4a2 2 0 0 1 4 0v10a4 4 0 1 1-4 0z", "M12 10v7"],
  lock: ["M6 11h12v10H6z", "M8 11V7a4 4 0 0 1 8 0v4"],
  switch: ["M8 3v5", "M16 3v5", "M6 8h12v4a6 6 0 0 1-12 0z", "M12 18v3"],
  sensor: ["M12 3v3", "M5 12H2", "M22 12h-3", "M12 21v-3", "M12 8a4 4 0 1 1 0 8 4 4 0 0 1 0-8z"],
  motion: ["M13 4a1.5 1.5 0 1 1 0 .1", "M9 20l3-6 3 3v4", "M7 12l3-4h4l2 4", "M12 14l-1-6"],
  door: ["M6 3h10v18H6z", "M13 12h1", "M16 21h3"],
  battery: ["M3 8h16v8H3z", "M21 11v2"],
  other: ["M4 4h16v16H4z", "M9 9h6v6H9z"],
};

/** The icon of a device (its kind, refined by what it senses). */
export function iconFor(device) {
  const states = device.stateMap || {};
  let name = kindOf(device);
  if ("core:OccupancyState" in states) name = "motion";
  else if ("core:ContactState" in states) name = "door";
  return icon(name);
}

export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  for (const d of ICONS[name] || ICONS.other) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

/** Whether a device is "on" for its card's colour: a light or plug on, a cover open, a sensor triggered. */
export function isActive(states) {
  return states["core:OnOffState"] === "on" || states["core:OccupancyState"] === "personInside"
    || states["core:ContactState"] === "open" || states["core:OpenClosedState"] === "open"
    || (typeof states["core:ClosureState"] === "number" && states["core:ClosureState"] < 100);
}

// ------------------------------------------------------------------ commands

const COMMANDS = {
  on: "Switch on", off: "Switch off", toggle: "Toggle", setIntensity: "Set brightness",
  setClosure: "Set opening (closed %)", setDeployment: "Set deployment", setOrientation: "Set tilt",
  setClosureAndOrientation: "Set position and tilt", open: "Open", close: "Close", stop: "Stop",
  my: "Go to My position", up: "Up", down: "Down", deploy: "Deploy", undeploy: "Retract",
  lock: "Lock", unlock: "Unlock", setRGB: "Set colour (RGB)", setHueAndSaturation: "Set colour",
  setColorTemperature: "Set colour temperature", setTargetTemperature: "Set setpoint",
  setHeatingLevel: "Set heating mode", refreshState: "Refresh", identify: "Identify", wink: "Identify",
  setName: "Rename", pair: "Pair (PROG)", unpair: "Unpair",
};

/** "setIntensity" -> "Set brightness"; unknown names in words ("setFooBar" -> "Set foo bar"). */
export function commandName(name) {
  if (COMMANDS[name]) return COMMANDS[name];
  const words = String(name).replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "zigbee:RollerShutterRTSComponent" -> "Roller shutter RTS": the kind of device, when the radio names no model. */
export function kindWords(controllableName) {
  const bare = controllableName.split(":").pop().replace(/Component$/, "");
  const words = bare.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2");
  return words.split(" ").map((w, i) => (i && !/^[A-Z]+$/.test(w) ? w.toLowerCase() : w)).join(" ");
}
