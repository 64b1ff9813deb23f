// Home: every device, by room, with its live state and the controls that fit it; search, a filter by kind,
// rooms that fold (remembered in this browser). A device's name opens its page.

import {describe} from "./api.js";
import {controlsFor, commandNames, isAssumed} from "./controls.js";
import {h, fill} from "./dom.js";
import {failureWords} from "./executions.js";
import {COLOUR_STATES, KIND_WORDS, QUIET_STATES, commandName, iconFor, isActive, kindOf, lampColour, stateName,
  stateText, stateUnit} from "./vocabulary.js";

const FOLDED_KEY = "hearth.foldedRooms";

export function deviceLink(device) {
  return `#device/${encodeURIComponent(device.deviceURL)}`;
}

/** The states of a device as a definition list: friendly names, values with their units, one colour swatch. */
export function stateList(device, {skip = new Set()} = {}) {
  const states = device.stateMap || {};
  const rows = [];
  const colour = lampColour(states);
  for (const s of device.states || []) {
    if (QUIET_STATES.has(s.name) || COLOUR_STATES.has(s.name) || skip.has(s.name)) continue;
    if (s.name === "core:MovingState" && s.value !== true) continue;  // said only while it moves
    if (s.name === "core:BatteryState" && typeof states["core:BatteryLevelState"] === "number") continue;
    const unit = stateUnit(s.name);
    rows.push(h("dt", {}, stateName(s.name)), h("dd", {},
      h("span", {dataset: {state: s.name}}, stateText(s.name, s.value)),
      unit && typeof s.value === "number" ? h("span", {className: "unit"}, ` ${unit}`) : null));
  }
  if (colour) {
    rows.push(h("dt", {}, "Colour"), h("dd", {}, h("span", {className: "swatch", title: colour,
                                                         dataset: {colour}}), ` ${colour}`));
  }
  return rows;
}

