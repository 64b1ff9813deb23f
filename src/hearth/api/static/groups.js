// Action groups: list, create and edit (devices, commands, delays), run, schedule; executions live and past.

import {describe} from "./api.js";
import {PARAMETERS, parseParameter} from "./controls.js";
import {h, fill, field, select, formatTime} from "./dom.js";
import {executionPanel} from "./executions.js";
import {commandName} from "./vocabulary.js";

// Commands kept out of the editor: they belong to the radios' own flows (Pairing).
const TECHNICAL = new Set(["refreshState", "pair", "unpair", "setName"]);

export function groupsView(ctx) {
  const {api, book, live} = ctx;
  let root, list, editorSlot, scheduleList;
  const executions = executionPanel(ctx);
  let groups = [];

  async function load() {
    try {
      [groups] = await Promise.all([api.get("/actionGroups"), book.ready()]);
      renderList();
      await loadSchedules();
    } catch (error) {
      fill(list, h("p", {className: "error"}, describe(error)));
    }
  }

  function renderList() {
    fill(list, groups.length ? groups.map(groupCard) : h("p", {className: "muted"}, "No action groups yet."));
  }

  function groupCard(group) {
    const when = h("input", {type: "datetime-local", "aria-label": `When to run ${group.label}`});
    const status = h("p", {className: "muted", role: "status"});
    return h("article", {className: "card stack", "aria-label": group.label, dataset: {oid: group.oid}},
      h("div", {className: "row spread"}, h("h3", {}, group.label),
        h("div", {className: "row"},
          h("button", {type: "button", onclick: () => run(group, status)}, "Run"),
          h("button", {type: "button", className: "secondary", onclick: () => edit(group)}, "Edit"),
          h("button", {type: "button", className: "danger", onclick: () => remove(group)}, "Delete"))),
      h("ul", {className: "exec-commands"}, group.actions.map((a) => h("li", {},
        `${book.label(a.deviceURL)}: ${a.commands.map(commandText).join(", then ")}`))),
      h("div", {className: "row"}, field("Schedule a run", when),
        h("button", {type: "button", className: "secondary", onclick: () => schedule(group, when, status)}, "Schedule")),
      status);
  }

  async function run(group, status) {
    status.textContent = "Starting…";
    try {
      const {execId} = await api.post(`/exec/${encodeURIComponent(group.oid)}`);
      status.textContent = `Started (execution ${execId.slice(0, 8)}).`;
    } catch (error) {
      status.textContent = describe(error);
    }
  }

  async function schedule(group, input, status) {
    const time = input.value ? new Date(input.value).getTime() : NaN;
    if (!Number.isFinite(time)) {
      status.textContent = "Choose a date and time first.";
      return;
    }
    try {
      await api.post(`/exec/schedule/${encodeURIComponent(group.oid)}/${time}`);
      status.textContent = `Scheduled for ${formatTime(time)}.`;
      await loadSchedules();
    } catch (error) {
      status.textContent = describe(error);
    }
  }

  async function loadSchedules() {
    const runs = await api.get("/exec/schedule");
    fill(scheduleList, runs.length ? runs.map((r) => h("li", {className: "row spread", dataset: {triggerId: r.triggerId}},
      `${r.label} — ${formatTime(r.utcTime)}`,
      h("button", {type: "button", className: "secondary", onclick: async () => {
        try {
          await api.delete(`/exec/delayedTriggerSchedule/${encodeURIComponent(r.triggerId)}`);
          await loadSchedules();
        } catch (error) {
          ctx.notify(describe(error));
        }
      }}, "Cancel"))) : h("li", {className: "muted"}, "No scheduled runs."));
  }

  async function remove(group) {
    if (!confirm(`Delete the action group "${group.label}"?`)) return;
    try {
      await api.delete(`/actionGroups/${encodeURIComponent(group.oid)}`);
      await load();
    } catch (error) {
      ctx.notify(describe(error));
    }
  }

  async function edit(group) {
    await book.ready();  // the editor lists the devices
    fill(editorSlot, groupEditor(book, group, async (body) => {
      if (group && group.oid) await api.put("/actionGroups", {...body, oid: group.oid});
      else await api.post("/actionGroups", body);
      fill(editorSlot);
      await load();
    }, () => fill(editorSlot)));
    editorSlot.scrollIntoView({block: "start"});
  }

  return {
    title: "Action groups",
    async mount(container) {
      list = h("div", {className: "stack", "aria-label": "Action groups"});
      editorSlot = h("div");
      scheduleList = h("ul", {className: "list", "aria-label": "Scheduled runs"});
      root = h("div", {className: "stack"},
        h("div", {className: "row spread"}, h("h2", {}, "Action groups"),
          h("button", {type: "button", onclick: () => edit(null)}, "New action group")),
        editorSlot, list,
        h("section", {className: "card"}, h("h3", {}, "Scheduled runs"), scheduleList),
        h("h2", {}, "Executions"), executions.element);
      container.append(root);
      this.stops = ["ActionGroupCreatedEvent", "ActionGroupUpdatedEvent", "ActionGroupDeletedEvent",
        "DelayedTriggerSetEvent", "DelayedTriggerCancelledEvent", "resync"].map((name) => live.on(name, load));
      await Promise.all([load(), executions.start()]);
    },
    unmount() {
      (this.stops || []).forEach((stop) => stop());
      executions.stop();
    },
  };
}

