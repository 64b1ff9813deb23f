// The editors of the setup triggers, one form per kind, none needing JSON: conditions with a delay and a time
// window (times, dawn, dusk), a value crossing thresholds, each value of a state, a command at set times.
// Each form's build() answers the End-User API's body {"<type>": {...}}; a trigger a form cannot show whole
// (nested blocks, several intervals) opens in the JSON editor instead (automation.js decides).

import {conditionRow, statesOf} from "./conditions.js";
import {PARAMETERS, parseParameter} from "./controls.js";
import {h, field, select} from "./dom.js";
import {commandName, stateName, stateText} from "./vocabulary.js";

export const KINDS = [["ifThenSetupTrigger", "When conditions hold"],
  ["sensorThreshold", "When a value goes above or below a limit"],
  ["discreteTrigger", "On each value of a state"],
  ["genericCommandSchedulingTrigger", "A command at set times"]];

const NOTHING = "";

function groupSelect(actionGroups, chosen, label, optional) {
  const options = actionGroups.map((g) => [g.oid, g.label]);
  return select(optional ? [[NOTHING, "nothing"], ...options] : options, chosen ?? (optional ? NOTHING : undefined),
    {"aria-label": label});
}

function effectsOf(oid) {
  return oid ? [{actionGroupEffect: {actionGroupOID: oid}}] : [];
}

function firstGroup(effects) {
  const first = (effects || [])[0];
  return first ? Object.values(first)[0].actionGroupOID : undefined;
}

