// The inventory: the registry's devices of this tenant, and one device's record.

import { ApiError, problemView, runPath } from "./api.js";
import { dateTime, h, isTerminal, replaceChildren, stateBadge } from "./dom.js";

export const DEVICE_STATES = [
  "UNPROVISIONED", "PROVISIONING", "IN_SERVICE", "DECOMMISSIONING", "DECOMMISSIONED", "FAILED",
];
const PAGE = 50;

/** A coloured badge for a registry state; the colour only repeats what the text says. */
export function deviceStateBadge(state, testid) {
  let tone = "active";
  if (state === "IN_SERVICE") tone = "ok";
  else if (state === "FAILED") tone = "bad";
  else if (state === "UNPROVISIONED" || state === "DECOMMISSIONED") tone = "undone";
  return h("span", { class: `badge ${tone}`, "data-testid": testid, "data-state": state }, state);
}

function problemText(error) {
  if (error instanceof ApiError && error.status === 401) return "the API key was refused";
  return error.message;
}

/** `#/devices`: the list, filtered and paged with the registry's cursor. */
export class DevicesView {
  constructor(api) {
    this.api = api;
    this.cursor = null;
    this.filters = h("form", { class: "filters", "data-testid": "devices-filters" },
      h("label", {}, "State ",
        h("select", { name: "state", "data-testid": "devices-filter-state" },
          h("option", { value: "" }, "any"),
          DEVICE_STATES.map((state) => h("option", { value: state }, state)))),
      h("label", {}, "Site ", h("input", { name: "site", type: "search", "data-testid": "devices-filter-site" })),
      h("label", {}, "Network ", h("input", { name: "network", type: "search", "data-testid": "devices-filter-network" })),
    );
    this.body = h("tbody", {});
    this.status = h("p", { class: "muted small", role: "status", "data-testid": "devices-status" });
    this.more = h("button", { type: "button", class: "secondary", hidden: true, "data-testid": "devices-more" }, "Load more");
    this.element = h("div", { "data-testid": "devices-view" },
      h("h2", {}, "Devices"),
      h("p", { class: "muted small" }, "What the registry holds: the devices in service, and what each was given."),
      this.filters,
      h("div", { class: "table-wrap" },
        h("table", { class: "runs", "data-testid": "devices-table" },
          h("caption", { class: "visually-hidden" }, "Devices, by device id"),
          h("thead", {}, h("tr", {},
            ["Device", "State", "Strategy", "Site", "Network", "Updated"].map((title) => h("th", { scope: "col" }, title)))),
          this.body)),
      this.more,
      this.status,
    );
    this.filters.addEventListener("input", () => this.load());
    this.filters.addEventListener("submit", (event) => { event.preventDefault(); this.load(); });
    this.more.addEventListener("click", () => this.load(this.cursor));
  }

  mount() { this.load(); }

  refresh() { this.load(); }

