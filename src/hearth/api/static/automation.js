// Automation: setup triggers and condition groups, with their status; create, edit, enable and disable.

import {describe} from "./api.js";
import {conditionRow} from "./conditions.js";
import {h, fill, field, select} from "./dom.js";
import {FORMS, KINDS, hhmm, windowWords} from "./triggerforms.js";
import {commandName, stateName, stateText} from "./vocabulary.js";

const TYPE_WORDS = Object.fromEntries(KINDS);
const OPERATOR_WORDS = {EQUALS: "is", NOT_EQUALS: "is not", GREATER_THAN: "is above", GREATER_THAN_OR_EQUAL: "is at least",
  LOWER_THAN: "is below", LOWER_THAN_OR_EQUAL: "is at most"};
const MODE_WORDS = {1: "enabled", 2: "disabled", 3: "enabled on a schedule"};
// What the simple form of an if-then trigger keeps; anything else is edited as JSON.
const SIMPLE_LEAF_KEYS = new Set(["deviceURL", "stateName", "operator", "value1", "blockId", "type", "activationDelay",
  "deactivationDelay"]);

export function automationView(ctx) {
  const {api, book, live} = ctx;
  let triggerList, groupList, editorSlot, globalSwitch;
  let actionGroups = [];
  let watched = new Set();  // devices whose states the triggers and condition groups read: their status follows

  async function load() {
    try {
      const [triggers, status, groups, conditionGroups] = await Promise.all([api.get("/triggers"),
        api.get("/triggers/status"), api.get("/actionGroups"), api.get("/conditionGroups"), book.ready()]);
      actionGroups = groups;
      watched = devicesNamedIn([triggers, conditionGroups]);
      globalSwitch.setAttribute("aria-checked", String(status.enabled));
      globalSwitch.textContent = status.enabled ? "Automation on" : "Automation off";
      const types = [...new Set(triggers.map((t) => Object.keys(t)[0]))];
      const statuses = new Map();
      for (const list of await Promise.all(types.map((t) => api.get(`/triggers/${t}/status`)))) {
        for (const s of list) statuses.set(s.triggerOID, s);
      }
      fill(triggerList, triggers.length ? triggers.map((t) => triggerCard(t, statuses)) :
        h("p", {className: "muted"}, "No triggers yet."));
      fill(groupList, conditionGroups.length ? await Promise.all(conditionGroups.map(conditionGroupCard)) :
        h("p", {className: "muted"}, "No condition groups yet."));
    } catch (error) {
      fill(triggerList, h("p", {className: "error"}, describe(error)));
    }
  }

  function triggerCard(wrapper, statuses) {
    const [type, inner] = Object.entries(wrapper)[0];
    const status = statuses.get(inner.oid);
    const active = status ? status.subTriggersStatus.filter((s) => s.active).map((s) => s.triggerName) : [];
    const enabled = inner.mode !== 2;
    const note = h("p", {className: "muted", role: "status"});
    return h("article", {className: "card stack", "aria-label": inner.label || type, dataset: {oid: inner.oid, type}},
      h("div", {className: "row spread"}, h("h3", {}, inner.label || "(no name)"),
        h("button", {type: "button", role: "switch", "aria-checked": String(enabled), "aria-label": "Enabled",
                     onclick: () => setMode(type, inner.oid, enabled ? 2 : 1, note)}, enabled ? "Enabled" : "Disabled")),
      h("p", {className: "muted"}, `${TYPE_WORDS[type] || type} · ${MODE_WORDS[inner.mode] || ""}`),
      h("p", {}, describeTrigger(type, inner)),
      h("p", {dataset: {role: "status"}}, holdsText(type, active)),
      h("div", {className: "row"},
        h("button", {type: "button", className: "secondary", onclick: () => editTrigger(type, inner)}, "Edit"),
        h("button", {type: "button", className: "danger", onclick: () => removeTrigger(type, inner)}, "Delete")),
      note);
  }

  function holdsText(type, active) {
    if (type === "genericCommandSchedulingTrigger") return "Runs at its times";
    if (!active.length) return "Does not hold now";
    if (type === "sensorThreshold") {
      const zone = {upper: "above the upper limit", lower: "below the lower limit", middle: "between the limits"};
      return `Holds now (${active.map((a) => zone[a] || a).join(", ")})`;
    }
    // An if-then trigger's parts are its condition blocks (the whole is "root"); a discrete one's are values.
    return type === "discreteTrigger" ? `Holds now (${active.join(", ")})` : "Holds now";
  }

  function describeTrigger(type, inner) {
    const who = (url, state) => `${book.label(url)}: ${stateName(state)}`;
    const runs = (effects) => (effects || []).map(effectWords).join(", ") || "nothing";
    if (type === "sensorThreshold") {
      const parts = [["upper", `above ${inner.upperBound}`], ["lower", `below ${inner.lowerBound}`],
        ["middle", `back between ${inner.lowerBound} and ${inner.upperBound}`]]
        .filter(([zone]) => (inner[`${zone}Effects`] || []).length)
        .map(([zone, words]) => `${words}, ${runs(inner[`${zone}Effects`])}`);
      return `${who(inner.deviceURL, inner.stateName)} ${parts.join("; ")}`;
    }
    if (type === "discreteTrigger") {
      return `${who(inner.deviceURL, inner.stateName)}: ${(inner.effectsList || []).map((e) =>
        `becomes “${stateText(inner.stateName, e.key)}”, ${runs(e.effects)}`).join("; ")}`;
    }
    if (type === "genericCommandSchedulingTrigger") {
      const times = (inner.commandSchedules || []).flatMap((c) => (c.scheduleTimes || [])
        .map((t) => (t.dailyTime ? hhmm(t.dailyTime.minutesOfDay) : "?")));
      return `Every day at ${times.join(", ")}: ${commandName(inner.commandFunctionName)} on ${book.label(inner.deviceURL)}`;
    }
    if (type === "ifThenSetupTrigger") {
      const leaves = simpleLeaves(inner.rootConditionBlock);
      const words = !inner.rootConditionBlock ? "it is time" : leaves ? leaves.leaves.map((l) =>
        `${book.label(l.deviceURL)} ${stateName(l.stateName)} ${OPERATOR_WORDS[l.operator] || l.operator} `
        + `${stateText(l.stateName, l.value1)}`).join(leaves.any ? " or " : " and ") : "conditions (see the JSON)";
      const held = leaves && leaves.delay ? ` for ${leaves.delay} s` : "";
      return `If ${words}${held}${windowWords(inner.schedulingIntervals)}, then ${runs(inner.effects)}`;
    }
    return "";
  }

  function effectWords(effect) {
    const [, e] = Object.entries(effect)[0];
    if (e.actionGroupOID) {
      const group = actionGroups.find((g) => g.oid === e.actionGroupOID);
      return `run “${group ? group.label : e.actionGroupOID}”`;
    }
    return e.localActionGroup ? `run “${e.localActionGroup.label || "commands"}”` : "an alert";
  }

  async function setMode(type, oid, mode, note) {
    try {
      await api.put(`/triggers/${type}/${encodeURIComponent(oid)}/activation/${mode}`);
      await load();
    } catch (error) {
      note.textContent = describe(error);
    }
  }

  async function removeTrigger(type, inner) {
    if (!confirm(`Delete the trigger "${inner.label}"?`)) return;
    try {
      await api.delete(`/triggers/${type}/${encodeURIComponent(inner.oid)}`);
      await load();
    } catch (error) {
      ctx.notify(describe(error));
    }
  }

  async function toggleGlobal() {
    try {
      await api.put("/triggers/status", {enabled: globalSwitch.getAttribute("aria-checked") !== "true"});
      await load();
    } catch (error) {
      ctx.notify(describe(error));
    }
  }

  // ------------------------------------------------------------------ the trigger editor

  async function editTrigger(type, inner) {
    try {
      // The editor picks among devices and action groups: read them now, the page may have just opened.
      [actionGroups] = await Promise.all([api.get("/actionGroups"), book.ready()]);
    } catch (error) {
      ctx.notify(describe(error));
      return;
    }
    const save = async (body) => {
      if (inner) {
        const [t, b] = Object.entries(body)[0];
        await api.put("/triggers", {[t]: {mode: inner.mode, ...b, oid: inner.oid}});  // the JSON may change the mode
      } else {
        await api.post("/triggers", body);
      }
      fill(editorSlot);
      await load();
    };
    const simple = !inner || simpleTrigger(type, inner);
    fill(editorSlot, simple ? triggerEditor(type || "ifThenSetupTrigger", inner, save) :
      jsonEditor({[type]: strip(inner)}, save));
    editorSlot.scrollIntoView({block: "start"});
  }

  /** The form of a trigger, by kind; a new trigger may change kind, an existing one keeps its own. */
  function triggerEditor(type, inner, save) {
    const label = h("input", {required: true, maxlength: 256, value: inner ? inner.label : ""});
    // Not wrapped in its label: the options' words ("…a state") would become part of the label's text.
    const kind = select(KINDS, type, {disabled: Boolean(inner), "aria-label": "Kind of trigger"});
    const slot = h("div");
    const error = h("p", {className: "error", role: "alert"});
    let form = null;
    const showKind = () => {
      const parsed = inner && kind.value === "ifThenSetupTrigger" ? simpleLeaves(inner.rootConditionBlock) : null;
      form = FORMS[kind.value]({book, actionGroups}, inner, parsed);
      fill(slot, form.element);
      error.textContent = "";
    };
    kind.addEventListener("change", showKind);
    showKind();
    const build = () => form.build(label.value.trim());
    const element = h("form", {className: "card editor stack", "aria-label": "Trigger editor"},
      h("h3", {}, inner ? `Edit ${inner.label}` : "New trigger"),
      h("div", {className: "row"}, field("Name", label),
        h("div", {className: "labelled"}, h("span", {className: "muted", "aria-hidden": "true"}, "Kind of trigger"), kind)),
      slot,
      actionGroups.length ? null : h("p", {className: "muted"}, "Make an action group first (Action groups): "
        + "triggers run action groups."),
      error,
      h("div", {className: "row"}, h("button", {type: "submit"}, "Save"),
        h("button", {type: "button", className: "secondary", onclick: () => {
          try {
            fill(editorSlot, jsonEditor(build(), save));
          } catch (e) {
            error.textContent = describe(e);
          }
        }}, "Edit as JSON"),
        h("button", {type: "button", className: "secondary", onclick: () => fill(editorSlot)}, "Cancel")));
    element.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await save(build());
      } catch (e) {
        error.textContent = describe(e);
      }
    });
    return element;
  }

  function jsonEditor(body, save) {
    const text = h("textarea", {spellcheck: "false"});
    text.value = JSON.stringify(body, null, 2);
    const error = h("p", {className: "error", role: "alert"});
    const form = h("form", {className: "card editor stack", "aria-label": "JSON editor"},
      h("h3", {}, "Edit as JSON"),
      h("p", {className: "muted"}, "The End-User API's own shape: {\"<type>\": {...}}. Every trigger type and field is accepted here."),
      field("Definition", text), error,
      h("div", {className: "row"}, h("button", {type: "submit"}, "Save"),
        h("button", {type: "button", className: "secondary", onclick: () => fill(editorSlot)}, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      let parsed;
      try {
        parsed = JSON.parse(text.value);
      } catch (e) {
        error.textContent = `Not JSON: ${e.message}`;
        return;
      }
      try {
        await save(parsed);
      } catch (e) {
        error.textContent = describe(e);
      }
    });
    return form;
  }

  // ------------------------------------------------------------------ condition groups

  async function conditionGroupCard(group) {
    let holds = "";
    try {
      const result = await api.get(`/conditionGroups/${encodeURIComponent(group.oid)}/evaluate`);
      holds = result.evaluationStatus === "SUCCESS" ? "Holds now" :
        `Does not hold now${result.invalidatingDevices.length ? ` (because of ${result.invalidatingDevices.map((u) => book.label(u)).join(", ")})` : ""}`
        + (result.failedDevices.length ? `; unavailable: ${result.failedDevices.map((u) => book.label(u)).join(", ")}` : "");
    } catch (error) {
      holds = describe(error);
    }
    return h("article", {className: "card stack", "aria-label": group.label, dataset: {oid: group.oid}},
      h("h3", {}, group.label),
      h("ul", {className: "exec-commands"}, group.conditions.map((c) => {
        const [kind, d] = Object.entries(c)[0];
        const who = kind === "device" ? book.label(d.deviceURL) : (d.controllableNames || []).join(", ");
        return h("li", {}, `${who}: ${stateName(d.stateName)} ${OPERATOR_WORDS[d.operator] || d.operator} `
          + `${typeof d.value === "object" ? JSON.stringify(d.value) : stateText(d.stateName, d.value)}`);
      })),
      h("p", {dataset: {role: "status"}}, holds),
      h("div", {className: "row"},
        h("button", {type: "button", className: "secondary", onclick: () => editConditionGroup(group)}, "Edit"),
        h("button", {type: "button", className: "danger", onclick: async () => {
          if (!confirm(`Delete the condition group "${group.label}"?`)) return;
          try {
            await api.delete(`/conditionGroups/${encodeURIComponent(group.oid)}`);
            await load();
          } catch (error) {
            ctx.notify(describe(error));
          }
        }}, "Delete")));
  }

  async function editConditionGroup(group) {
    await book.ready();
    const label = h("input", {required: true, maxlength: 128, value: group ? group.label : ""});
    const conditions = h("div", {className: "stack"});
    const simple = !group || group.conditions.every((c) => c.device && typeof c.device.value !== "object");
    if (!simple) {
      const save = async (body) => {
        await api.put("/conditionGroups", {...body, oid: group.oid});
        fill(editorSlot);
        await load();
      };
      const {label: l, metadata, conditions: c} = group;
      fill(editorSlot, jsonEditor({label: l, metadata, conditions: c}, save));
      return;
    }
    (group ? group.conditions.map((c) => c.device) : [null]).forEach((c) => conditions.append(conditionRow(book, c)));
    const error = h("p", {className: "error", role: "alert"});
    const form = h("form", {className: "card editor stack", "aria-label": "Condition group editor"},
      h("h3", {}, group ? `Edit ${group.label}` : "New condition group"),
      field("Name", label), h("p", {className: "muted"}, "The group holds when every condition holds."), conditions,
      h("button", {type: "button", className: "secondary", onclick: () => conditions.append(conditionRow(book, null))},
        "Add a condition"),
      error,
      h("div", {className: "row"}, h("button", {type: "submit"}, "Save"),
        h("button", {type: "button", className: "secondary", onclick: () => fill(editorSlot)}, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const body = {label: label.value.trim(), conditions: [...conditions.children].map((row) => ({device: row.read()}))};
        if (group) await api.put("/conditionGroups", {...body, oid: group.oid});
        else await api.post("/conditionGroups", body);
        fill(editorSlot);
        await load();
      } catch (e) {
        error.textContent = describe(e);
      }
    });
    fill(editorSlot, form);
    editorSlot.scrollIntoView({block: "start"});
  }

  return {
    title: "Automation",
    async mount(container) {
      triggerList = h("div", {className: "stack", "aria-label": "Triggers"});
      groupList = h("div", {className: "stack", "aria-label": "Condition groups"});
      editorSlot = h("div");
      globalSwitch = h("button", {type: "button", role: "switch", "aria-checked": "true", "aria-label": "Automation on",
                                  onclick: toggleGlobal}, "Automation on");
      container.append(h("div", {className: "stack"},
        h("div", {className: "row spread"}, h("h2", {}, "Triggers"), h("div", {className: "row"}, globalSwitch,
          h("button", {type: "button", onclick: () => editTrigger(null, null)}, "New trigger"),
          h("button", {type: "button", className: "secondary", onclick: () => editConditionGroup(null)},
            "New condition group"))),
        editorSlot, triggerList, h("h2", {}, "Condition groups"), groupList));
      this.stops = ["SetupTriggerCreatedEvent", "SetupTriggerUpdatedEvent", "SetupTriggerDeletedEvent",
        "SetupTriggerModeChangedEvent", "GatewayFunctionChangedEvent", "GroupTriggeredEvent", "ConditionGroupCreatedEvent",
        "ConditionGroupUpdatedEvent", "ConditionGroupDeletedEvent", "resync"].map((name) => live.on(name, debounce(load)));
      const reread = debounce(load, 500);
      this.stops.push(live.on("DeviceStateChangedEvent", (e) => { if (watched.has(e.deviceURL)) reread(); }));
      await load();
    },
    unmount() {
      (this.stops || []).forEach((stop) => stop());
    },
  };
}

