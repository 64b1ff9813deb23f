// The controls that fit a device, picked from the commands of its controllable and the states it reports.
// The End-User API's definition gives a command's name and arity only, so the parameters' ranges are data
// here (they are those of config/controllables).

import {h, field, select} from "./dom.js";
import {lampColour, stateText} from "./vocabulary.js";

/** Parameters of the commands the page offers: [name, type, min, max, values]. */
export const PARAMETERS = {
  setIntensity: [["intensity", "int", 0, 100]],
  setClosure: [["closure", "int", 0, 100]],
  setDeployment: [["deployment", "int", 0, 100]],
  setOrientation: [["orientation", "int", 0, 100]],
  setClosureAndOrientation: [["closure", "int", 0, 100], ["orientation", "int", 0, 100]],
  setColorTemperature: [["colorTemperature", "int", 2000, 6500]],
  setHueAndSaturation: [["hue", "float", 0, 360], ["saturation", "float", 0, 100]],
  setRGB: [["red", "int", 0, 255], ["green", "int", 0, 255], ["blue", "int", 0, 255]],
  setTargetTemperature: [["temperature", "float", 5, 30]],
  setHeatingLevel: [["level", "enum", null, null, ["off", "frostprotection", "eco", "comfort"]]],
  setName: [["name", "string"]],
};

/** Whether a device's states are the gateway's estimate: a one-way protocol (RTS) cannot report. */
export function isAssumed(device) {
  const attribute = (device.attributes || []).find((a) => a.name.endsWith(":StatesAssumed"));
  if (attribute) return attribute.value === true;
  return device.controllableName.startsWith("rts:");
}

export function commandNames(device) {
  return new Set((device.definition && device.definition.commands || []).map((c) => c.commandName));
}

/** Parse a parameter as its command expects it; throws with a readable message when it does not fit. */
export function parseParameter(spec, text) {
  const [name, type, min, max, values] = spec;
  if (type === "string") return String(text);
  if (type === "enum") {
    if (!values.includes(text)) throw new Error(`${name} must be one of ${values.join(", ")}`);
    return text;
  }
  const number = Number(text);
  if (text === "" || !Number.isFinite(number) || (type === "int" && !Number.isInteger(number))) {
    throw new Error(`${name} must be ${type === "int" ? "a whole number" : "a number"}`);
  }
  if ((min !== null && min !== undefined && number < min) || (max !== null && max !== undefined && number > max)) {
    throw new Error(`${name} must be between ${min} and ${max}`);
  }
  return number;
}

/**
 * The controls of one device. `send(command, parameters)` runs a command; answers
 * {element, update(states)} where `states` maps a state name to its value.
 */
export function controlsFor(device, send) {
  const commands = commandNames(device);
  const parts = [];
  const has = (...names) => names.every((n) => commands.has(n));

  if (has("on", "off")) parts.push(onOff(send));
  if (has("lock", "unlock")) parts.push(lock(send));
  if (has("setIntensity")) parts.push(slider("Brightness", "setIntensity", "core:LightIntensityState", 0, 100, "%", send));
  const motion = ["open", "my", "stop", "close", "deploy", "undeploy", "up", "down"].filter((c) => commands.has(c));
  if (motion.length) parts.push(buttons(motion.filter((c) => !(c === "up" && commands.has("open"))
    && !(c === "down" && commands.has("close"))), send));
  // Shown and set as open %: our ClosureState and setClosure are closed % (0 open, 100 closed).
  if (has("setClosure")) {
    parts.push(slider("Open", "setClosure", "core:ClosureState", 0, 100, "%", send, (v) => 100 - v));
  }
  if (has("setDeployment")) parts.push(slider("Deployment", "setDeployment", "core:DeploymentState", 0, 100, "%", send));
  if (has("setOrientation")) {
    parts.push(slider("Tilt", "setOrientation", "core:SlateOrientationState", 0, 100, "%", send));
  }
  if (has("setRGB")) parts.push(colour(send));
  else if (has("setHueAndSaturation")) parts.push(hueColour(send));
  if (has("setColorTemperature")) {
    parts.push(slider("Colour temperature", "setColorTemperature", "core:ColorTemperatureState", 2000, 6500, "K", send));
  }
  if (has("setTargetTemperature")) parts.push(setpoint(send));
  if (has("setHeatingLevel")) parts.push(heatingMode(send));

  const element = h("div", {className: "controls"}, parts.map((p) => p.element));
  return {element, update: (states) => parts.forEach((p) => p.update(states))};
}

function onOff(send) {
  const button = h("button", {type: "button", role: "switch", "aria-checked": "false", "aria-label": "On/off"}, "Off");
  let on = false;
  button.addEventListener("click", () => send(on ? "off" : "on", []));
  return {element: h("div", {className: "row"}, button), update(states) {
    on = states["core:OnOffState"] === "on";
    button.setAttribute("aria-checked", String(on));
    button.textContent = on ? "On" : "Off";
  }};
}

