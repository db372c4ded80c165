// Tiny DOM helpers: every piece of data reaches the page as text, never as markup.

/**
 * Create an element: attributes (`on*` functions become listeners, booleans toggle),
 * then children (strings become text nodes; null and false are skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `element`. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

const TERMINAL = new Set(["SUCCEEDED", "FAILED_VALIDATION", "FAILED", "ROLLED_BACK", "CANCELLED"]);
const WAITING = new Set(["PENDING_NETWORK", "WAITING_FOR_DEVICE"]);

/** The states the run listing filters by, as visibility records them: one IN_PROGRESS
 * while a run moves on its own (its exact step is on its own page). */
export const LISTED_STATES = [
  "IN_PROGRESS", "PENDING_NETWORK", "WAITING_FOR_DEVICE", "ROLLING_BACK",
  "SUCCEEDED", "FAILED_VALIDATION", "FAILED", "ROLLED_BACK", "CANCELLED",
];

export function isTerminal(state) {
  return TERMINAL.has(state);
}

/** A coloured badge for a state; the colour only repeats what the text says. */
export function stateBadge(state, testid) {
  const label = state || "UNKNOWN";
  let tone = "active";
  if (state === "SUCCEEDED") tone = "ok";
  else if (state === "ROLLED_BACK" || state === "CANCELLED" || state === "ROLLING_BACK") tone = "undone";
  else if (TERMINAL.has(state)) tone = "bad";
  else if (WAITING.has(state)) tone = "wait";
  else if (!state) tone = "unknown";
  return h("span", { class: `badge ${tone}`, "data-testid": testid, "data-state": label }, label);
}

/** Local wall-clock time of an ISO timestamp, with seconds. */
export function clock(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

/** Local date and time of an ISO timestamp. */
export function dateTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  return when.toLocaleString([], {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
}
