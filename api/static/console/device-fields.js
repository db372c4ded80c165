// The device part of the new-run form, built from a family's request schema as
// `GET /strategies` serves it (`request_schema`): one field per property of the device
// descriptor, with the family's own additions (a Zigbee device's `ieee` hint), checked
// in the page against the schema's constraints before anything is sent.

import { h, replaceChildren } from "./dom.js";

const HINTS = "transport_hints";
const TOKENS = /[\s,]+/;

/** `node` with a local `$ref` resolved and the keywords beside it laid over the target. */
function resolve(schema, node) {
  if (!node || !node.$ref) return node || {};
  const { $ref: ref, ...overlay } = node;
  const target = (schema.$defs || {})[ref.replace("#/$defs/", "")] || {};
  return overlaid(resolve(schema, target), overlay);
}

function overlaid(base, overlay) {
  const properties = { ...(base.properties || {}) };
  for (const [name, extra] of Object.entries(overlay.properties || {})) {
    properties[name] = overlaid(properties[name] || {}, extra);
  }
  const required = [...new Set([...(base.required || []), ...(overlay.required || [])])];
  return { ...base, ...overlay, properties, required };
}

/** The device descriptor's schema in a family's provision request schema. */
export function deviceSchema(requestSchema) {
  return resolve(requestSchema, (requestSchema.properties || {}).device);
}

function words(text) {
  return text.split(TOKENS).map((word) => word.trim()).filter(Boolean);
}

function titleOf(name, property) {
  return property.title || name.replace(/_/g, " ").replace(/^./, (first) => first.toUpperCase());
}

/** One input, its label and its error line; `read` gives its value for the request. */
class Field {
  constructor(name, label, property, { required = false, help = "", read, write }) {
    this.name = name;
    this.label = label;
    this.read = read;
    this.write = write;
    this.input = h("input", {
      id: `start-device-${name.replace(/\W/g, "-")}`, name, autocomplete: "off", spellcheck: "false",
      required, maxlength: property.maxLength, placeholder: property.default || null,
      "data-testid": `start-device-${name.replace(/\W/g, "-")}`,
    });
    this.pattern = property.pattern ? new RegExp(property.pattern) : null;
    this.minLength = property.minLength || (required ? 1 : 0);
    this.error = h("p", { class: "field-error small", role: "alert", hidden: true, id: `${this.input.id}-error` });
    this.input.setAttribute("aria-describedby", this.error.id);
    this.element = h("div", { class: "field" },
      h("label", { for: this.input.id }, label),
      this.input,
      help ? h("p", { class: "muted small" }, help) : null,
      this.error);
  }

  /** What is wrong with the value as typed, or "". */
  problem() {
    const value = this.input.value.trim();
    if (!value) return this.minLength ? `${this.label} is required.` : "";
    if (this.input.maxLength > 0 && value.length > this.input.maxLength) {
      return `${this.label} has at most ${this.input.maxLength} characters.`;
    }
    if (this.pattern && !this.pattern.test(value)) return `${this.label} is not in the expected form.`;
    return "";
  }

  check() {
    const problem = this.problem();
    this.error.textContent = problem;
    this.error.hidden = !problem;
    if (problem) this.input.setAttribute("aria-invalid", "true");
    else this.input.removeAttribute("aria-invalid");
    return problem;
  }
}

export class DeviceFields {
  /** @param {() => void} onInput called whenever the person changes a field */
  constructor(onInput) {
    this.onInput = onInput;
    this.fields = [];
    this.element = h("fieldset", { "data-testid": "start-device-fields" }, h("legend", {}, "Device"),
      h("p", { class: "muted small" }, "Loading the device families…"));
  }

  /** Rebuild the fields for a family's request schema, keeping what was typed. */
  build(requestSchema) {
    const before = this.fields.length ? this.values({ check: false }) : null;
    const schema = deviceSchema(requestSchema);
    const required = new Set(schema.required || []);
    this.fields = [];
    for (const [name, property] of Object.entries(schema.properties || {})) {
      if (name === "device_id") continue; // the form's own field, above
      if (name === HINTS) {
        this.addHints(property);
      } else if (property.type === "array") {
        this.fields.push(new Field(name, titleOf(name, property), property, {
          required: required.has(name),
          help: `${property.description || ""} Separated by spaces.`.trim(),
          read: (value, device) => { device[name] = words(value); },
          write: (device) => (device[name] || []).join(" "),
        }));
      } else {
        this.fields.push(new Field(name, titleOf(name, property), property, {
          required: required.has(name),
          help: property.description || "",
          read: (value, device) => { if (value) device[name] = value; },
          write: (device) => device[name] || "",
        }));
      }
    }
    for (const field of this.fields) field.input.addEventListener("input", () => { field.check(); this.onInput(); });
    replaceChildren(this.element, h("legend", {}, "Device"), this.fields.map((field) => field.element));
    if (before) this.setValues(before);
  }

  /** A field per hint the family names (its required ones first), and one for others. */
  addHints(property) {
    const named = Object.entries(property.properties || {});
    const required = new Set(property.required || []);
    for (const [hint, schema] of named) {
      this.fields.push(new Field(`${HINTS}.${hint}`, `Transport hint: ${hint}`, schema, {
        required: required.has(hint),
        help: schema.description || "",
        read: (value, device) => { if (value) (device[HINTS] ||= {})[hint] = value; },
        write: (device) => (device[HINTS] || {})[hint] || "",
      }));
    }
    const known = new Set(named.map(([hint]) => hint));
    this.fields.push(new Field(`${HINTS}.other`, "Other transport hints", { pattern: "^(\\S+=\\S*)(\\s+\\S+=\\S*)*$" }, {
      help: `${property.description || ""} As name=value, separated by spaces.`.trim(),
      read: (value, device) => {
        for (const pair of words(value)) {
          const [hint, ...rest] = pair.split("=");
          (device[HINTS] ||= {})[hint] = rest.join("=");
        }
      },
      write: (device) => Object.entries(device[HINTS] || {})
        .filter(([hint]) => !known.has(hint)).map(([hint, value]) => `${hint}=${value}`).join(" "),
    }));
  }

  setValues(device) {
    for (const field of this.fields) {
      field.input.value = field.write(device);
      field.check();
    }
  }

  /** The descriptor as typed (without its id); throws naming every field in error. */
  values({ check = true } = {}) {
    const problems = check ? this.fields.map((field) => field.check()).filter(Boolean) : [];
    if (problems.length) {
      const first = this.fields.find((field) => field.problem());
      if (first) first.input.focus();
      throw new Error(problems.join(" "));
    }
    const device = {};
    for (const field of this.fields) field.read(field.input.value.trim(), device);
    return device;
  }
}
