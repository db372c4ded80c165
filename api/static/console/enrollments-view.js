// Enrollments: the tenant's allow-list of devices (individual and group enrollments),
// the `enrollment_required` setting, and a CSV import. Claim secrets go to the API once
// and are never shown again (the API answers only `claim_secret_set`).

import { ApiError, problemView } from "./api.js";
import { dateTime, h, replaceChildren } from "./dom.js";

const INDIVIDUAL = "/enrollments/individual";
const GROUP = "/enrollments/group";
const SETTINGS = "/tenant/settings";

/** A labelled text input of a form; `name` is the API's field. */
function field(name, label, attrs = {}, kind = "individual") {
  const input = h("input", { name, autocomplete: "off", spellcheck: "false", "data-testid": `enrollment-${kind}-${name}`, ...attrs });
  input.id = `enrollment-${kind}-${name}`;
  return { input, element: h("div", { class: "field" }, h("label", { for: input.id }, label), input) };
}

/** The form's non-empty fields as a body (numbers where the input is a number). */
function bodyOf(fields) {
  const body = {};
  for (const { input } of fields) {
    const value = input.value.trim();
    if (value) body[input.name] = input.type === "number" ? Number(value) : value;
  }
  return body;
}

function enabledBadge(enabled) {
  return h("span", { class: `badge ${enabled ? "ok" : "undone"}` }, enabled ? "enabled" : "disabled");
}

