// The page's entry point: log in with a token, then one view at a time (by the URL's #), kept live by events.

import {Api, describe} from "./api.js";
import {automationView} from "./automation.js";
import {deviceView} from "./device.js";
import {DeviceBook} from "./devices.js";
import {h} from "./dom.js";
import {groupsView} from "./groups.js";
import {homeView} from "./home.js";
import {LiveEvents} from "./live.js";
import {pairingView} from "./pairing.js";
import {systemView} from "./system.js";

const VIEWS = {home: homeView, groups: groupsView, automation: automationView, pairing: pairingView, system: systemView,
  device: deviceView};
// Views reached from another one (a device's page from Home): the navigation shows where they belong.
const NAV_OF = {device: "home"};

const $ = (id) => document.getElementById(id);
const api = new Api();
const live = new LiveEvents(api);
let book = null;
let current = null;   // the mounted view
let noticeTimer = null;

/** A message over the view (errors stay until the next one; information goes after a while). */
function notify(text, kind = "error") {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = `notice ${kind === "error" ? "" : "info"}`;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  if (kind !== "error") noticeTimer = setTimeout(() => { notice.hidden = true; }, 5000);
}

function showLogin(reason) {
  live.reset();
  unmount();
  book = null;
  for (const id of ["nav", "logout", "live", "view", "notice"]) $(id).hidden = true;
  $("login-view").hidden = false;
  $("login-reason").hidden = !reason;
  $("login-reason").textContent = reason || "";
  $("token").value = "";
  $("token").focus();
}

async function start() {
  await api.connect();   // a refused token is a 401, which brings the login back with the reason
  book = new DeviceBook(api, live);
  $("login-view").hidden = true;
  for (const id of ["nav", "logout", "live", "view"]) $(id).hidden = false;
  live.start();
  await route();
}

function unmount() {
  if (current) {
    try {
      current.unmount();
    } catch (error) {
      console.warn("unmount failed", error);
    }
  }
  current = null;
}

async function route() {
  if (!book) return;
  // "#device/<deviceURL, encoded>": a view and its parameter.
  const [hashName, ...rest] = location.hash.slice(1).split("/");
  const name = VIEWS[hashName] ? hashName : "home";
  let param = rest.length ? rest.join("/") : null;
  try {
    param = param === null ? null : decodeURIComponent(param);
  } catch {
    param = null;
  }
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === (NAV_OF[name] || name)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  unmount();
  $("notice").hidden = true;
  const view = VIEWS[name]({api, live, book, notify, param});
  current = view;
  const container = $("view");
  container.replaceChildren();
  document.title = `${view.title} · Hearth`;
  window.scrollTo(0, 0);
  try {
    await view.mount(container);
  } catch (error) {
    if (current === view) container.append(h("p", {className: "card error"}, describe(error)));
  }
}

// A refusal while logged in: the token was revoked (or the gateway's tokens were reset) since the login.
api.onUnauthorized = (reason) => {
  api.forget();
  showLogin(`You were logged out: the gateway no longer accepts this token (${reason}). It may have been revoked; `
    + "log in with another one.");
};

live.onStatus = (up) => {
  $("live").textContent = up ? "live" : "reconnecting…";
  $("live").classList.toggle("on", up);
};

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  api.remember(token);
  // At the login a refusal means the token typed is wrong, not that a session ended.
  const afterLogin = api.onUnauthorized;
  api.onUnauthorized = (reason) => {
    api.forget();
    showLogin(`Wrong token: this gateway does not know it (${reason}). Check that it was copied whole, or make `
      + "a new one with `hearth token create` on the gateway.");
  };
  try {
    await start();
  } catch (error) {
    if (api.loggedIn) {
      api.forget();
      showLogin(describe(error));
    }
  } finally {
    api.onUnauthorized = afterLogin;
  }
});

$("logout").addEventListener("click", () => {
  api.forget();
  showLogin("");
});

window.addEventListener("hashchange", route);

if (api.loggedIn) {
  start().catch((error) => {
    if (api.loggedIn) showLogin(describe(error));  // kept: the gateway may just be restarting
  });
} else {
  showLogin("");
}