function debounce(fn, ms = 250) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

/** Every deviceURL named anywhere in these definitions (deviceURL, deviceURL1, deviceURLs ...). */
function devicesNamedIn(value, found = new Set()) {
  if (Array.isArray(value)) value.forEach((v) => devicesNamedIn(v, found));
  else if (value && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      if (key.startsWith("deviceURL") && typeof v === "string") found.add(v);
      else devicesNamedIn(v, found);
    }
  }
  return found;
}

/** {leaves, any} when a condition block is one condition, or one and/or of plain conditions; else null. */
function simpleLeaves(block) {
  if (!block) return null;
  const [kind, inner] = Object.entries(block)[0];
  const plain = (b) => {
    const [k, leaf] = Object.entries(b)[0];
    return k === "staticDeviceStateCondition" && Object.keys(leaf).every((key) => SIMPLE_LEAF_KEYS.has(key))
      && (leaf.type || "EVENT_BASED") === "EVENT_BASED" ? leaf : null;
  };
  if (inner.deactivationDelay) return null;
  const delay = inner.activationDelay || 0;
  if (kind === "staticDeviceStateCondition") {
    const leaf = plain(block);
    return leaf ? {leaves: [leaf], any: false, delay} : null;
  }
  if (kind === "andBlock" || kind === "orBlock") {
    // The form has one delay, the whole block's: a condition with its own is edited as JSON.
    const leaves = inner.subConditionBlocks.map(plain);
    const undelayed = leaves.every((l) => l && !l.activationDelay && !l.deactivationDelay);
    return undelayed ? {leaves, any: kind === "orBlock", delay} : null;
  }
  return null;
}

