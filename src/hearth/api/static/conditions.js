// One condition on a device's state, as a form row: shared by the triggers' and the condition groups' editors.

import {h, field, select} from "./dom.js";
import {stateName, stateText} from "./vocabulary.js";

export const OPERATORS = [["EQUALS", "is"], ["NOT_EQUALS", "is not"], ["GREATER_THAN", "is above"],
  ["GREATER_THAN_OR_EQUAL", "is at least"], ["LOWER_THAN", "is below"], ["LOWER_THAN_OR_EQUAL", "is at most"]];

/** The states a device's controllable declares, with their allowed values when it lists them. */
export function statesOf(device) {
  return device ? (device.definition.states || []).map((s) => ({name: s.qualifiedName, values: s.values || null})) : [];
}

/**
 * A row: device, state, operator, value. `condition` is {deviceURL, stateName, operator, value} or null.
 * The row's read() answers the same shape, and throws a readable error when a part is missing.
 */
export function conditionRow(book, condition) {
  const device = select(book.options(), condition ? condition.deviceURL : undefined, {"aria-label": "Device"});
  const state = h("select", {"aria-label": "State"});
  const operator = select(OPERATORS, condition ? condition.operator : "EQUALS", {"aria-label": "Operator"});
  const valueSlot = h("span");
  let value;
  const renderValue = (current) => {
    const spec = statesOf(book.get(device.value)).find((s) => s.name === state.value);
    value = spec && spec.values ? select(spec.values.map((v) => [v, stateText(state.value, v)]), current, {"aria-label": "Value"})
      : h("input", {"aria-label": "Value", value: current ?? "", size: 8});
    valueSlot.replaceChildren(value);
  };
  const renderStates = (chosen, current) => {
    const states = statesOf(book.get(device.value)).filter((s) => s.name !== "core:NameState");
    state.replaceChildren(...states.map((s) => h("option", {value: s.name}, stateName(s.name))));
    if (chosen) state.value = chosen;
    renderValue(current);
  };
  device.addEventListener("change", () => renderStates());
  state.addEventListener("change", () => renderValue());
  renderStates(condition && condition.stateName, condition && condition.value);
  const row = h("div", {className: "row condition"}, field("When", device), field("state", state), operator,
    valueSlot, h("button", {type: "button", className: "danger", "aria-label": "Remove condition",
                            onclick: () => row.remove()}, "×"));
  row.read = () => {
    if (!device.value || !state.value) throw new Error("Each condition needs a device and a state.");
    if (value.value === "") throw new Error(`${stateName(state.value)}: give a value to compare with.`);
    return {deviceURL: device.value, stateName: state.value, operator: operator.value, value: value.value};
  };
  return row;
}
