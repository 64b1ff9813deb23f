// The devices and rooms of the home, read once and kept current by the event stream; every view reads them here.

const RELOADING_EVENTS = ["DeviceCreatedEvent", "DeviceUpdatedEvent", "DeviceRemovedEvent", "PlaceCreatedEvent",
  "PlaceUpdatedEvent", "PlaceDeletedEvent", "resync"];

export class DeviceBook {
  constructor(api, live) {
    this.api = api;
    this.devices = new Map();   // deviceURL -> device JSON, plus `stateMap` {name: value}
    this.rooms = [];            // [{oid, label, path}] in the order of the place tree
    this.rootOid = null;
    this.listeners = new Set();
    this.loaded = null;
    this.reloadTimer = null;
    live.on("DeviceStateChangedEvent", (e) => this.stateChanged(e));
    live.on("DeviceAvailableEvent", (e) => this.availability(e.deviceURL, true));
    live.on("DeviceUnavailableEvent", (e) => this.availability(e.deviceURL, false));
    for (const name of RELOADING_EVENTS) live.on(name, (e) => this.reloadSoon(e));
  }

  /** fn(kind, detail): kind "state" (detail: the device) or "reload" (detail: the event that caused it). */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notify(kind, detail) {
    for (const fn of this.listeners) fn(kind, detail);
  }

  ready() {
    if (!this.loaded) this.loaded = this.load();
    return this.loaded;
  }

  async load() {
    const [devices, root] = await Promise.all([this.api.get("/setup/devices"), this.api.get("/setup/places")]);
    this.devices = new Map(devices.map((d) => [d.deviceURL, withStateMap(d)]));
    this.rootOid = root && root.oid || null;
    this.rooms = [];
    const walk = (place, path) => {
      for (const child of place.subPlaces || []) {
        const label = path ? `${path} › ${child.label}` : child.label;
        this.rooms.push({oid: child.oid, label: child.label, path: label});
        walk(child, label);
      }
    };
    if (root && root.oid) walk(root, "");
  }

  reloadSoon(event) {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(async () => {
      try {
        this.loaded = this.load();
        await this.loaded;
        this.notify("reload", event);
      } catch (error) {
        console.warn("reloading the devices failed", error);
      }
    }, 200);
  }

  stateChanged(event) {
    const device = this.devices.get(event.deviceURL);
    if (!device) return;
    for (const state of event.deviceStates || []) {
      device.stateMap[state.name] = state.value;
      const known = device.states.find((s) => s.name === state.name);
      if (known) known.value = state.value;
      else device.states.push({name: state.name, type: state.type, value: state.value});
    }
    this.notify("state", device);
  }

  availability(url, available) {
    const device = this.devices.get(url);
    if (!device) return;
    device.available = available;
    this.notify("state", device);
  }

  get(url) {
    return this.devices.get(url);
  }

  label(url) {
    const device = this.devices.get(url);
    return device ? device.label : url;
  }

  /** Devices a person uses (not the radios' stack devices), by label. */
  usable() {
    return [...this.devices.values()].filter((d) => d.uiClass !== "ProtocolGateway")
      .sort((a, b) => a.label.localeCompare(b.label));
  }

  /** [[deviceURL, "label (room)"]] for a select. */
  options() {
    const roomOf = new Map(this.rooms.map((r) => [r.oid, r.label]));
    return this.usable().map((d) => [d.deviceURL, roomOf.has(d.placeOID) ? `${d.label} (${roomOf.get(d.placeOID)})` : d.label]);
  }
}

function withStateMap(device) {
  device.stateMap = Object.fromEntries((device.states || []).map((s) => [s.name, s.value]));
  return device;
}