  query(cursor) {
    const params = new URLSearchParams({ limit: String(PAGE) });
    for (const name of ["state", "site", "network"]) {
      const value = this.filters.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    if (cursor) params.set("cursor", cursor);
    return params.toString();
  }

  async load(cursor = null) {
    if (!this.api.ready) {
      this.status.textContent = "Enter the API key to see the devices.";
      return;
    }
    const query = this.query(cursor);
    try {
      const { data } = await this.api.get(`/devices?${query}`);
      if (query !== this.query(cursor)) return; // the filters changed meanwhile
      const rows = data.items.map((device) => this.row(device));
      if (cursor) this.body.append(...rows);
      else replaceChildren(this.body, rows.length ? rows : h("tr", {}, h("td", { colspan: "6", class: "muted" }, "No devices match.")));
      this.cursor = data.next_cursor;
      this.more.hidden = !this.cursor;
      this.status.textContent = `${this.body.querySelectorAll("[data-testid=device-row]").length} device(s)${this.cursor ? ", more to load" : ""}`;
    } catch (error) {
      this.status.textContent = `Could not list the devices: ${problemText(error)}`;
    }
  }

  row(device) {
    return h("tr", { "data-testid": "device-row", "data-device-id": device.device_id, "data-state": device.state },
      h("td", {}, h("a", { href: `#/devices/${encodeURIComponent(device.device_id)}` }, device.device_id)),
      h("td", {}, deviceStateBadge(device.state, "device-row-state")),
      h("td", {}, device.strategy),
      h("td", {}, device.site),
      h("td", { "data-testid": "device-row-network" }, device.network_ssid || ""),
      h("td", { class: "nowrap" }, dateTime(device.updated_at)),
    );
  }
}

const RECORD_FIELDS = [
  ["tenant", "Tenant"], ["strategy", "Strategy"], ["vendor", "Vendor"], ["model", "Model"],
  ["site", "Site"], ["network_ssid", "Network"], ["address", "Address"],
  ["cloud_thing", "Cloud thing"], ["cloud_certificate_id", "Certificate"],
  ["cloud_certificate_fingerprint", "Certificate fingerprint"],
  ["zigbee_ieee", "Zigbee IEEE"], ["zigbee_nwk", "Zigbee NWK"],
  ["last_run_kind", "Last run"], ["last_workflow_id", "Workflow"],
];

/** Re-provisioning a device in service with one of its strategy's policies
 * (docs/runbooks/move-to-a-new-network.md): `reset` decommissions and provisions it in
 * one run, `migrate` moves it to a new network without a factory reset. */
class ReprovisionForm {
  constructor(api, device) {
    this.api = api;
    this.device = device;
    this.strategy = null;
    this.element = h("form", {
      class: "prompt reprovision", "data-testid": "reprovision-form", hidden: true,
      "aria-labelledby": "reprovision-heading", onsubmit: (event) => this.start(event),
    });
  }

  async open() {
    this.element.hidden = false;
    replaceChildren(this.element, h("p", { class: "muted" }, "Loading the policies of its strategy…"));
    try {
      const { data } = await this.api.get("/strategies");
      this.strategy = data.find((strategy) => strategy.name === this.device.strategy) || null;
    } catch (error) {
      replaceChildren(this.element, problemView(error, "reprovision-problem"));
      return;
    }
    this.render();
  }

  render() {
    const reprovision = (this.strategy && this.strategy.reprovision) || { policies: [], notes: {} };
    const policies = reprovision.policies.filter((policy) => policy !== "never");
    const notes = reprovision.notes || {};
    const heading = h("h3", { id: "reprovision-heading" }, "Re-provision this device");
    if (!policies.length) {
      replaceChildren(this.element, heading,
        h("p", { "data-testid": "reprovision-unsupported" },
          `Strategy ${this.device.strategy} re-provisions no device in service: `,
          Object.values(notes).join("; ") || "take it out of service, then provision it as new."));
      return;
    }
    this.policy = h("select", { id: "reprovision-policy", "data-testid": "reprovision-policy", onchange: () => this.describe() },
      policies.map((policy) => h("option", { value: policy }, policy)));
    this.note = h("p", { class: "muted small", "data-testid": "reprovision-note" });
    this.notes = notes;
    this.ssid = h("input", { id: "reprovision-ssid", autocomplete: "off", "data-testid": "reprovision-ssid" });
    this.passphrase = h("input", { id: "reprovision-passphrase", type: "password", autocomplete: "new-password", "data-testid": "reprovision-passphrase" });
    this.problem = h("div", { "data-testid": "reprovision-problem" });
    this.submit = h("button", { type: "submit", "data-testid": "reprovision-submit" }, "Start re-provisioning");
    replaceChildren(this.element, heading,
      h("div", { class: "field" }, h("label", { for: "reprovision-policy" }, "Policy"), this.policy),
      this.note,
      h("fieldset", {}, h("legend", {}, "Wi-Fi network"),
        h("p", { class: "muted small" }, "The network it moves to (migrate), or joins after the reset; left empty for a reset, the run asks for it."),
        h("div", { class: "field" }, h("label", { for: "reprovision-ssid" }, "Network name (SSID)"), this.ssid),
        h("div", { class: "field" }, h("label", { for: "reprovision-passphrase" }, "Passphrase"), this.passphrase)),
      this.problem,
      h("div", { class: "buttons" }, this.submit));
    this.describe();
  }

