// The page's entry point: log in with a token, then one view at a time (by the URL's #), kept live by events.

import {Api, describe} from "./api.js";
import {automationView} from "./automation.js";
import {DeviceBook} from "./devices.js";
import {h} from "./dom.js";
import {groupsView} from "./groups.js";
import {homeView} from "./home.js";
import {LiveEvents} from "./live.js";
import {pairingView} from "./pairing.js";
import {systemView} from "./system.js";

const VIEWS = {home: homeView, groups: groupsView, automation: automationView, pairing: pairingView, system: systemView};

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
  const name = VIEWS[location.hash.slice(1)] ? location.hash.slice(1) : "home";
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  unmount();
  $("notice").hidden = true;
  const view = VIEWS[name]({api, live, book, notify});
  current = view;
  const container = $("view");
  container.replaceChildren();
  document.title = `${view.title} · Hearth`;
  try {
    await view.mount(container);
  } catch (error) {
    if (current === view) container.append(h("p", {className: "card error"}, describe(error)));
  }
}

api.onUnauthorized = (reason) => {
  api.forget();
  showLogin(`Logged out: ${reason}`);
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
  try {
    await start();
  } catch (error) {
    if (api.loggedIn) {
      api.forget();
      showLogin(describe(error));
    }
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
