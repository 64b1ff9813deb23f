// The history chart of one state: the End-User API's Device State History (seed 003), drawn with uPlot.
// uPlot (uplot.js, uplot.css; MIT, licence in uplot.LICENSE) is vendored unchanged from its npm package
// (uplot 1.6.32, dist/uPlot.esm.js and dist/uPlot.min.css): an ES module, no build step, canvas only.
//
// Shapes (seed 003, "Device State History"): GET .../states/{name}/history/{from}/{to} (at most 3 days) and
// .../history/daily|monthly/{from}/{to} answer {"historyValues": [{"value", "min", "max", "samples", "when"}],
// "historizationMethod", "deviceUnit"}; `when` is epoch ms; `value` may come as a string (the seed's example).

import {ApiFailure, describe} from "./api.js";
import {h, fill} from "./dom.js";
import uPlot from "./uplot.js";
import {stateName, stateNumber, stateUnit} from "./vocabulary.js";

const HOUR = 3600_000, DAY = 24 * HOUR;
export const RANGES = [
  ["24h", "Last 24 hours", "", DAY],
  ["3d", "Last 3 days", "", 3 * DAY],
  ["30d", "Last 30 days (daily)", "daily/", 30 * DAY],
  ["12m", "Last 12 months (monthly)", "monthly/", 365 * DAY],
];

/** The history path of a state over a range ending now. */
export function historyPath(deviceURL, name, range, now = Date.now()) {
  const [, , kind, span] = RANGES.find((r) => r[0] === range) || RANGES[0];
  return `/setup/devices/${encodeURIComponent(deviceURL)}/states/${encodeURIComponent(name)}/history/${kind}`
    + `${now - span}/${now}`;
}

/** [[times in s], [values], [mins], [maxs]] in the unit the page shows, points without a number left out. */
export function seriesOf(name, answer) {
  const rows = (answer && Array.isArray(answer.historyValues) ? answer.historyValues : [])
    .map((v) => [Number(v.when), stateNumber(name, v.value), v.min, v.max])
    .filter(([when, value]) => Number.isFinite(when) && Number.isFinite(value))
    .sort((a, b) => a[0] - b[0]);
  const extreme = (x) => (x === null || x === undefined || !Number.isFinite(Number(x)) ? null : stateNumber(name, x));
  return [rows.map((r) => r[0] / 1000), rows.map((r) => r[1]), rows.map((r) => extreme(r[2])),
    rows.map((r) => extreme(r[3]))];
}

/**
 * A chart panel: loads and draws `name` of `deviceURL` over `range`. A gateway without the history routes
 * answers 404: the panel says so in words instead of a blank.
 */
export function historyChart(api, deviceURL, name, range) {
  const box = h("div", {className: "chart", "aria-label": `History of ${stateName(name)}`, role: "img"});
  const note = h("p", {className: "muted", role: "status"}, "Loading the history…");
  const element = h("div", {className: "stack"}, box, note);
  let plot = null;

  async function load() {
    let answer;
    try {
      answer = await api.get(historyPath(deviceURL, name, range));
    } catch (error) {
      fill(box);
      // A route the gateway does not have answers 404 "Unknown object"; another 404 names what is missing.
      note.textContent = error instanceof ApiFailure && error.notAvailable
        ? "No history on this gateway: it does not keep the states' history yet (its history routes answer 404). "
          + "The current value is above."
        : error instanceof ApiFailure && error.status === 404
          ? `No history for this value: ${describe(error)}`
          : `The history could not be read: ${describe(error)}`;
      element.dataset.state = "unavailable";
      return;
    }
    const data = seriesOf(name, answer);
    if (!data[0].length) {
      fill(box);
      note.textContent = "No values recorded in this period yet.";
      element.dataset.state = "empty";
      return;
    }
    draw(data);
    const unit = stateUnit(name);
    note.textContent = `${data[0].length} values${unit ? ` in ${unit}` : ""}.`;
    element.dataset.state = "drawn";
  }

  function draw(data) {
    if (plot) plot.destroy();
    fill(box);
    const unit = stateUnit(name);
    const hasBand = data[2].some((v) => v !== null) && data[3].some((v) => v !== null);
    const accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#b4501e";
    const muted = getComputedStyle(document.documentElement).getPropertyValue("--muted").trim() || "#5d6470";
    const series = [{}, {label: stateName(name), stroke: accent, width: 2, value: (u, v) => (v === null ? "–" : `${v} ${unit}`)}];
    const shown = [data[0], data[1]];
    if (hasBand) {
      series.push({label: "min", stroke: muted, dash: [4, 4], width: 1}, {label: "max", stroke: muted, dash: [4, 4], width: 1});
      shown.push(data[2], data[3]);
    }
    // The panel's width now (a phone's is ~340 px); never wider than what holds it.
    const width = Math.max(200, box.clientWidth || (box.parentElement && box.parentElement.clientWidth) || 320);
    plot = new uPlot({width, height: 220, series,
      axes: [{stroke: muted}, {stroke: muted, label: unit || undefined}],
      legend: {show: true}, cursor: {drag: {x: false, y: false}}}, shown, box);
  }

  return {element, load, destroy() { if (plot) plot.destroy(); }};
}