  describe() {
    const policy = this.policy.value;
    const what = policy === "reset"
      ? "One run takes it out of service (as a decommission), then provisions it."
      : "One run moves it to the network below, its current one kept as its fallback; it comes back if it cannot join.";
    this.note.textContent = this.notes[policy] ? `${what} ${this.notes[policy]}` : what;
  }

  /** The provision request for the device as the registry knows it. */
  body() {
    const device = this.device;
    const body = {
      device: {
        device_id: device.device_id,
        type: device.device_type,
        vendor: device.vendor,
        model: device.model || "",
        site: device.site,
        capabilities: (this.strategy && this.strategy.required_capabilities) || [],
        transport_hints: device.transport_hints || {},
      },
      strategy: device.strategy,
      reprovision: this.policy.value,
    };
    const ssid = this.ssid.value.trim();
    if (ssid) body.network = { ssid, passphrase: this.passphrase.value };
    return body;
  }

  async start(event) {
    event.preventDefault();
    replaceChildren(this.problem);
    if (this.policy.value === "migrate" && !this.ssid.value.trim()) {
      replaceChildren(this.problem, h("p", { class: "problem", role: "alert" }, "A migration needs the network to move the device to."));
      return;
    }
    this.submit.disabled = true;
    try {
      await this.api.post(runPath(this.device.device_id), this.body());
      this.passphrase.value = "";
      location.hash = `#/runs/${encodeURIComponent(this.device.device_id)}`;
    } catch (error) {
      replaceChildren(this.problem, problemView(error, "reprovision-problem-detail"));
      this.submit.disabled = false;
    }
  }
}

/** Registry states a device can be taken out of service from. */
const DECOMMISSIONABLE = new Set(["IN_SERVICE", "FAILED"]);
const DECOMMISSION_POLL_MS = 1000;
const RUNS_REFRESH_MS = 3000;

/** `#/devices/<id>`: one device's record, the way to its last run, and taking it out
 * of service. */
export class DeviceRecordView {
  constructor(api, deviceId) {
    this.api = api;
    this.deviceId = deviceId;
    this.timer = null;
    this.element = h("div", { "data-testid": "device-record" }, h("p", { class: "muted" }, "Loading…"));
    this.decommission = h("div", { "aria-live": "polite" });
    this.runs = h("div", { "data-testid": "device-runs" });
  }

  mount() { this.refresh(); }

  destroy() {
    clearTimeout(this.timer);
    clearTimeout(this.runsTimer);
  }

  path(action = "") {
    const base = `/devices/${encodeURIComponent(this.deviceId)}`;
    return action ? `${base}/${action}` : base;
  }

  async decommissionDevice() {
    const question = `Take ${this.deviceId} out of service? Its network configuration and `
      + "cloud identity are undone as its family allows (an Improv device cannot be reset over BLE).";
    if (!window.confirm(question)) return;
    replaceChildren(this.decommission);
    try {
      await this.api.post(this.path("decommission"));
      this.followDecommission();
    } catch (error) {
      replaceChildren(this.decommission, problemView(error, "decommission-problem"));
    }
  }

  /** The decommissioning run's state until it ends, then the record as it left it. */
  async followDecommission() {
    clearTimeout(this.timer);
    let run = null;
    try {
      ({ data: run } = await this.api.get(this.path("decommission")));
    } catch (error) {
      replaceChildren(this.decommission, problemView(error, "decommission-problem"));
      return;
    }
    replaceChildren(this.decommission,
      h("p", { "data-testid": "decommission-status" }, "Decommissioning run: ",
        stateBadge(run.state, "decommission-state"), " ", run.message));
    if (isTerminal(run.state)) this.refresh(false);
    else this.timer = setTimeout(() => this.followDecommission(), DECOMMISSION_POLL_MS);
  }

