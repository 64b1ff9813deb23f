// The gateway's event stream over a WebSocket. A browser cannot set the Authorization header of a WebSocket,
// so the token goes in the first message, as the gateway expects (routes/events.py).

import {BASE} from "./api.js";

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
// Close codes of the gateway: the token is refused (4401) or lacks the scope (4403); retrying cannot help.
const REFUSED = new Set([4401, 4403]);

export class LiveEvents {
  constructor(api) {
    this.api = api;
    this.handlers = new Map();   // event name (or "*") -> Set of functions
    this.socket = null;
    this.retryMs = RETRY_MIN_MS;
    this.timer = null;
    this.live = false;      // the stream is up now
    this.wasLive = false;   // it was up before: a new connection means events may have been missed
    /** Called with true/false as the stream comes and goes. */
    this.onStatus = () => {};
  }

  /** Call fn(event) for each event of that name ("*": every event, "resync": after a reconnection).
   *  Answers the function that stops it. */
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return () => this.handlers.get(name).delete(fn);
  }

  emit(name, event) {
    for (const key of [name, "*"]) {
      for (const fn of this.handlers.get(key) || []) {
        try {
          fn(event);
        } catch (error) {
          console.error("event handler failed", name, error);
        }
      }
    }
  }

  start() {
    this.stop();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${BASE}/events/ws`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({token: this.api.token}));
      // The gateway sends nothing until something happens: an open socket that was not refused is live.
      setTimeout(() => { if (this.socket === socket && socket.readyState === WebSocket.OPEN) this.up(); }, 300);
    });
    socket.addEventListener("message", (message) => {
      let batch;
      try {
        batch = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!Array.isArray(batch)) return;  // the refusal, {"errorCode", "error"}, is read at close
      this.up();
      for (const event of batch) {
        if (event && typeof event.name === "string") this.emit(event.name, event);
      }
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;  // stopped on purpose
      this.socket = null;
      this.live = false;
      this.onStatus(false);
      if (REFUSED.has(event.code)) {
        this.api.onUnauthorized(event.code === 4401 ? "The gateway refused the token." :
          "This token may not read events.");
        return;
      }
      this.timer = setTimeout(() => this.start(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    });
  }

  up() {
    if (this.live) return;
    this.live = true;
    this.retryMs = RETRY_MIN_MS;
    this.onStatus(true);
    // Events may have been missed while the stream was down: views read their data again.
    if (this.wasLive) this.emit("resync", {name: "resync"});
    this.wasLive = true;
  }

  stop() {
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    this.live = false;
  }

  /** Log out: the next start is a first connection again. */
  reset() {
    this.stop();
    this.wasLive = false;
    this.retryMs = RETRY_MIN_MS;
  }
}
