// Pairing: Zigbee permit join (devices appear as they join), Z-Wave inclusion with the S2 PIN prompt,
// RTS: a new virtual remote, then the PROG step.

import {describe} from "./api.js";
import {h, fill, field, select} from "./dom.js";
import {failureWords} from "./executions.js";

const RTS_TYPES = [["1", "Roller shutter"], ["2", "Exterior venetian blind"], ["3", "Awning"], ["4", "Garage door"],
  ["5", "Light"], ["6", "On/off receiver"]];

export function pairingView(ctx) {
  const {api, book, live} = ctx;
  const stops = [];
  const stackOf = (protocol) => `${protocol}://${api.gatewayId}/stack`;

  /** Run one command and wait for its execution's end; answers {state, failureType}. */
  function runAndWait(deviceURL, label, command, parameters = []) {
    return new Promise((resolve, reject) => {
      let execId = null;
      const early = [];
      const stop = live.on("ExecutionStateChangedEvent", (e) => {
        if (!["COMPLETED", "FAILED"].includes(e.newState)) return;
        if (execId === null) early.push(e);
        else if (e.execId === execId) finish(e);
      });
      const finish = (e) => { stop(); resolve({state: e.newState, failureType: e.failureType}); };
      api.run(deviceURL, label, [{name: command, parameters}]).then((id) => {
        execId = id;
        const seen = early.find((e) => e.execId === id);
        if (seen) finish(seen);
      }, (error) => { stop(); reject(error); });
    });
  }

  function joinedList(protocol) {
    const list = h("ul", {className: "list", "aria-label": `New ${protocol} devices`});
    stops.push(live.on("DeviceCreatedEvent", (e) => {
      if (!e.deviceURL.startsWith(`${protocol}://`)) return;
      if (list.querySelector(".muted")) list.replaceChildren();
      list.append(h("li", {}, `${e.label} — ${e.controllableName}`));
    }));
    list.append(h("li", {className: "muted"}, "None yet."));
    return list;
  }

  function missing(protocol, name) {
    return book.get(stackOf(protocol)) ? null :
      h("p", {className: "muted", dataset: {role: "no-radio"}}, `No ${name} radio is enabled on this gateway: enable `
        + `[drivers.${protocol}] in the configuration with the radio's serial port, then restart the gateway.`);
  }

  // ------------------------------------------------------------------ Zigbee

  function zigbee() {
    const duration = h("input", {type: "number", min: 1, max: 254, value: 120, inputmode: "numeric"});
    const status = h("p", {role: "status"});
    stops.push(live.on("ZigbeeJoinNetworkCompletedEvent", () => { status.textContent = "The network is open: put the device in pairing mode."; }));
    stops.push(live.on("ZigbeeJoinNetworkFailedEvent", (e) => { status.textContent = `Could not open the network: ${failureWords(e.failureType)}`; }));
    const radio = Boolean(book.get(stackOf("zigbee")));
    const durationOk = () => {
      const seconds = Number(duration.value);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 254) {
        status.textContent = "The duration is 1 to 254 seconds.";
        return false;
      }
      return true;
    };
    // Said as it is typed, radio or not: Zigbee opens a network for 254 s at most.
    duration.addEventListener("input", () => { if (durationOk() === true) status.textContent = ""; });
    const open = async () => {
      if (!durationOk()) return;
      const seconds = Number(duration.value);
      status.textContent = "Opening the network…";
      try {
        await api.post(`/config/${api.gatewayId}/zigbee/joinNetwork`, {duration: seconds});
      } catch (error) {
        status.textContent = describe(error);
      }
    };
    const close = async () => {
      try {
        const result = await runAndWait(stackOf("zigbee"), "Zigbee close network", "closeNetwork");
        status.textContent = result.state === "COMPLETED" ? "The network is closed." : `Not closed: ${failureWords(result.failureType)}`;
      } catch (error) {
        status.textContent = describe(error);
      }
    };
    return h("section", {className: "card stack", "aria-label": "Zigbee"}, h("h3", {}, "Zigbee"), missing("zigbee", "Zigbee"),
      h("div", {className: "row"}, field("Permit join for (s)", duration),
        // Without a Zigbee radio there is no network to open: the buttons say so instead of failing.
        h("button", {type: "button", onclick: open, disabled: !radio,
                     title: radio ? null : "No Zigbee radio is enabled on this gateway"}, "Permit join"),
        h("button", {type: "button", className: "secondary", onclick: close, disabled: !radio,
                     title: radio ? null : "No Zigbee radio is enabled on this gateway"}, "Close")),
      status, h("h4", {}, "Joined while this page is open"), joinedList("zigbee"));
  }

  // ------------------------------------------------------------------ Z-Wave

  function zwave() {
    const security = select([["S2", "S2 (asks for the PIN)"], ["S0", "S0 (legacy security)"], ["none", "No security"]], "S2");
    const timeout = h("input", {type: "number", min: 1, max: 3600, value: 60, inputmode: "numeric"});
    const status = h("p", {role: "status"});
    const pinSlot = h("div");
    const base = `/config/${api.gatewayId}/zwave/pairing`;
    const call = async (path, body, text) => {
      status.textContent = text;
      try {
        await api.post(`${base}/${path}`, body);
      } catch (error) {
        status.textContent = describe(error);
      }
    };
    stops.push(live.on("ZWaveSetModeCompleteEvent", () => { status.textContent = "Done: the controller is in the mode asked for."; }));
    stops.push(live.on("ZWaveSetModeFailedEvent", (e) => { status.textContent = `The controller refused: ${failureWords(e.failureType)}`; }));
    stops.push(live.on("ZWaveNewClientSideAuthenticationDSKEvent", (e) => fill(pinSlot, pinPrompt(e.deviceSecurityKey))));

    function pinPrompt(dsk) {
      const pin = h("input", {inputmode: "numeric", pattern: "[0-9]{5}", maxlength: 5, autocomplete: "off", required: true});
      const note = h("p", {role: "status"});
      const form = h("form", {className: "card stack", "aria-label": "S2 PIN"},
        h("p", {}, "A device asks to join with S2 security. Compare its key with the label on the device, and type the five "
          + "digits printed before it (the PIN)."),
        // zwave-js leaves out the first five digits (the PIN) of the key it shows: "-bbbbb-ccccc-...".
        h("p", {className: "secret"}, `DSK: ${String(dsk).startsWith("-") ? `_____${dsk}` : dsk}`),
        field("PIN (5 digits)", pin), note,
        h("div", {className: "row"}, h("button", {type: "submit"}, "Confirm"),
          h("button", {type: "button", className: "secondary", onclick: () => { fill(pinSlot); call("inclusion/stop", {}, "Stopping…"); }},
            "Refuse")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!/^[0-9]{5}$/.test(pin.value)) {
          note.textContent = "The PIN is five digits.";
          return;
        }
        note.textContent = "Checking…";
        try {
          const result = await runAndWait(stackOf("zwave"), "Z-Wave S2 PIN", "validateDSKAndEnterPIN", [pin.value]);
          if (result.state === "COMPLETED") {
            fill(pinSlot);
            status.textContent = "PIN accepted: the device is joining.";
          } else {
            note.textContent = `Not accepted: ${failureWords(result.failureType)}`;
          }
        } catch (error) {
          note.textContent = describe(error);
        }
      });
      return form;
    }

    const timeoutValue = () => Number(timeout.value) || 60;
    return h("section", {className: "card stack", "aria-label": "Z-Wave"}, h("h3", {}, "Z-Wave"), missing("zwave", "Z-Wave"),
      h("div", {className: "row"}, field("Security", security), field("For (s)", timeout)),
      h("div", {className: "row"},
        h("button", {type: "button", onclick: () => call("inclusion/start", {highestSecurityType: security.value, timeout: timeoutValue()},
          "Starting the inclusion…")}, "Include a device"),
        h("button", {type: "button", className: "secondary", onclick: () => call("inclusion/stop", {}, "Stopping…")}, "Stop including"),
        h("button", {type: "button", className: "secondary", onclick: () => call("exclusion/start", {timeout: timeoutValue()},
          "Starting the exclusion…")}, "Exclude a device"),
        h("button", {type: "button", className: "secondary", onclick: () => call("exclusion/stop", {}, "Stopping…")}, "Stop excluding")),
      status, pinSlot, h("h4", {}, "Included while this page is open"), joinedList("zwave"));
  }

  // ------------------------------------------------------------------ RTS

  function rts() {
    const label = h("input", {required: true, maxlength: 64, placeholder: "Kitchen blind"});
    const type = select(RTS_TYPES, "1");
    const status = h("p", {role: "status"});
    const progSlot = h("div");
    const form = h("form", {className: "stack", "aria-label": "Add an RTS device"},
      h("div", {className: "row"}, field("Name", label), field("Kind", type)),
      h("button", {type: "submit"}, "Add the remote"), status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = label.value.trim();
      if (!name) {
        status.textContent = "Give the device a name.";
        return;
      }
      status.textContent = "Adding…";
      try {
        const before = new Set((await api.get("/setup/devices")).map((d) => d.deviceURL));
        const {rtsChannelId} = await api.get(`/config/${api.gatewayId}/rts/channel`);
        await api.post(`/config/${api.gatewayId}/devices/${encodeURIComponent(rtsChannelId)}/rts/${type.value}/${encodeURIComponent(name)}`);
        const created = (await api.get("/setup/devices")).find((d) => !before.has(d.deviceURL) && d.deviceURL.startsWith("rts://"));
        status.textContent = `Added “${name}”.`;
        label.value = "";
        if (created) fill(progSlot, progStep(created));
      } catch (error) {
        status.textContent = describe(error);
      }
    });

    function progStep(device) {
      const note = h("p", {role: "status"});
      const send = async () => {
        note.textContent = "Sending PROG…";
        try {
          const result = await runAndWait(device.deviceURL, `PROG ${device.label}`, "pair");
          note.textContent = result.state === "COMPLETED"
            ? "PROG sent. The motor jogs briefly when it has learnt the new remote; try it from Home."
            : `PROG not sent: ${failureWords(result.failureType)}`;
        } catch (error) {
          note.textContent = describe(error);
        }
      };
      return h("section", {className: "card stack", "aria-label": "PROG step", dataset: {deviceUrl: device.deviceURL}},
        h("h4", {}, `Pair “${device.label}” with its motor`),
        h("ol", {}, h("li", {}, "On a remote the motor already obeys, hold PROG until the motor jogs up and down."),
          h("li", {}, "Within two minutes, press Send PROG here.")),
        h("button", {type: "button", onclick: send}, "Send PROG"), note);
    }

    return h("section", {className: "card stack", "aria-label": "RTS"}, h("h3", {}, "Somfy RTS"), missing("rts", "RTS"),
      h("p", {className: "muted"}, "RTS motors cannot be discovered: the gateway becomes a new remote, and the motor learns it."),
      form, progSlot);
  }

  return {
    title: "Pairing",
    async mount(container) {
      await book.ready();
      container.append(h("div", {className: "stack"}, h("h2", {}, "Pairing"), zigbee(), zwave(), rts()));
    },
    unmount() {
      stops.splice(0).forEach((stop) => stop());
    },
  };
}