  async refresh(followRun = true) {
    try {
      const { data } = await this.api.get(this.path());
      this.render(data);
      if (followRun && data.state === "DECOMMISSIONING") this.followDecommission();
    } catch (error) {
      const text = error instanceof ApiError && error.status === 404
        ? "The registry holds no such device for this key's tenant."
        : `Could not read the device: ${problemText(error)}`;
      replaceChildren(this.element, h("p", { class: "problem", role: "alert" }, text));
    }
  }

  render(device) {
    // A refresh keeps a form the person has opened.
    if (!this.reprovision || this.reprovision.device.device_id !== device.device_id || this.reprovision.element.hidden) {
      this.reprovision = new ReprovisionForm(this.api, device);
    }
    const rows = RECORD_FIELDS.filter(([field]) => device[field]).map(([field, label]) => [
      h("dt", {}, label), h("dd", { "data-testid": `device-${field}` }, String(device[field])),
    ]);
    replaceChildren(this.element,
      h("p", {}, h("a", { href: "#/devices" }, "← Devices")),
      h("h2", {}, device.device_id, " ", deviceStateBadge(device.state, "device-state")),
      h("dl", { class: "meta" }, rows, h("dt", {}, "Updated"), h("dd", {}, dateTime(device.updated_at))),
      device.last_run_kind === "provision"
        ? h("p", {}, h("a", { href: `#/runs/${encodeURIComponent(device.device_id)}`, "data-testid": "device-run-link" }, "Open its provisioning run"))
        : null,
      DECOMMISSIONABLE.has(device.state)
        ? h("div", { class: "buttons" },
          device.state === "IN_SERVICE"
            ? h("button", {
              type: "button", class: "secondary", "data-testid": "device-reprovision", onclick: () => this.reprovision.open(),
            }, "Re-provision")
            : null,
          h("button", {
            type: "button", class: "danger", "data-testid": "device-decommission", onclick: () => this.decommissionDevice(),
          }, "Take out of service"))
        : null,
      this.reprovision.element,
      this.decommission,
      h("h3", {}, "Runs"),
      this.runs,
    );
    this.loadRuns();
  }

  /** The device's runs as visibility lists them (provisioning and decommissioning),
   * newest first. */
  async loadRuns() {
    clearTimeout(this.runsTimer);
    // Refreshed like the runs list: visibility records a run's end a moment after it.
    this.runsTimer = setTimeout(() => this.loadRuns(), RUNS_REFRESH_MS);
    try {
      const { data } = await this.api.get(`/runs?${new URLSearchParams({ device: this.deviceId, limit: "20" })}`);
      const rows = data.runs.filter((run) => run.device_id === this.deviceId).map((run) =>
        h("tr", { "data-testid": "device-run", "data-kind": run.kind },
          h("td", { class: "nowrap" }, dateTime(run.started_at)),
          h("td", {}, run.kind),
          h("td", {}, stateBadge(run.state, "device-run-state")),
          h("td", {}, run.error_code ? h("code", { class: "code" }, run.error_code) : ""),
          h("td", {}, run.kind === "provision"
            ? h("a", { href: `#/runs/${encodeURIComponent(this.deviceId)}` }, run.run_id.slice(-8))
            : run.run_id.slice(-8))));
      replaceChildren(this.runs, rows.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "runs" },
          h("caption", { class: "visually-hidden" }, "Runs of this device, newest first"),
          h("thead", {}, h("tr", {}, ["Started", "Kind", "State", "Error", "Run"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows)))
        : h("p", { class: "muted small" }, "No runs are listed (visibility keeps them for the namespace's retention)."));
    } catch (error) {
      replaceChildren(this.runs, h("p", { class: "muted small" }, `Could not list its runs: ${problemText(error)}`));
    }
  }
}