function commandText(c) {
  const parameters = (c.parameters || []).length ? `(${c.parameters.join(", ")})` : "";
  return `${c.delay ? `after ${c.delay} s ` : ""}${commandName(c.name)}${parameters}`;
}

/** The editor of one action group: a device per action, each with its commands, parameters and delays. */
export function groupEditor(book, group, save, cancel) {
  const label = h("input", {required: true, maxlength: 128, value: group ? group.label : ""});
  const actions = h("div", {className: "stack"});
  const error = h("p", {className: "error", role: "alert"});
  const addAction = (action) => actions.append(actionEditor(book, action));
  (group ? group.actions : []).forEach(addAction);
  if (!group) addAction(null);
  const form = h("form", {className: "card editor stack", "aria-label": "Action group editor"},
    h("h3", {}, group ? `Edit ${group.label}` : "New action group"),
    field("Name", label), actions,
    h("button", {type: "button", className: "secondary", onclick: () => addAction(null)}, "Add a device"),
    error,
    h("div", {className: "row"}, h("button", {type: "submit"}, "Save"),
      h("button", {type: "button", className: "secondary", onclick: cancel}, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = {label: label.value.trim(), actions: [...actions.children].map((el) => el.read())};
      if (!body.actions.length) throw new Error("Add at least one device.");
      await save(body);
    } catch (e) {
      error.textContent = describe(e);
    }
  });
  return form;
}

function actionEditor(book, action) {
  const device = select(book.options(), action ? action.deviceURL : undefined, {"aria-label": "Device"});
  const commands = h("div", {className: "stack"});
  const fieldset = h("fieldset", {}, h("legend", {}, "Device"), device, commands,
    h("div", {className: "row"},
      h("button", {type: "button", className: "secondary", onclick: () => commands.append(commandEditor(book, device.value, null))},
        "Add a command"),
      h("button", {type: "button", className: "danger", onclick: () => fieldset.remove()}, "Remove this device")));
  const reset = () => fill(commands, commandEditor(book, device.value, null));
  device.addEventListener("change", reset);
  if (action) action.commands.forEach((c) => commands.append(commandEditor(book, action.deviceURL, c)));
  else reset();
  fieldset.read = () => {
    const list = [...commands.children].map((el) => el.read());
    if (!list.length) throw new Error(`${book.label(device.value)}: add at least one command.`);
    return {deviceURL: device.value, commands: list};
  };
  return fieldset;
}

function commandEditor(book, deviceURL, command) {
  const device = book.get(deviceURL);
  const defs = (device && device.definition.commands || []).filter((c) => !TECHNICAL.has(c.commandName));
  const name = select(defs.map((c) => [c.commandName, commandName(c.commandName)]), command ? command.name : undefined,
    {"aria-label": "Command"});
  const parameters = h("span", {className: "row"});
  const delay = h("input", {type: "number", min: 0, step: 1, value: command && command.delay ? command.delay : 0,
                            inputmode: "numeric"});
  const row = h("div", {className: "row"}, name, parameters, field("Delay (s)", delay),
    h("button", {type: "button", className: "danger", "aria-label": "Remove command", onclick: () => row.remove()}, "×"));
  const renderParameters = (values) => {
    const def = defs.find((c) => c.commandName === name.value);
    const specs = PARAMETERS[name.value] || Array.from({length: def ? def.nparams : 0}, (_, i) => [`parameter ${i + 1}`, "json"]);
    fill(parameters, specs.map((spec, i) => {
      const input = spec[1] === "enum" ? select(spec[4].map((v) => [v, v]), values[i]) :
        h("input", {value: values[i] ?? "", size: 8, inputmode: spec[1] === "string" || spec[1] === "json" ? "text" : "decimal"});
      input.spec = spec;
      return field(spec[0], input);
    }));
  };
  name.addEventListener("change", () => renderParameters([]));
  renderParameters(command ? command.parameters || [] : []);
  row.read = () => {
    const values = [...parameters.querySelectorAll("input, select")].map((input) => {
      if (input.spec[1] !== "json") return parseParameter(input.spec, input.value.trim());
      try {
        return JSON.parse(input.value);
      } catch {
        return input.value;
      }
    });
    const seconds = Number(delay.value || 0);
    if (!Number.isInteger(seconds) || seconds < 0) throw new Error("A delay is a whole number of seconds.");
    return {name: name.value, parameters: values, ...(seconds ? {delay: seconds} : {})};
  };
  return row;
}