function seconds(input, what) {
  const value = Number(input.value || 0);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${what}: a whole number of seconds, 0 or more.`);
  return value;
}

function deviceAndState(book, deviceURL, stateName_, filter, labels = {}) {
  const fits = (d) => statesOf(d).some((st) => st.name !== "core:NameState" && filter(d, st));
  const device = select(book.options().filter(([url]) => fits(book.get(url))), deviceURL,
    {"aria-label": labels.device || "Device"});
  const state = h("select", {"aria-label": labels.state || "State"});
  const fillStates = (chosen) => {
    const states = statesOf(book.get(device.value)).filter((s) => s.name !== "core:NameState" && filter(null, s));
    state.replaceChildren(...states.map((s) => h("option", {value: s.name}, stateName(s.name))));
    if (chosen) state.value = chosen;
  };
  device.addEventListener("change", () => { fillStates(); state.dispatchEvent(new Event("change")); });
  fillStates(stateName_);
  return {device, state};
}

// ------------------------------------------------------------------ a time of the day: a time, dawn or dusk

/** A bound of a daily window: {type, minutes, offset} as the End-User API's start.../stop... fields. */
function boundEditor(prefix, words, bound) {
  const type = select([["TIME", "at"], ["DAWN", "at dawn"], ["DUSK", "at dusk"]], bound ? bound.type : "TIME",
    {"aria-label": `${words}: when`});
  const minutes = bound && bound.type === "TIME" ? bound.minutes : prefix === "start" ? 0 : 1440;
  const time = h("input", {type: "time", "aria-label": `${words}: time`,
    value: `${String(Math.floor(minutes / 60) % 24).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`});
  const offset = h("input", {type: "number", step: 1, min: -720, max: 720, value: bound ? bound.offset || 0 : 0,
                             "aria-label": `${words}: minutes after (before if negative)`, size: 5});
  const offsetField = field("minutes after (– before)", offset);
  const show = () => {
    time.hidden = type.value !== "TIME";
    offsetField.hidden = type.value === "TIME";
  };
  type.addEventListener("change", show);
  show();
  const element = h("div", {className: "row"}, h("span", {}, words), type, time, offsetField);
  element.read = () => {
    if (type.value === "TIME") {
      const match = /^(\d\d):(\d\d)$/.exec(time.value);
      if (!match) throw new Error(`${words}: choose a time.`);
      let value = Number(match[1]) * 60 + Number(match[2]);
      if (prefix === "stop" && value === 0) value = 1440;  // "until 00:00" is the end of the day
      return {[`${prefix}Type`]: "TIME", [`${prefix}Minutes`]: value};
    }
    const minutesOff = Number(offset.value || 0);
    if (!Number.isInteger(minutesOff) || minutesOff < -720 || minutesOff > 720) {
      throw new Error(`${words}: the offset is -720 to 720 minutes.`);
    }
    return {[`${prefix}Type`]: type.value, [`${prefix}Offset`]: minutesOff};
  };
  return element;
}

/** "Any time" or one daily window; answers {element, read() -> [] or [interval]}. */
function windowEditor(intervals) {
  const daily = (intervals || []).length === 1 && intervals[0].dailySchedule ? intervals[0].dailySchedule : null;
  const when = select([["always", "at any time"], ["daily", "only between two moments of each day"]],
    daily ? "daily" : "always", {"aria-label": "Active"});
  const bound = (prefix) => daily ? {type: daily[`${prefix}Type`] || "TIME", minutes: daily[`${prefix}Minutes`] ?? 0,
                                     offset: daily[`${prefix}Offset`] || 0} : null;
  const start = boundEditor("start", "From", bound("start"));
  const stop = boundEditor("stop", "Until", bound("stop") || (daily ? null : {type: "TIME", minutes: 1440}));
  const parts = h("div", {className: "stack"}, start, stop,
    h("p", {className: "muted"}, "Dawn and dusk are those of the gateway's location (Setup → location)."));
  const show = () => { parts.hidden = when.value !== "daily"; };
  when.addEventListener("change", show);
  show();
  return {element: h("fieldset", {}, h("legend", {}, "When"), field("Active", when), parts),
    read: () => (when.value === "daily" ? [{dailySchedule: {...start.read(), ...stop.read()}}] : [])};
}

function modeFor(inner, intervals) {
  if (inner && inner.mode === 2) return 2;  // a disabled trigger stays disabled
  return intervals.length ? 3 : 1;
}

// ------------------------------------------------------------------ when conditions hold

export function ifThenForm(ctx, inner, parsed) {
  const {book, actionGroups} = ctx;
  const match = select([["all", "all of these hold"], ["any", "any of these holds"]], parsed && parsed.any ? "any" : "all");
  const conditions = h("div", {className: "stack"});
  const addCondition = (c) => conditions.append(conditionRow(book, c));
  if (parsed) parsed.leaves.forEach((l) => addCondition({...l, value: l.value1}));
  else addCondition(null);
  const delay = h("input", {type: "number", min: 0, step: 1, inputmode: "numeric", value: parsed ? parsed.delay || 0 : 0});
  const window = windowEditor(inner && inner.schedulingIntervals);
  const group = groupSelect(actionGroups, inner ? firstGroup(inner.effects) : undefined, "Then run the action group");
  const element = h("div", {className: "stack"}, field("Run when", match), conditions,
    h("div", {className: "row"},
      h("button", {type: "button", className: "secondary", onclick: () => addCondition(null)}, "Add a condition"),
      field("…for at least (s)", delay)),
    window.element, field("Then run the action group", group));
  const build = (label) => {
    const leaves = [...conditions.children].map((row) => {
      const c = row.read();
      return {staticDeviceStateCondition: {deviceURL: c.deviceURL, stateName: c.stateName, operator: c.operator,
                                           value1: c.value}};
    });
    if (!leaves.length) throw new Error("Add at least one condition.");
    if (!group.value) throw new Error("Choose the action group to run.");
    const hold = seconds(delay, "The delay");
    let root = leaves.length === 1 ? leaves[0] :
      {[match.value === "any" ? "orBlock" : "andBlock"]: {subConditionBlocks: leaves}};
    if (hold) {
      const [kind, body] = Object.entries(root)[0];
      root = {[kind]: {...body, activationDelay: hold}};
    }
    const intervals = window.read();
    return {ifThenSetupTrigger: {label, rootConditionBlock: root, effects: effectsOf(group.value),
                                 schedulingIntervals: intervals, mode: modeFor(inner, intervals)}};
  };
  return {element, build};
}

// ------------------------------------------------------------------ a value above or below limits

const numeric = (device, state) => !state.values;

export function thresholdForm(ctx, inner) {
  const {book, actionGroups} = ctx;
  const {device, state} = deviceAndState(book, inner && inner.deviceURL, inner && inner.stateName, numeric);
  const lower = h("input", {type: "number", step: "any", value: inner ? inner.lowerBound : ""});
  const upper = h("input", {type: "number", step: "any", value: inner ? inner.upperBound : ""});
  const onUpper = groupSelect(actionGroups, inner ? firstGroup(inner.upperEffects) : undefined, "When above, run", true);
  const onLower = groupSelect(actionGroups, inner ? firstGroup(inner.lowerEffects) : undefined, "When below, run", true);
  const onMiddle = groupSelect(actionGroups, inner ? firstGroup(inner.middleEffects) : undefined,
    "When back in between, run", true);
  const delay = h("input", {type: "number", min: 0, step: 1, inputmode: "numeric",
                            value: inner ? inner.upperActivationDelay || 0 : 0});
  const element = h("div", {className: "stack"},
    h("div", {className: "row"}, field("Device", device), field("Value", state)),
    h("div", {className: "row"}, field("Lower limit", lower), field("Upper limit", upper)),
    h("div", {className: "row"}, field("When above, run", onUpper), field("When below, run", onLower),
      field("When back in between, run", onMiddle)),
    field("…after staying there for (s)", delay));
  const build = (label) => {
    const low = Number(lower.value), high = Number(upper.value);
    if (lower.value === "" || upper.value === "" || !Number.isFinite(low) || !Number.isFinite(high)) {
      throw new Error("Give both limits as numbers.");
    }
    if (low > high) throw new Error(`The lower limit (${low}) is above the upper limit (${high}).`);
    if (!onUpper.value && !onLower.value && !onMiddle.value) throw new Error("Choose what to run at least once.");
    const hold = seconds(delay, "The delay");
    return {sensorThreshold: {label, deviceURL: device.value, stateName: state.value, lowerBound: low, upperBound: high,
      upperEffects: effectsOf(onUpper.value), lowerEffects: effectsOf(onLower.value),
      middleEffects: effectsOf(onMiddle.value), upperActivationDelay: hold, lowerActivationDelay: hold,
      mode: inner && inner.mode === 2 ? 2 : 1}};
  };
  return {element, build};
}

// ------------------------------------------------------------------ each value of a state

const listed = (device, state) => Boolean(state.values);

export function discreteForm(ctx, inner) {
  const {book, actionGroups} = ctx;
  const {device, state} = deviceAndState(book, inner && inner.deviceURL, inner && inner.stateName, listed);
  const keys = h("div", {className: "stack"});
  const byKey = new Map((inner && inner.effectsList || []).map((e) => [String(e.key), firstGroup(e.effects)]));
  const fillKeys = () => {
    const spec = statesOf(book.get(device.value)).find((s) => s.name === state.value);
    keys.replaceChildren(...(spec && spec.values || []).map((value) => {
      const run = groupSelect(actionGroups, byKey.get(value), `When ${stateText(state.value, value)}, run`, true);
      run.dataset.key = value;
      return field(`When it becomes “${stateText(state.value, value)}”, run`, run);
    }));
  };
  state.addEventListener("change", fillKeys);
  fillKeys();
  const element = h("div", {className: "stack"},
    h("div", {className: "row"}, field("Device", device), field("Value", state)), keys);
  const build = (label) => {
    const list = [...keys.querySelectorAll("select")].filter((s) => s.value)
      .map((s) => ({key: s.dataset.key, effects: effectsOf(s.value)}));
    if (!list.length) throw new Error("Choose what to run for at least one value.");
    return {discreteTrigger: {label, deviceURL: device.value, stateName: state.value, effectsList: list,
                              mode: inner && inner.mode === 2 ? 2 : 1}};
  };
  return {element, build};
}

// ------------------------------------------------------------------ a command at set times

function hhmm(minutes) {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

export function commandScheduleForm(ctx, inner) {
  const {book} = ctx;
  const withCommands = book.options().filter(([url]) => {
    const d = book.get(url);
    return d && (d.definition.commands || []).some((c) => PARAMETERS[c.commandName] || c.nparams === 0);
  });
  const device = select(withCommands, inner && inner.deviceURL, {"aria-label": "Device"});
  const command = h("select", {"aria-label": "Command"});
  const parameters = h("span", {className: "row"});
  const schedule = inner && (inner.commandSchedules || [])[0];
  const times = h("input", {"aria-label": "At", placeholder: "07:30, 19:00", value: schedule ?
    (schedule.scheduleTimes || []).map((t) => hhmm(t.dailyTime.minutesOfDay)).join(", ") : ""});
  const fillCommands = (chosen) => {
    const d = book.get(device.value);
    const usable = (d ? d.definition.commands || [] : []).filter((c) => PARAMETERS[c.commandName] || c.nparams === 0)
      .filter((c) => !["refreshState", "pair", "unpair", "setName", "identify", "wink"].includes(c.commandName));
    command.replaceChildren(...usable.map((c) => h("option", {value: c.commandName}, commandName(c.commandName))));
    if (chosen) command.value = chosen;
    fillParameters(schedule && chosen ? schedule.parameters || [] : []);
  };
  const fillParameters = (values) => {
    parameters.replaceChildren(...(PARAMETERS[command.value] || []).map((spec, i) => {
      const input = spec[1] === "enum" ? select(spec[4].map((v) => [v, v]), values[i]) :
        h("input", {value: values[i] ?? "", size: 6, inputmode: "decimal"});
      input.spec = spec;
      return field(spec[0], input);
    }));
  };
  device.addEventListener("change", () => fillCommands());
  command.addEventListener("change", () => fillParameters([]));
  fillCommands(inner && inner.commandFunctionName);
  const element = h("div", {className: "stack"},
    h("div", {className: "row"}, field("Device", device), field("Command", command), parameters),
    field("Every day at (HH:MM, separated by commas)", times));
  const build = (label) => {
    const minutes = times.value.split(/[,\s]+/).filter(Boolean).map((text) => {
      const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text);
      if (!m) throw new Error(`“${text}” is not a time of the day (HH:MM).`);
      return Number(m[1]) * 60 + Number(m[2]);
    });
    if (!minutes.length) throw new Error("Give at least one time of the day.");
    if (!command.value) throw new Error("This device has no command to schedule.");
    const values = [...parameters.querySelectorAll("input, select")].map((input) => parseParameter(input.spec, input.value.trim()));
    return {genericCommandSchedulingTrigger: {label, deviceURL: device.value, commandFunctionName: command.value,
      commandSchedules: [{label, enabled: true, parameters: values,
                          scheduleTimes: minutes.map((m) => ({dailyTime: {minutesOfDay: m}}))}],
      mode: inner && inner.mode === 2 ? 2 : 1}};
  };
  return {element, build};
}

export const FORMS = {ifThenSetupTrigger: ifThenForm, sensorThreshold: thresholdForm, discreteTrigger: discreteForm,
  genericCommandSchedulingTrigger: commandScheduleForm};

/** Words for a daily window: "between 22:00 and dawn + 30 min". */
export function windowWords(intervals) {
  if (!(intervals || []).length) return "";
  const daily = intervals[0].dailySchedule;
  if (!daily || intervals.length > 1) return " (on a schedule)";
  const bound = (prefix) => {
    const type = daily[`${prefix}Type`] || "TIME";
    if (type === "TIME") return hhmm(daily[`${prefix}Minutes`] ?? (prefix === "start" ? 0 : 1440));
    const offset = daily[`${prefix}Offset`] || 0;
    return `${type.toLowerCase()}${offset ? ` ${offset > 0 ? "+" : "–"} ${Math.abs(offset)} min` : ""}`;
  };
  return `, between ${bound("start")} and ${bound("stop")}`;
}

export {hhmm};
