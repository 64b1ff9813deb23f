// Home: every device, by room, with its live state and the controls that fit it.

import {describe} from "./api.js";
import {controlsFor, isAssumed} from "./controls.js";
import {h, fill, formatValue, stateTitle} from "./dom.js";
import {failureWords} from "./executions.js";

// States that say nothing a person needs on a card.
const QUIET_STATES = new Set(["core:NameState", "core:StatusState", "rts:LastCommandTimeState"]);

export function homeView(ctx) {
  const {api, book, live} = ctx;
  const cards = new Map();   // deviceURL -> {card, render(device)}
  let root;
  const pending = new Map(); // execId -> deviceURL: commands sent from here, to tell the user how they ended

  function render() {
    cards.clear();
    const devices = book.usable();
    const byRoom = new Map();
    for (const device of devices) {
      const key = book.rooms.some((r) => r.oid === device.placeOID) ? device.placeOID : "";
      if (!byRoom.has(key)) byRoom.set(key, []);
      byRoom.get(key).push(device);
    }
    const rooms = [...book.rooms, {oid: "", label: "Elsewhere", path: "Not in a room"}];
    fill(root, rooms.filter((r) => byRoom.has(r.oid)).map((room) => h("section", {
      className: "room", "aria-label": room.label,
    }, h("h2", {}, room.path), h("div", {className: "grid"}, byRoom.get(room.oid).map(card)))));
    if (!devices.length) root.append(h("p", {className: "card"}, "No devices yet. Add some under Pairing."));
  }

  function card(device) {
    const status = h("p", {className: "muted", role: "status"});
    const states = h("dl", {className: "states"});
    const badges = h("span", {className: "row"});
    const send = async (command, parameters) => {
      status.textContent = `Sending ${command}…`;
      try {
        const execId = await api.run(device.deviceURL, `${command} ${device.label}`, [{name: command, parameters}]);
        pending.set(execId, device.deviceURL);
        status.textContent = `${command}: sent`;
      } catch (error) {
        status.textContent = `${command}: ${describe(error)}`;
      }
    };
    const controls = controlsFor(device, send);
    const element = h("article", {className: "card device", "aria-label": device.label,
                                  dataset: {deviceUrl: device.deviceURL}},
      h("header", {}, h("span", {className: "name"}, device.label), badges),
      states, controls.element, status);
    const renderState = (d) => {
      fill(badges,
        isAssumed(d) ? h("span", {className: "badge assumed", title: "This device cannot report: the state shown is the gateway's estimate from the commands it sent."}, "assumed") : null,
        d.available === false ? h("span", {className: "badge bad"}, "unavailable") : null);
      element.classList.toggle("unavailable", d.available === false);
      fill(states, (d.states || []).filter((s) => !QUIET_STATES.has(s.name)).map((s) => [
        h("dt", {}, stateTitle(s.name)),
        h("dd", {dataset: {state: s.name}}, formatValue(s.value)),
      ]));
      controls.update(d.stateMap);
    };
    renderState(device);
    cards.set(device.deviceURL, {element, renderState, status});
    return element;
  }

  function onBook(kind, detail) {
    if (kind === "state") {
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
      root = h("div", {className: "stack"}, h("p", {className: "muted"}, "Loading the devices…"));
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
