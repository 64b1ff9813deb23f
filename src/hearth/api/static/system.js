// System: radios and their health, cloud sync and outbox, tokens, backup and restore, recent logs.
// The /ext/ routes are Hearth's own; a gateway without one answers 404 and the page says so.

import {describe} from "./api.js";
import {h, fill, field, select, formatTime, download} from "./dom.js";
import {kindWords, stateText} from "./vocabulary.js";

function duration(seconds) {
  const s = Math.floor(seconds || 0);
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${hh} h` : hh ? `${hh} h ${m} min` : `${m} min ${s % 60} s`;
}

/** A table; on a phone each row becomes a small block of "header: value" lines (app.css), so it needs no
 *  sideways scrolling. */
function table(headers, rows, {wideOnly = []} = {}) {
  // `wideOnly`: columns left out on a phone (what a link to the row's own page shows anyway).
  const className = (i) => (wideOnly.includes(i) ? "wide-only" : null);
  return h("div", {className: "scroll"}, h("table", {className: "blocks-on-phone"},
    h("thead", {}, h("tr", {}, headers.map((t, i) => h("th", {scope: "col", className: className(i)}, t)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c, i) => h("td", {dataset: {label: headers[i]},
                                                                                 className: className(i)}, c)))))));
}

export function systemView(ctx) {
  const {api, book, live} = ctx;
  const sections = {};
  const stops = [];

  /** Fill a section from a loader; errors (a missing route, a scope too small) in words. */
  async function show(name, loader) {
    const target = sections[name];
    try {
      fill(target, await loader());
    } catch (error) {
      fill(target, h("p", {className: error.notAvailable ? "muted" : "error"}, describe(error)));
    }
  }

  async function overview() {
    const s = await api.get("/ext/system");
    const cloud = s.cloud || {};
    return [
      h("p", {}, `Gateway ${s.gatewayId} · Hearth ${s.version} · up ${duration(s.uptimeSeconds)}`),
      h("h4", {}, "Radios"),
      table(["Driver", "Protocol", "Status", "Devices", "Unavailable"], (s.drivers || []).map((d) => [
        d.name, d.protocol, h("span", {className: `badge ${d.status === "running" || d.status === "ok" ? "good" : "bad"}`}, d.status),
        String(d.devices), String(d.unavailable)])),
      h("h4", {}, "Cloud"),
      cloud.enabled ? h("dl", {className: "states", "aria-label": "Cloud"},
        h("dt", {}, "Connection"), h("dd", {}, String(cloud.connectivity)),
        h("dt", {}, "Syncing"), h("dd", {}, cloud.syncInProgress ? "yes" : "no"),
        h("dt", {}, "Waiting to send"), h("dd", {dataset: {role: "outbox"}}, `${cloud.outboxDepth} messages`))
        : h("p", {className: "muted"}, "No cloud is configured: the gateway works on its own."),
    ];
  }

  async function health() {
    const list = await api.get("/ext/devices/health");
    const ms = (v) => (typeof v === "number" ? (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`) : "–");
    const battery = (d) => {
      const states = (book.get(d.deviceURL) || {}).stateMap || {};
      if (typeof states["core:BatteryLevelState"] === "number") return `${states["core:BatteryLevelState"]} %`;
      return "core:BatteryState" in states ? stateText("core:BatteryState", states["core:BatteryState"]) : "–";
    };
    const signal = (d) => {
      const states = (book.get(d.deviceURL) || {}).stateMap || {};
      return typeof states["core:RSSILevelState"] === "number" ? `${states["core:RSSILevelState"]} %` : "–";
    };
    const model = (d) => {
      const device = book.get(d.deviceURL);
      const found = device && (device.attributes || []).find((a) => a.name === "core:Model" && a.value);
      return found ? String(found.value) : device ? kindWords(device.controllableName) : "–";
    };
    // Only the devices a person uses (not the radios' stacks); a link to each device's page.
    const shown = list.filter((d) => book.get(d.deviceURL) && book.get(d.deviceURL).uiClass !== "ProtocolGateway");
    return [h("p", {className: "muted"}, "On a phone, a device's page (its name) has the rest. Command time: from sending a command to the device confirming it done; for a "
      + "shutter or a garage door this includes its travel."),
    table(["Device", "Available", "Battery", "Signal", "Model", "Last seen", "Commands (failed)", "Command time (median / 95 %)"],
      shown.map((d) => [
        h("a", {href: `#device/${encodeURIComponent(d.deviceURL)}`}, book.label(d.deviceURL)),
        d.available ? "yes" : h("span", {className: "error"}, "no"), battery(d), signal(d), model(d),
        formatTime(d.lastSeen) || "–", `${d.commands} (${d.failures})`,
        d.latencyMs && d.latencyMs.p50 !== null ? `${ms(d.latencyMs.p50)} / ${ms(d.latencyMs.p95)}` : "–"]),
      {wideOnly: [4, 5, 6, 7]})];
  }

  const logLevel = select([["DEBUG", "everything"], ["INFO", "information and above"], ["WARNING", "warnings and errors"],
    ["ERROR", "errors only"]], "INFO", {"aria-label": "Log level"});
  logLevel.addEventListener("change", () => show("logs", logs));

  async function logs() {
    const lines = await api.get(`/ext/logs?limit=200&level=${logLevel.value}`);  // newest first
    return h("div", {className: "logs", tabindex: 0, "aria-label": "Recent logs"},
      table(["Time", "Level", "Logger", "Message"], lines.map((l) => [
        formatTime(typeof l.time === "number" && l.time < 1e12 ? l.time * 1000 : l.time), l.level, l.logger, l.message])));
  }

  // ------------------------------------------------------------------ tokens

  const tokensBase = () => `/config/${encodeURIComponent(api.gatewayId)}/local/tokens`;
  const made = h("div", {role: "status"});  // outside the list, which is read again after each change

  async function tokens() {
    const list = await api.get(`${tokensBase()}/devmode`);
    const revoke = async (t) => {
      if (!confirm(`Revoke the token "${t.label}"? Whoever uses it loses access at once.`)) return;
      try {
        await api.delete(`${tokensBase()}/${encodeURIComponent(t.uuid)}`);
        fill(made);
        await refreshTokens();
      } catch (error) {
        fill(made, h("p", {className: "error"}, describe(error)));
      }
    };
    return table(["Label", "Scope", "Made", ""], list.map((t) => [t.label || t.uuid.slice(0, 8), t.scope,
      formatTime(t.gatewayCreationTime), h("button", {type: "button", className: "danger", "aria-label": `Revoke ${t.label}`,
                                                      onclick: () => revoke(t)}, "Revoke")]));
  }

  function tokenForm() {
    const label = h("input", {maxlength: 128, required: true});
    const scope = select([["view", "view (read only)"], ["control", "control (read and run)"], ["admin", "admin (everything)"]], "control");
    const form = h("form", {className: "row", "aria-label": "New token"}, field("Label", label), field("Scope", scope),
      h("button", {type: "submit"}, "Make a token"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const {token} = await api.get(`${tokensBase()}/generate`);
        await api.post(tokensBase(), {label: label.value.trim(), token, scope: scope.value});
        // Shown once, here only: the gateway keeps a hash of it and cannot show it again.
        fill(made, h("p", {}, "The new token (copy it now, it is not shown again):"), h("p", {className: "secret"}, token));
        label.value = "";
        await refreshTokens();
      } catch (error) {
        fill(made, h("p", {className: "error"}, describe(error)));
      }
    });
    return [form, made];
  }

  const refreshTokens = () => show("tokens", tokens);

  // ------------------------------------------------------------------ backup

  function backup() {
    const status = h("p", {role: "status"});
    const file = h("input", {type: "file"});
    const passphrase = h("input", {type: "password", autocomplete: "off", minlength: 8});
    const ownPassphrase = h("input", {type: "password", autocomplete: "new-password", minlength: 8});
    const passphraseField = field("Your own passphrase for the first backup (optional, 8+ characters)", ownPassphrase);
    const keep = h("div", {"aria-label": "Backup passphrase"});

    /** Shown once, here: the gateway keeps it in its data folder and never shows it again. */
    function showPassphrase(value, where) {
      fill(keep, h("div", {className: "card stack", role: "note"},
        h("p", {}, h("strong", {}, "Your backup passphrase"), " (shown this once):"),
        h("p", {className: "secret passphrase", dataset: {role: "passphrase"}}, value),
        h("p", {}, "Every backup of this gateway is locked with it. Without it a backup cannot be restored on "
          + "another box, for instance after this one's memory card fails."),
        h("ul", {}, h("li", {}, "Write it down or keep it in a password manager, away from the gateway."),
          h("li", {}, "To restore on another box, give it in the Passphrase field below (or to `hearth restore "
            + "--passphrase-file`)."),
          h("li", {}, `On this box it is kept in ${where}.`)),
        h("button", {type: "button", className: "secondary", onclick: () => fill(keep)}, "I have kept it")));
    }

    /** Before the first backup: the user's own passphrase, or one the gateway makes; answers false if not set. */
    async function ensurePassphrase() {
      const info = await api.get("/ext/backups");
      if (info.passphraseSet) return true;
      const own = ownPassphrase.value;
      if (own && own.length < 8) {
        status.textContent = "Your own passphrase needs at least 8 characters (or leave it empty: the gateway makes one).";
        return false;
      }
      const made = await api.post("/ext/backup/passphrase", own ? {passphrase: own} : {});
      ownPassphrase.value = "";
      passphraseField.hidden = true;
      showPassphrase(made.passphrase, made.passphraseFile);
      return true;
    }

    const save = async () => {
      status.textContent = "Preparing the backup…";
      try {
        if (!await ensurePassphrase()) return;
        const response = await api.request("GET", "/ext/backup", {whole: true});
        const disposition = response.headers.get("Content-Disposition") || "";
        const match = /filename="?([^";]+)"?/.exec(disposition);
        const stamp = new Date().toISOString().slice(0, 10);
        download(await response.blob(), match ? match[1] : `hearth-backup-${api.gatewayId}-${stamp}`);
        status.textContent = "Backup downloaded. It holds the network keys: keep it safe, and keep the passphrase "
          + "apart from it.";
      } catch (error) {
        status.textContent = describe(error);
      }
    };
    const restore = async () => {
      const chosen = file.files && file.files[0];
      if (!chosen) {
        status.textContent = "Choose a backup file first.";
        return;
      }
      if (!confirm("Restore this backup? It replaces the gateway's data when the gateway restarts.")) return;
      status.textContent = "Uploading…";
      try {
        // Only an archive sealed on another box needs its passphrase; this box's own is read from its disk.
        const headers = passphrase.value ? {"X-Hearth-Backup-Passphrase": passphrase.value} : {};
        const answer = await api.request("POST", "/ext/backup/restore", {raw: await chosen.arrayBuffer(), headers});
        const made = answer && answer.creationTime ? ` (made ${formatTime(answer.creationTime)})` : "";
        status.textContent = `Backup of gateway ${answer ? answer.gatewayId : "?"}${made} accepted: `
          + "restart the gateway to apply it.";
      } catch (error) {
        status.textContent = describe(error);
      }
    };
    // Before the first backup, offer to choose the passphrase (else the gateway makes one and shows it).
    api.get("/ext/backups").then((info) => { passphraseField.hidden = Boolean(info.passphraseSet); },
      () => { passphraseField.hidden = true; });
    return [h("p", {className: "muted"}, "A backup is an encrypted file of the gateway's data, settings and network "
      + "keys, locked with the backup passphrase."),
      h("div", {className: "row"}, passphraseField, h("button", {type: "button", onclick: save}, "Download a backup")),
      keep,
      h("div", {className: "row"}, field("Backup file", file), field("Passphrase (a backup from another box)", passphrase),
        h("button", {type: "button", className: "danger", onclick: restore}, "Restore")), status];
  }

  function section(name, title, refresh, after = null) {
    sections[name] = h("div", {}, h("p", {className: "muted"}, "Loading…"));
    return h("section", {className: "card stack", "aria-label": title},
      h("div", {className: "row spread"}, h("h3", {}, title),
        refresh ? h("button", {type: "button", className: "secondary", onclick: refresh}, "Refresh") : null),
      sections[name], after);
  }

  const loadAll = () => Promise.all([show("overview", overview), show("health", health), refreshTokens(),
    show("logs", logs)]);

  return {
    title: "System",
    async mount(container) {
      await book.ready();
      container.append(h("div", {className: "stack"}, h("h2", {}, "System"),
        section("overview", "Gateway, radios and cloud", () => show("overview", overview)),
        section("health", "Device health", () => show("health", health)),
        section("tokens", "Access tokens", null, tokenForm()),
        h("section", {className: "card stack", "aria-label": "Backup"}, h("h3", {}, "Backup and restore"), backup()),
        section("logs", "Recent logs", () => show("logs", logs))));
      for (const name of ["GatewaySynchronizationStartedEvent", "GatewaySynchronizationEndedEvent"]) {
        stops.push(live.on(name, () => show("overview", overview)));
      }
      await loadAll();
    },
    unmount() {
      stops.splice(0).forEach((stop) => stop());
    },
  };
}
