// Executions: the ones running, live state by state, and the history, with failures explained in words.

import {describe} from "./api.js";
import {h, fill, formatTime, humanise} from "./dom.js";
import {commandName} from "./vocabulary.js";

const FAILURE_WORDS = {
  ACTUATORUNKNOWN: "the device is not known to its radio",
  ACTUATORNOANSWER: "the device did not answer",
  DEVICE_NO_ANSWER: "the device did not answer",
  ERRORREADWRITEACCESS: "the radio could not be read or written",
  ERRORCOMMAND: "the device refused the command",
  CMDUNKNOWN: "the device does not know this command",
  CMDCANCELLED: "the command was cancelled",
  CANCELLED: "the execution was cancelled",
  NOREMOTECONTROL: "the device is not under remote control",
  BAD_CMD: "the command is not valid",
  BAD_PARAM: "a parameter is not valid",
  BAD_ADDRESS: "the device's address is not valid",
  SERIAL_IO_ERROR: "the radio transmitter is unplugged or not answering",
  BUSY_RADIO_ERROR: "the radio is busy",
  PRIORITY_LOCK__USER: "the device is locked by a higher-priority command",
  ANOTHER_COMMAND_IS_RUNNING: "another command is running on the device",
  COMMAND_INTERRUPTED: "another command interrupted it",
  TIMED_OUT: "it took too long",
  TIME_OUT_ON_TRANSMIT: "the radio could not send it in time",
  TIME_OUT_ON_TRANSMITTED_COMMAND: "sent, but the device did not confirm in time",
  TIME_OUT_ON_COMMAND_PROGRESS: "the device stopped reporting progress",
  PEER_DOWN: "the radio's service is down",
  SETUP_REQUIRED: "the radio needs setting up first",
  INTERNAL_ERROR: "an internal error of the gateway (see the logs under System)",
  NOT_IMPLEMENTED_YET: "this gateway cannot do that yet",
  UNKNOWN: "the reason is unknown",
};

export function failureWords(code) {
  if (!code || code === "NO_FAILURE") return "no failure";
  return FAILURE_WORDS[code] || humanise(code);
}

const FINAL = new Set(["COMPLETED", "FAILED"]);

/** A panel of running executions and the history, kept live. `onlyGroup` limits it to one action group. */
export function executionPanel(ctx) {
  const {api, book, live} = ctx;
  const running = new Map();   // execId -> {label, state, commands: Map(rank -> {deviceURL, name, state})}
  const runningList = h("ul", {className: "list", "aria-label": "Running executions"});
  const historyList = h("ul", {className: "list", "aria-label": "Execution history"});
  const element = h("div", {className: "stack"},
    h("section", {className: "card"}, h("h3", {}, "Running now"), runningList),
    h("section", {className: "card"}, h("div", {className: "row spread"}, h("h3", {}, "History"),
      h("button", {type: "button", className: "secondary", onclick: () => loadHistory()}, "Refresh")), historyList));
  let historyTimer = null;

  function renderRunning() {
    fill(runningList, running.size ? [...running.entries()].map(([id, e]) => h("li", {
      dataset: {execId: id, state: e.state}, "aria-label": `Execution ${e.label}`,
    }, h("div", {className: "row spread"}, h("strong", {}, e.label),
      h("span", {className: `badge state-${e.state}`, dataset: {role: "state"}}, e.state),
      h("button", {type: "button", className: "secondary", onclick: () => cancel(id)}, "Cancel")),
    h("ol", {className: "exec-commands"}, [...e.commands.values()].map((c) => h("li", {},
      `${book.label(c.deviceURL)}: ${commandName(c.name)} — ${c.state}${c.failure ? ` (${failureWords(c.failure)})` : ""}`)))))
      : h("li", {className: "muted"}, "Nothing is running."));
  }

  async function cancel(id) {
    try {
      await api.delete(`/exec/current/setup/${encodeURIComponent(id)}`);
    } catch (error) {
      ctx.notify(describe(error));
    }
  }

  async function loadRunning() {
    const current = await api.get("/exec/current");
    running.clear();
    for (const e of current) {
      const commands = new Map();
      let rank = 0;
      for (const action of e.actionGroup.actions) {
        for (const c of action.commands) commands.set(rank++, {deviceURL: action.deviceURL, name: c.name, state: "…"});
      }
      running.set(e.id, {label: e.actionGroup.label || e.description, state: e.state, commands});
    }
    renderRunning();
  }

  async function loadHistory() {
    try {
      const history = await api.get("/history/executions?limit=30");
      fill(historyList, history.length ? history.map(historyItem) : h("li", {className: "muted"}, "No executions yet."));
    } catch (error) {
      fill(historyList, h("li", {className: "error"}, describe(error)));
    }
  }

  function historyItem(e) {
    const failed = (e.commands || []).filter((c) => c.state === "FAILED" || (c.failureType && c.failureType !== "NO_FAILURE"));
    return h("li", {dataset: {execId: e.id, state: e.state}, "aria-label": `Execution ${e.label}`},
      h("div", {className: "row spread"}, h("strong", {}, e.label || e.type),
        h("span", {className: `badge state-${e.state}`}, e.state)),
      h("div", {className: "muted"}, `${formatTime(e.eventTime)} · ${e.executionSubType || e.type} · by ${e.owner}`
        + (e.duration ? ` · ${(e.duration / 1000).toFixed(1)} s` : "")),
      e.state === "FAILED" ? h("p", {className: "error"}, `Failed: ${failureWords(e.failureType)}`) : null,
      failed.length ? h("ul", {className: "exec-commands"}, failed.map((c) => h("li", {className: "error"},
        `${book.label(c.deviceURL)}: ${commandName(c.command)} — ${failureWords(c.failureType)}`))) : null);
  }

  function registered(event) {
    if (event.type === 3) return;  // technical executions (radio procedures, refreshes) are not the user's
    const commands = new Map();
    let rank = 0;
    for (const action of event.actions || []) {
      for (const c of action.commands) commands.set(rank++, {deviceURL: action.deviceURL, name: c.name, state: "QUEUED"});
    }
    running.set(event.execId, {label: event.label, state: "INITIALIZED", commands});
    renderRunning();
  }

  function changed(event) {
    const e = running.get(event.execId);
    if (!e) return;
    e.state = event.newState;
    if (FINAL.has(event.newState)) {
      // Kept a moment so that the last state is seen, then it moves to the history.
      renderRunning();
      setTimeout(() => { running.delete(event.execId); renderRunning(); }, 1500);
      clearTimeout(historyTimer);
      historyTimer = setTimeout(loadHistory, 300);
      return;
    }
    renderRunning();
  }

  function commandChanged(event) {
    const e = running.get(event.execId);
    const c = e && e.commands.get(event.rank);
    if (!c) return;
    c.state = event.newState;
    c.failure = event.failureType;
    renderRunning();
  }

  return {
    element,
    async start() {
      this.stops = [live.on("ExecutionRegisteredEvent", registered), live.on("ExecutionStateChangedEvent", changed),
        live.on("CommandExecutionStateChangedEvent", commandChanged),
        live.on("resync", () => { loadRunning(); loadHistory(); })];
      await Promise.all([loadRunning(), loadHistory()]);
    },
    stop() {
      (this.stops || []).forEach((stop) => stop());
      clearTimeout(historyTimer);
    },
  };
}