/** One listing (individual or group enrollments), paged by cursor. */
class EnrollmentTable {
  constructor(api, { path, idField, columns, testid, label, onProblem }) {
    this.api = api;
    this.path = path;
    this.idField = idField;
    this.columns = columns;
    this.testid = testid;
    this.onProblem = onProblem;
    this.cursor = null;
    this.body = h("tbody", {});
    this.status = h("p", { class: "muted small", role: "status", "data-testid": `${testid}-status` });
    this.more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => this.load(true) }, "Load more");
    this.element = h("div", {},
      // Wider than a phone: the region scrolls sideways, so Tab reaches it (to scroll it).
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": label },
        h("table", { class: "runs", "data-testid": `${testid}-table` },
        h("thead", {}, h("tr", {}, [...columns.map(([, title]) => h("th", { scope: "col" }, title)),
          h("th", { scope: "col" }, "Enabled"), h("th", { scope: "col" }, "Changed"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions"))])),
        this.body)),
      this.status, this.more);
  }

  async load(more = false) {
    if (!more) this.cursor = null;
    const query = new URLSearchParams({ limit: "50" });
    if (more && this.cursor) query.set("cursor", this.cursor);
    try {
      const { data } = await this.api.get(`${this.path}?${query}`);
      const rows = data.items.map((item) => this.row(item));
      if (more) this.body.append(...rows);
      else replaceChildren(this.body, rows);
      this.cursor = data.next_cursor;
      this.more.hidden = !this.cursor;
      const shown = this.body.querySelectorAll("tr").length;
      this.status.textContent = shown ? `${shown} enrollment(s)${this.cursor ? ", more to load" : ""}` : "None yet.";
    } catch (error) {
      this.status.textContent = `Could not list them: ${error.message}`;
    }
  }

  row(item) {
    const id = item[this.idField];
    const path = `${this.path}/${encodeURIComponent(id)}`;
    const toggle = h("input", {
      type: "checkbox", checked: item.enabled, "aria-label": `${id} enabled`, "data-testid": `${this.testid}-enabled`,
      onchange: async () => {
        toggle.disabled = true;
        try {
          await this.api.request("PATCH", path, { enabled: toggle.checked });
          this.load();
        } catch (error) {
          toggle.checked = !toggle.checked;
          this.onProblem(error);
        } finally {
          toggle.disabled = false;
        }
      },
    });
    const remove = h("button", {
      type: "button", class: "secondary", "aria-label": `Delete ${id}`, "data-testid": `${this.testid}-delete`,
      onclick: async () => {
        try {
          await this.api.request("DELETE", path);
          this.load();
        } catch (error) {
          this.onProblem(error);
        }
      },
    }, "Delete");
    return h("tr", { "data-testid": `${this.testid}-row`, "data-id": id },
      this.columns.map(([key]) => h("td", {}, key === this.idField ? h("code", {}, id) : String(this.cell(item, key)))),
      h("td", {}, h("label", { class: "check" }, toggle, " ", enabledBadge(item.enabled))),
      h("td", { class: "muted small" }, dateTime(item.updated_at)),
      h("td", {}, remove));
  }

  cell(item, key) {
    if (key === "claim_secret_set") return item.claim_secret_set ? "set" : "";
    if (key === "site") return (item.defaults && item.defaults.site) || "";
    const value = item[key];
    return value === null || value === undefined ? "" : value;
  }
}

/** `#/enrollments`: who may be provisioned, for this key's tenant. */
export class EnrollmentsView {
  constructor(api) {
    this.api = api;
    this.problem = h("div", {});
    const report = (error) => replaceChildren(this.problem, problemView(error, "enrollments-problem"));
    this.required = h("input", { type: "checkbox", id: "enrollment-required", "data-testid": "enrollment-required", onchange: () => this.saveSetting() });
    this.settingStatus = h("span", { class: "muted small", role: "status", "data-testid": "enrollment-required-status" });
    this.individuals = new EnrollmentTable(api, {
      path: INDIVIDUAL, idField: "device_id", testid: "individual", label: "Device enrollments", onProblem: report,
      columns: [["device_id", "Device"], ["vendor", "Vendor"], ["model", "Model"], ["serial", "Serial"], ["claim_secret_set", "Claim secret"]],
    });
    this.groups = new EnrollmentTable(api, {
      path: GROUP, idField: "group_id", testid: "group", label: "Group enrollments", onProblem: report,
      columns: [["group_id", "Group"], ["vendor", "Vendor"], ["model", "Model"], ["device_id_glob", "Device ids"], ["priority", "Priority"], ["site", "Site"]],
    });
    this.individualFields = [
      field("device_id", "Device id", { required: true, maxlength: "64" }),
      field("vendor", "Vendor"), field("model", "Model"), field("serial", "Serial"), field("mac", "MAC"),
      field("claim_secret", "Claim secret (optional, never shown again)", { type: "password", minlength: "8", maxlength: "256" }),
    ];
    this.groupFields = [
      field("group_id", "Group id", { required: true }, "group"),
      field("vendor", "Vendor", {}, "group"), field("model", "Model", {}, "group"),
      field("device_id_glob", "Device ids (glob, e.g. plug-l4-*)", {}, "group"),
      field("priority", "Priority (lower first)", { type: "number", min: "0", max: "1000" }, "group"),
      field("site", "Default site", {}, "group"),
    ];
    this.csvInput = h("input", { type: "file", id: "enrollment-csv", accept: ".csv,text/csv", required: true, "data-testid": "enrollment-csv" });
    this.csvStatus = h("p", { class: "muted small", role: "status", "data-testid": "enrollment-import-status" });
    const form = (testid, fields, button, onsubmit) => h("form", { "data-testid": testid, onsubmit: (event) => { event.preventDefault(); onsubmit(); } },
      h("div", { class: "form-grid" }, fields.map((f) => f.element)),
      h("div", { class: "buttons" }, h("button", { type: "submit", "data-testid": `${testid}-submit` }, button)));
    this.element = h("div", { "data-testid": "enrollments-view" },
      h("h2", {}, "Enrollments"),
      h("p", { class: "muted small" }, "The devices this tenant may provision (docs/enrollments.md)."),
      h("p", {}, h("label", { class: "check", for: "enrollment-required" }, this.required,
        " Only enrolled devices may be provisioned"), " ", this.settingStatus),
      this.problem,
      h("h3", {}, "Devices"),
      this.individuals.element,
      form("individual-form", this.individualFields, "Enroll the device", () => this.add(INDIVIDUAL, this.individualFields, this.individuals)),
      h("form", { "data-testid": "enrollment-import", onsubmit: (event) => { event.preventDefault(); this.importCsv(); } },
        h("div", { class: "field" }, h("label", { for: "enrollment-csv" }, "Import devices from a CSV (device_id, serial, mac, vendor, model, claim_secret, enabled)"), this.csvInput),
        h("div", { class: "buttons" }, h("button", { type: "submit", class: "secondary", "data-testid": "enrollment-import-submit" }, "Import")),
        this.csvStatus),
      h("h3", {}, "Groups"),
      this.groups.element,
      form("group-form", this.groupFields, "Add the group", () => this.add(GROUP, this.groupFields, this.groups)),
    );
  }

  mount() { this.refresh(); }

  refresh() {
    this.loadSetting();
    this.individuals.load();
    this.groups.load();
  }

  async loadSetting() {
    try {
      const { data } = await this.api.get(SETTINGS);
      this.required.checked = data.enrollment_required;
      this.settingStatus.textContent = data.enrollment_required ? "on" : "off";
    } catch (error) {
      this.settingStatus.textContent = `Could not read the setting: ${error.message}`;
    }
  }

  async saveSetting() {
    replaceChildren(this.problem);
    this.required.disabled = true;
    try {
      const { data } = await this.api.request("PUT", SETTINGS, { enrollment_required: this.required.checked });
      this.settingStatus.textContent = data.enrollment_required ? "on" : "off";
    } catch (error) {
      this.required.checked = !this.required.checked;
      const admin = error instanceof ApiError && error.status === 403;
      replaceChildren(this.problem, problemView(error, "enrollments-problem"));
      if (admin) this.settingStatus.textContent = "changing it takes an admin key";
    } finally {
      this.required.disabled = false;
    }
  }

  async add(path, fields, table) {
    replaceChildren(this.problem);
    const body = bodyOf(fields);
    if (path === GROUP && body.site) {
      body.defaults = { site: body.site };
      delete body.site;
    }
    try {
      await this.api.post(path, body);
      for (const { input } of fields) input.value = "";
      table.load();
    } catch (error) {
      replaceChildren(this.problem, problemView(error, "enrollments-problem"));
    }
  }

  async importCsv() {
    replaceChildren(this.problem);
    const [file] = this.csvInput.files;
    if (!file) return;
    try {
      const { data } = await this.api.post("/enrollments/import", await file.text(), "text/csv");
      this.csvStatus.textContent = `${data.imported} enrollment(s) imported.`;
      this.individuals.load();
    } catch (error) {
      this.csvStatus.textContent = "Nothing was imported.";
      replaceChildren(this.problem, problemView(error, "enrollments-problem"));
    }
  }
}