function lock(send) {
  const lockButton = h("button", {type: "button", onclick: () => send("lock", [])}, "Lock");
  const unlockButton = h("button", {type: "button", className: "secondary", onclick: () => send("unlock", [])},
    "Unlock");
  return {element: h("div", {className: "row"}, lockButton, unlockButton), update(states) {
    const locked = states["core:LockedUnlockedState"] === "locked";
    lockButton.disabled = locked;
    unlockButton.disabled = !locked && states["core:LockedUnlockedState"] === "unlocked";
  }};
}

const BUTTON_TEXT = {open: "Open", close: "Close", stop: "Stop", my: "My", deploy: "Deploy",
                     undeploy: "Retract", up: "Up", down: "Down"};

function buttons(names, send) {
  const row = h("div", {className: "row"}, names.map((name) => h("button", {
    type: "button", className: name === "stop" ? "secondary" : "", onclick: () => send(name, []),
  }, BUTTON_TEXT[name] || name)));
  return {element: row, update() {}};
}

/**
 * A range that sends its command when let go, and follows the state unless a finger is on it. `flip` maps
 * between what is shown and what is sent (its own inverse: open % <-> closed %).
 */
function slider(text, command, stateName, min, max, unit, send, flip = (v) => v) {
  const input = h("input", {type: "range", min, max, step: 1});
  const shown = h("span", {className: "muted"});
  // The value is beside the name while the slider moves; the card's states say it the rest of the time.
  input.addEventListener("input", () => { shown.textContent = `${input.value} ${unit}`; });
  input.addEventListener("change", () => {
    shown.textContent = "";
    send(command, [flip(Number(input.value))]);
  });
  return {element: field(h("span", {}, `${text} `, shown), input), update(states) {
    const value = states[stateName];
    if (typeof value === "number" && document.activeElement !== input) input.value = String(flip(value));
  }};
}

function colour(send) {
  const input = h("input", {type: "color", "aria-label": "Colour"});
  // The picker shows the lamp's colour: one swatch instead of three raw numbers.
  input.addEventListener("change", () => {
    const v = input.value;
    send("setRGB", [1, 3, 5].map((i) => parseInt(v.slice(i, i + 2), 16)));
  });
  return {element: field("Colour", input), update(states) {
    const shown = lampColour(states);
    if (shown && document.activeElement !== input) input.value = shown;
  }};
}

/** Hue and saturation from a colour picker (at full value: brightness is its own control). */
function hueColour(send) {
  const input = h("input", {type: "color", "aria-label": "Colour"});
  input.addEventListener("change", () => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(input.value.slice(i, i + 2), 16) / 255);
    const max = Math.max(r, g, b), min = Math.min(r, g, b), d = max - min;
    let hue = 0;
    if (d) hue = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    send("setHueAndSaturation", [Math.round(((hue * 60) + 360) % 360), Math.round(max ? (d / max) * 100 : 0)]);
  });
  return {element: field("Colour", input), update(states) {
    const shown = lampColour(states);
    if (shown && document.activeElement !== input) input.value = shown;
  }};
}

function setpoint(send) {
  const [, , min, max] = PARAMETERS.setTargetTemperature[0];
  const input = h("input", {type: "number", min, max, step: 0.5, inputmode: "decimal"});
  const refusal = h("span", {className: "error", role: "alert"});
  input.addEventListener("change", () => {
    const value = Number(input.value);
    if (input.value === "" || !Number.isFinite(value)) {
      refusal.textContent = "Type a temperature in °C.";
    } else if (value < min || value > max) {
      // Said, not ignored: the thermostat takes min..max; nothing is sent.
      refusal.textContent = `${value} °C is not sent: this thermostat takes ${min} to ${max} °C.`;
    } else {
      refusal.textContent = "";
      send("setTargetTemperature", [value]);
    }
  });
  return {element: h("div", {}, field("Setpoint (°C)", input), refusal), update(states) {
    const value = states["core:TargetTemperatureState"];
    if (typeof value === "number" && document.activeElement !== input) input.value = String(value);
  }};
}

function heatingMode(send) {
  const levels = PARAMETERS.setHeatingLevel[0][4];
  const el = select(levels.map((l) => [l, stateText("core:TargetHeatingLevelState", l)]), null);
  el.addEventListener("change", () => send("setHeatingLevel", [el.value]));
  return {element: field("Heating mode", el), update(states) {
    const value = states["core:TargetHeatingLevelState"];
    if (levels.includes(value) && document.activeElement !== el) el.value = value;
  }};
}
