// One device's page: its states and controls, a history chart, its health (battery, signal, model, firmware),
// recent executions, and rename, move to a room, delete.

import {describe} from "./api.js";
import {RANGES, historyChart} from "./chart.js";
import {controlsFor, isAssumed} from "./controls.js";
import {h, fill, field, select, formatTime} from "./dom.js";
import {failureWords} from "./executions.js";
import {stateList} from "./home.js";
import {commandName, iconFor, isMeasure, kindOf, kindWords, stateName, stateText} from "./vocabulary.js";

// Attributes that say what the device is: the radios fill them in (zigbee, zwave drivers) when they know them.
const IDENTITY = [["core:Manufacturer", "Manufacturer"], ["core:Model", "Model"],
  ["core:FirmwareRevision", "Firmware"], ["core:Firmware", "Firmware"], ["core:SerialNumber", "Serial number"]];
const PROTOCOLS = {zigbee: "Zigbee", zwave: "Z-Wave", rts: "Somfy RTS", ble: "Bluetooth LE", virtual: "Virtual (demo)"};

export function deviceView(ctx) {
  const {api, book, live, param: deviceURL} = ctx;
  const stops = [];
  let root, chart = null;

  function attribute(device, name) {
    const found = (device.attributes || []).find((a) => a.name === name);
    return found && found.value !== "" ? found.value : null;
  }

  function header(device) {
    const room = book.rooms.find((r) => r.oid === device.placeOID);
    return h("div", {className: "row device-title"}, h("a", {href: "#home", className: "back"}, "← Home"),
      iconFor(device), h("h2", {}, device.label),
      h("span", {className: "muted"}, room ? room.path : "Not in a room"),
      isAssumed(device) ? h("span", {className: "badge assumed"}, "assumed") : null,
      device.available === false ? h("span", {className: "badge bad"}, "unavailable") : null);
  }

  function statePanel(device) {
    const states = h("dl", {className: "states wide"}, stateList(device));
    const status = h("p", {className: "muted", role: "status"});
    const controls = controlsFor(device, async (command, parameters) => {
      status.textContent = `${commandName(command)}…`;
      try {
        await api.run(device.deviceURL, `${command} ${device.label}`, [{name: command, parameters}]);
        status.textContent = `${commandName(command)}: sent`;
      } catch (error) {
        status.textContent = `${commandName(command)}: ${describe(error)}`;
      }
    });
    controls.update(device.stateMap);
    stops.push(book.subscribe((kind, d) => {
      if (kind !== "state" || d.deviceURL !== deviceURL) return;
      fill(states, stateList(d));
      controls.update(d.stateMap);
    }));
    return h("section", {className: "card stack", "aria-label": "State"}, h("h3", {}, "State"), states,
      controls.element, status);
  }

  function historyPanel(device) {
    const measures = (device.states || []).filter((s) => isMeasure(s.name, s.value));
    if (!measures.length) {
      return h("section", {className: "card stack", "aria-label": "History"}, h("h3", {}, "History"),
        h("p", {className: "muted"}, "This device reports no value to chart."));
    }
    const which = select(measures.map((s) => [s.name, stateName(s.name)]), measures[0].name, {"aria-label": "Value"});
    const range = select(RANGES.map(([value, text]) => [value, text]), "24h", {"aria-label": "Period"});
    const slot = h("div");
    const show = () => {
      if (chart) chart.destroy();
      chart = historyChart(api, deviceURL, which.value, range.value);
      fill(slot, chart.element);
      chart.load();
    };
    which.addEventListener("change", show);
    range.addEventListener("change", show);
    queueMicrotask(show);  // once the panel is in the page: the chart takes its width
    return h("section", {className: "card stack", "aria-label": "History"}, h("h3", {}, "History"),
      h("div", {className: "row"}, field("Value", which), field("Period", range)), slot);
  }

  async function healthPanel(device) {
    const list = h("dl", {className: "states wide", "aria-label": "Health"});
    const rows = [];
    const add = (title, value) => rows.push(h("dt", {}, title), h("dd", {}, value ?? "–"));
    const states = device.stateMap || {};
    add("Available", device.available === false ? h("span", {className: "error"}, "No") : "Yes");
    add("Protocol", PROTOCOLS[device.deviceURL.split(":")[0]] || device.deviceURL.split(":")[0]);
    const battery = "core:BatteryLevelState" in states ? `${stateText("core:BatteryLevelState", states["core:BatteryLevelState"])} %`
      : "core:BatteryState" in states ? stateText("core:BatteryState", states["core:BatteryState"]) : null;
    add("Battery", battery || (kindOf(device) === "sensor" ? "not reported" : "mains powered or not reported"));
    add("Signal (link quality)", "core:RSSILevelState" in states ? `${states["core:RSSILevelState"]} %` :
      device.deviceURL.startsWith("rts:") ? "one-way radio: the device cannot report it" : "not reported");
    const named = new Set();  // titles given by an attribute (the first of core:FirmwareRevision, core:Firmware)
    for (const [name, title] of IDENTITY) {
      const value = attribute(device, name);
      if (value === null || named.has(title)) continue;
      named.add(title);
      add(title, String(value));
    }
    if (!named.has("Model")) add("Model", `${kindWords(device.controllableName)} (the radio names no model)`);
    if (!named.has("Firmware")) add("Firmware", "not reported by the device");
    try {
      const health = await api.get(`/ext/devices/health/${encodeURIComponent(deviceURL)}`);
      add("Last heard", health.lastSeen ? formatTime(health.lastSeen) : "not since the gateway started");
      add("Commands since start", `${health.commands} (${health.failures} failed)`);
      const ms = (v) => (typeof v === "number" ? (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`) : "–");
      if (health.latencyMs && health.latencyMs.p50 !== null) {
        // A command ends when the device has done it: for a motor that is its travel, not the radio's delay.
        add(kindOf(device) === "cover" ? "Command time, travel included (median / 95 %)" : "Command time (median / 95 %)",
          `${ms(health.latencyMs.p50)} / ${ms(health.latencyMs.p95)}`);
      }
    } catch (error) {
      add("Health", describe(error));
    }
    fill(list, rows);
    return h("section", {className: "card stack", "aria-label": "Device health"}, h("h3", {}, "Health"), list);
  }

  let executionsSlot = null;
  let executionsTimer = null;
  function refreshExecutions() {
    clearTimeout(executionsTimer);
    executionsTimer = setTimeout(async () => {
      if (executionsSlot && executionsSlot.isConnected) executionsSlot.replaceWith(await executionsPanel());
    }, 300);
  }

  async function executionsPanel() {
    const list = h("ul", {className: "list", "aria-label": "Recent executions"});
    try {
      const history = await api.get("/history/executions?limit=200");
      const mine = history.filter((e) => (e.commands || []).some((c) => c.deviceURL === deviceURL)).slice(0, 10);
      fill(list, mine.length ? mine.map((e) => h("li", {dataset: {state: e.state}},
        h("div", {className: "row spread"}, h("strong", {}, e.label || e.type),
          h("span", {className: `badge state-${e.state}`}, e.state)),
        h("div", {className: "muted"}, `${formatTime(e.eventTime)} · ${(e.commands || [])
          .filter((c) => c.deviceURL === deviceURL).map((c) => commandName(c.command)).join(", ")}`),
        e.state === "FAILED" ? h("p", {className: "error"}, `Failed: ${failureWords(e.failureType)}`) : null))
        : h("li", {className: "muted"}, "No executions on this device yet."));
    } catch (error) {
      fill(list, h("li", {className: "error"}, describe(error)));
    }
    executionsSlot = h("section", {className: "card stack", "aria-label": "Recent executions"},
      h("h3", {}, "Recent executions"), list);
    return executionsSlot;
  }

  function managePanel(device) {
    const note = h("p", {role: "status"});
    const label = h("input", {value: device.label, maxlength: 256, required: true});
    const room = select(book.rooms.map((r) => [r.oid, r.path]), device.placeOID, {"aria-label": "Room"});
    const rename = h("form", {className: "row", "aria-label": "Rename"}, field("Name", label),
      h("button", {type: "submit"}, "Rename"));
    rename.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = label.value.trim();
      if (!name) {
        note.textContent = "Give the device a name.";
        return;
      }
      try {
        await api.put(`/setup/devices/${encodeURIComponent(deviceURL)}/${encodeURIComponent(name)}`);
        note.textContent = `Renamed “${name}”.`;
      } catch (error) {
        note.textContent = `Not renamed: ${describe(error)}`;
      }
    });
    const move = h("form", {className: "row", "aria-label": "Move to a room"}, field("Room", room),
      h("button", {type: "submit", className: "secondary"}, "Move"));
    move.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api.put(`/setup/devices/${encodeURIComponent(deviceURL)}/relocate/${encodeURIComponent(room.value)}`);
        note.textContent = `Moved to ${book.rooms.find((r) => r.oid === room.value)?.path || "the room"}.`;
      } catch (error) {
        note.textContent = `Not moved: ${describe(error)}`;
      }
    });
    const remove = h("button", {type: "button", className: "danger", onclick: async () => {
      if (!confirm(`Delete “${device.label}”? The gateway forgets it; a radio device must be paired again.`)) return;
      try {
        await api.delete(`/setup/devices/${encodeURIComponent(deviceURL)}`);
        location.hash = "#home";
      } catch (error) {
        note.textContent = `Not deleted: ${describe(error)}`;
      }
    }}, "Delete this device");
    return h("section", {className: "card stack", "aria-label": "Manage"}, h("h3", {}, "Manage"),
      rename, book.rooms.length ? move : null, h("div", {className: "row"}, remove), note);
  }

  async function render() {
    const device = book.get(deviceURL);
    if (!device) {
      fill(root, h("p", {className: "card"}, "This device is not (or no longer) on the gateway. ",
        h("a", {href: "#home"}, "Back to Home")));
      return;
    }
    stops.splice(0).forEach((stop) => stop());
    const [health, executions] = await Promise.all([healthPanel(device), executionsPanel()]);
    fill(root, header(device), h("div", {className: "columns"},
      h("div", {className: "stack"}, statePanel(device), historyPanel(device)),
      h("div", {className: "stack"}, health, executions, managePanel(device))));
  }

  return {
    title: "Device",
    async mount(container) {
      root = h("div", {className: "stack", "aria-label": "Device"}, h("p", {className: "muted"}, "Loading…"));
      container.append(root);
      await book.ready();
      const device = book.get(deviceURL);
      if (device) document.title = `${device.label} · Hearth`;
      await render();
      // A rename, a move or a removal reloads the book: the page follows.
      this.bookStop = book.subscribe((kind) => { if (kind === "reload") render(); });
      // New executions of this device show in its list.
      this.liveStop = live.on("ExecutionStateChangedEvent", (e) => {
        if (["COMPLETED", "FAILED"].includes(e.newState)) refreshExecutions();
      });
    },
    unmount() {
      stops.splice(0).forEach((stop) => stop());
      if (this.bookStop) this.bookStop();
      if (this.liveStop) this.liveStop();
      if (chart) chart.destroy();
      clearTimeout(executionsTimer);
    },
  };
}