export function homeView(ctx) {
  const {api, book, live} = ctx;
  const cards = new Map();   // deviceURL -> {element, renderState, status}
  let root, listing, search, kind;
  const pending = new Map(); // execId -> deviceURL: commands sent from here, to tell the user how they ended
  const folded = new Set(JSON.parse(localStorage.getItem(FOLDED_KEY) || "[]"));

  function matches(device, roomLabel) {
    const words = search.value.trim().toLowerCase();
    if (kind.value === "unavailable" && device.available !== false) return false;
    if (kind.value && kind.value !== "unavailable" && kindOf(device) !== kind.value) return false;
    return !words || device.label.toLowerCase().includes(words) || roomLabel.toLowerCase().includes(words);
  }

  function render() {
    cards.clear();
    const devices = book.usable();
    const byRoom = new Map();
    const rooms = [...book.rooms, {oid: "", label: "Elsewhere", path: "Not in a room"}];
    const roomLabel = new Map(rooms.map((r) => [r.oid, r.label]));
    for (const device of devices) {
      const key = book.rooms.some((r) => r.oid === device.placeOID) ? device.placeOID : "";
      if (!matches(device, roomLabel.get(key))) continue;
      if (!byRoom.has(key)) byRoom.set(key, []);
      byRoom.get(key).push(device);
    }
    const filtering = Boolean(search.value.trim() || kind.value);
    fill(listing, rooms.filter((r) => byRoom.has(r.oid)).map((room) => roomSection(room, byRoom.get(room.oid), filtering)));
    if (!devices.length) listing.append(h("p", {className: "card"}, "No devices yet. Add some under Pairing."));
    else if (!byRoom.size) listing.append(h("p", {className: "card muted"}, "No device matches the search."));
  }

  function roomSection(room, devices, filtering) {
    // A search shows what it found even in a folded room.
    const open = filtering || !folded.has(room.oid || "-");
    const grid = h("div", {className: "grid", hidden: !open}, open ? devices.map(card) : []);
    const toggle = h("button", {type: "button", className: "fold", "aria-expanded": String(open),
                                "aria-label": `${room.path}: ${open ? "fold" : "unfold"}`}, room.path,
      h("span", {className: "muted"}, ` · ${devices.length}`));
    toggle.addEventListener("click", () => {
      const key = room.oid || "-";
      if (folded.has(key)) folded.delete(key);
      else folded.add(key);
      localStorage.setItem(FOLDED_KEY, JSON.stringify([...folded]));
      render();
    });
    return h("section", {className: "room", "aria-label": room.label}, h("h2", {}, toggle), grid);
  }

  function card(device) {
    const status = h("p", {className: "muted", role: "status"});
    const states = h("dl", {className: "states"});
    const badges = h("span", {className: "row"});
    const send = async (command, parameters) => {
      const words = commandName(command);
      status.textContent = `${words}…`;
      try {
        const execId = await api.run(device.deviceURL, `${command} ${device.label}`, [{name: command, parameters}]);
        pending.set(execId, device.deviceURL);
        status.textContent = `${words}: sent`;
      } catch (error) {
        status.textContent = `${words}: ${describe(error)}`;
      }
    };
    const controls = controlsFor(device, send);
    // The on/off switch says On or Off: the Power state beside it would say it twice.
    const shownByControls = new Set(commandNames(device).has("on") ? ["core:OnOffState"] : []);
    const element = h("article", {className: `card device kind-${kindOf(device)}`, "aria-label": device.label,
                                  dataset: {deviceUrl: device.deviceURL}},
      h("header", {}, iconFor(device),
        h("a", {className: "name", href: deviceLink(device), title: "Open the device's page"}, device.label), badges),
      states, controls.element, status);
    const renderState = (d) => {
      fill(badges,
        isAssumed(d) ? h("span", {className: "badge assumed", title: "This device cannot report: the state shown is the gateway's estimate from the commands it sent."}, "assumed") : null,
        d.available === false ? h("span", {className: "badge bad"}, "unavailable") : null);
      element.classList.toggle("unavailable", d.available === false);
      element.classList.toggle("active", isActive(d.stateMap || {}));
      fill(states, stateList(d, {skip: shownByControls}));
      controls.update(d.stateMap);
    };
    renderState(device);
    cards.set(device.deviceURL, {element, renderState, status});
    return element;
  }

  function onBook(kindOfChange, detail) {
    if (kindOfChange === "state") {
      const entry = cards.get(detail.deviceURL);
      if (entry) entry.renderState(detail);
    } else {
      render();
    }
  }

  function onExecution(event) {
    const url = pending.get(event.execId);
    if (!url || !["COMPLETED", "FAILED"].includes(event.newState)) return;
    pending.delete(event.execId);
    const entry = cards.get(url);
    if (!entry) return;
    entry.status.textContent = event.newState === "COMPLETED" ? "Done." :
      `Failed: ${failureWords(event.failureType)}`;
  }

  return {
    title: "Home",
    async mount(container) {
      search = h("input", {type: "search", placeholder: "Search devices or rooms", "aria-label": "Search devices",
                           autocomplete: "off"});
      kind = h("select", {"aria-label": "Show"}, h("option", {value: ""}, "All devices"),
        Object.entries(KIND_WORDS).map(([value, text]) => h("option", {value}, text)),
        h("option", {value: "unavailable"}, "Unavailable"));
      search.addEventListener("input", render);
      kind.addEventListener("change", render);
      listing = h("div", {className: "stack"}, h("p", {className: "muted"}, "Loading the devices…"));
      root = h("div", {className: "stack"}, h("div", {className: "row filters"}, search, kind), listing);
      container.append(root);
      await book.ready();
      render();
      this.stops = [book.subscribe(onBook), live.on("ExecutionStateChangedEvent", onExecution)];
    },
    unmount() {
      (this.stops || []).forEach((stop) => stop());
    },
  };
}