const oneGroup = (effects) => (effects || []).length <= 1 && (effects || []).every((e) => Object.values(e)[0].actionGroupOID);

/** Whether a stored trigger fits its kind's form whole (else it opens as JSON, nothing lost). */
function simpleTrigger(type, inner) {
  const intervals = inner.schedulingIntervals || [];
  if (type === "ifThenSetupTrigger") {
    return Boolean(inner.rootConditionBlock) && simpleLeaves(inner.rootConditionBlock) !== null
      && inner.effects.length === 1 && oneGroup(inner.effects)
      && (!intervals.length || (intervals.length === 1 && Boolean(intervals[0].dailySchedule)));
  }
  if (intervals.length) return false;
  if (type === "sensorThreshold") {
    return ["upper", "lower", "middle"].every((z) => oneGroup(inner[`${z}Effects`]) && !inner[`${z}DeactivationDelay`])
      && (inner.upperActivationDelay || 0) === (inner.lowerActivationDelay || 0) && !inner.middleActivationDelay;
  }
  if (type === "discreteTrigger") {
    return (inner.effectsList || []).every((e) => oneGroup(e.effects)) && !inner.activationDelays
      && !inner.deactivationDelays;
  }
  if (type === "genericCommandSchedulingTrigger") {
    return (inner.commandSchedules || []).length === 1 && !(inner.stateRestrictions || []).length;
  }
  return false;
}

/** The stored trigger without what the gateway fills in (ids, times), for the JSON editor. */
function strip(inner) {
  const {oid, id, creationTime, lastUpdateTime, ...rest} = inner;  // eslint-disable-line no-unused-vars
  return rest;
}
