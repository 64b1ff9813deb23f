// Small DOM helpers. Every text that comes from the gateway (labels named by radios, by other users) goes in
// as text, never as HTML: a device called "<img onerror=...>" is shown as those characters.

/**
 * Make an element: h("button", {type: "button", onclick: fn, "aria-label": "Run"}, "Run").
 * Keys starting with "on" are listeners; `dataset` takes an object; false/null attributes are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "className") el.className = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form field: the label wraps the control, so the control's accessible name is the text. */
export function field(text, control) {
  return h("label", {}, text, control);
}

export function select(options, value, attrs = {}) {
  const el = h("select", attrs, options.map(([v, text]) => h("option", {value: v}, text)));
  if (value !== undefined && value !== null) el.value = String(value);
  return el;
}

export function formatTime(ms) {
  if (!ms) return "";
  const date = new Date(ms);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

export function formatValue(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(1);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** "core:LightIntensityState" -> "Light intensity". */
export function stateTitle(name) {
  const bare = name.split(":").pop().replace(/State$/, "");
  const words = bare.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "ACTUATORNOANSWER" / "TIME_OUT_ON_TRANSMIT" -> readable words, for codes without an explanation. */
export function humanise(code) {
  const words = String(code).replace(/_/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Offer bytes or a Blob as a file download. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h("a", {href: url, download: filename});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
