// Fleets: start one from a CSV or JSON file, follow its aggregate progress live, retry
// the failed devices, skip queued ones, cancel.

import { ApiError, problemView } from "./api.js";
import { dateTime, h, replaceChildren } from "./dom.js";

const FLEET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const OUTCOMES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED"];
const FLEET_EVENT = "fleet-progress";

export function fleetPath(fleetId, action = "") {
  const base = `/fleets/${encodeURIComponent(fleetId)}/provision`;
  return action ? `${base}/${action}` : base;
}

/** The content type of a fleet file: CSV by its name or type, JSON otherwise. */
function contentTypeOf(file) {
  return file.name.toLowerCase().endsWith(".csv") || file.type === "text/csv" ? "text/csv" : "application/json";
}

function fleetBadge(state, testid) {
  let tone = "active";
  if (state === "COMPLETED") tone = "ok";
  else if (state === "CANCELLED" || state === "CANCELLING") tone = "undone";
  return h("span", { class: `badge ${tone}`, "data-testid": testid, "data-state": state }, state);
}

/** `#/fleets`: start a fleet from a file, or open one by its id. */
export class FleetStartForm {
  constructor(api) {
    this.api = api;
    this.problem = h("div", {});
    this.idInput = h("input", {
      name: "fleet_id", required: true, pattern: FLEET_ID.source.slice(1, -1), maxlength: "64",
      autocomplete: "off", "data-testid": "fleet-id",
    });
    this.fileInput = h("input", { name: "file", type: "file", accept: ".csv,.json,text/csv,application/json", required: true, "data-testid": "fleet-file" });
    this.idInput.id = "fleet-id";
    this.fileInput.id = "fleet-file";
    this.form = h("form", { "data-testid": "fleet-form" },
      h("div", { class: "field" }, h("label", { for: "fleet-id" }, "Fleet id"), this.idInput),
      h("div", { class: "field" }, h("label", { for: "fleet-file" }, "Devices: a CSV (one device a line) or a JSON fleet request"), this.fileInput),
      h("p", { class: "muted small" }, "The CSV's columns and the JSON body are described in docs/fleets.md."),
      h("div", { class: "buttons" }, h("button", { type: "submit", "data-testid": "fleet-start" }, "Start the fleet")),
      this.problem,
    );
    this.openInput = h("input", { name: "open_id", pattern: FLEET_ID.source.slice(1, -1), required: true, "data-testid": "fleet-open-id" });
    this.openForm = h("form", { class: "filters" },
      h("label", {}, "Fleet id ", this.openInput),
      h("button", { type: "submit", class: "secondary" }, "Open"));
    this.element = h("div", { "data-testid": "fleets-view" },
      h("h2", {}, "Fleets"),
      h("p", { class: "muted small" }, "Provision many devices at once, each through its own run; follow them together."),
      this.form,
      h("h3", {}, "Follow a fleet"),
      this.openForm,
    );
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.start(); });
    this.openForm.addEventListener("submit", (event) => {
      event.preventDefault();
      location.hash = `#/fleets/${encodeURIComponent(this.openInput.value.trim())}`;
    });
  }

  async start() {
    replaceChildren(this.problem);
    const fleetId = this.idInput.value.trim();
    const [file] = this.fileInput.files;
    if (!FLEET_ID.test(fleetId) || !file) return;
    try {
      await this.api.post(fleetPath(fleetId), await file.text(), contentTypeOf(file));
      location.hash = `#/fleets/${encodeURIComponent(fleetId)}`;
    } catch (error) {
      replaceChildren(this.problem, problemView(error, "fleet-problem"));
    }
  }
}

/** `#/fleets/<id>`: a fleet's aggregate progress, live, and what can be done to it. */
export class FleetView {
  constructor(api, fleetId) {
    this.api = api;
    this.fleetId = fleetId;
    this.source = null;
    this.snapshot = null;
    this.summary = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    this.streamStatus = h("span", { class: "muted small", "data-testid": "fleet-stream" });
    this.problem = h("div", {});
    this.skipInput = h("input", {
      name: "skip", "aria-label": "Queued devices to skip", placeholder: "queued device ids to skip", "data-testid": "fleet-skip-ids",
    });
    this.skipButton = h("button", { type: "submit", class: "secondary", "data-testid": "fleet-skip" }, "Skip");
    this.cancelButton = h("button", { type: "button", class: "danger", "data-testid": "fleet-cancel", onclick: () => this.act("cancel") }, "Cancel the fleet");
    this.actions = h("div", { class: "buttons" },
      h("button", { type: "button", "data-testid": "fleet-retry", onclick: () => this.act("retry", {}) }, "Retry the failed devices"),
      h("form", { class: "filters", onsubmit: (event) => { event.preventDefault(); this.skip(); } },
        this.skipInput, this.skipButton),
      this.cancelButton,
    );
    this.element = h("div", { "data-testid": "fleet-view", "data-fleet-id": fleetId },
      h("h2", {}, `Fleet ${fleetId} `, this.streamStatus),
      this.summary, this.actions, this.problem);
  }

  mount() { this.refresh(); }

  destroy() { this.closeStream(); }

  async refresh() {
    try {
      const { data } = await this.api.get(fleetPath(this.fleetId));
      this.render(data);
      if (!this.isFinished(data)) this.openStream();
    } catch (error) {
      const text = error instanceof ApiError && error.status === 404
        ? "No fleet of this id exists for this key's tenant."
        : `Could not read the fleet: ${error.message}`;
      replaceChildren(this.summary, h("p", { class: "problem", role: "alert" }, text));
    }
  }

  isFinished(snapshot) {
    return snapshot.state === "COMPLETED" || snapshot.state === "CANCELLED";
  }

  /** Follow the fleet's events; the URL carries a short-lived ticket, never the key. */
  async openStream() {
    this.closeStream();
    const opening = {};
    this.source = opening;
    let url;
    try {
      const { data } = await this.api.post(fleetPath(this.fleetId, "stream-ticket"));
      url = data.events;
    } catch {
      url = null;
    }
    if (this.source !== opening) return;
    if (!url) {
      this.source = null;
      this.streamStatus.textContent = "not live: reload to see newer progress";
      return;
    }
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener("open", () => { this.streamStatus.textContent = "live"; });
    source.addEventListener(FLEET_EVENT, (message) => {
      const snapshot = JSON.parse(message.data);
      this.render(snapshot);
      if (this.isFinished(snapshot)) {
        this.closeStream();
        this.streamStatus.textContent = "fleet ended";
      }
    });
    source.addEventListener("error", () => {
      if (this.source !== source) return;
      if (source.readyState === EventSource.CLOSED) {
        this.closeStream();
        this.refresh(); // a new ticket, and the state as it is now
      } else {
        this.streamStatus.textContent = "reconnecting…";
      }
    });
  }

  closeStream() {
    if (this.source && this.source.close) this.source.close();
    this.source = null;
  }

  async act(action, body) {
    replaceChildren(this.problem);
    try {
      const { data } = await this.api.post(fleetPath(this.fleetId, action), body);
      if (data && data.fleet_id && data.counts) this.render(data);
      this.refresh(); // a retry of an ended fleet is a new run: follow it
    } catch (error) {
      replaceChildren(this.problem, problemView(error, "fleet-action-problem"));
    }
  }

  skip() {
    const ids = this.skipInput.value.split(/[\s,;]+/).filter(Boolean);
    if (ids.length) this.act("skip", { device_ids: ids });
  }

  render(snapshot) {
    this.snapshot = snapshot;
    // An ended fleet has nothing queued to skip or running to cancel; a retry restarts it.
    const running = !this.isFinished(snapshot);
    this.skipInput.disabled = this.skipButton.disabled = this.cancelButton.disabled = !running;
    const done = OUTCOMES.filter((o) => o !== "QUEUED" && o !== "RUNNING")
      .reduce((sum, outcome) => sum + (snapshot.counts[outcome] || 0), 0);
    const codes = Object.entries(snapshot.failures_by_code || {});
    const sites = Object.entries(snapshot.in_flight_by_site || {});
    replaceChildren(this.summary,
      h("p", {}, fleetBadge(snapshot.state, "fleet-state"), " ",
        h("span", { "data-testid": "fleet-done" }, `${done} of ${snapshot.total} done`),
        h("span", { class: "muted small" }, ` · generation ${snapshot.generation} · updated ${dateTime(snapshot.updated_at)}`)),
      h("progress", { max: String(snapshot.total || 1), value: String(done), "aria-label": "devices done" }),
      h("dl", { class: "counts", "aria-label": "Devices by outcome", "data-testid": "fleet-counts" },
        OUTCOMES.map((o) => h("div", {}, h("dt", {}, o), h("dd", { "data-testid": `fleet-count-${o}` }, String(snapshot.counts[o] || 0))))),
      sites.length ? h("p", { class: "small" }, "In flight: ", sites.map(([site, n]) => `${site} ${n}`).join(" · ")) : null,
      codes.length ? h("div", {}, h("h3", {}, "Failures by code"),
        h("ul", { "data-testid": "fleet-failure-codes" }, codes.map(([code, n]) => h("li", {}, h("code", { class: "code" }, code), ` ${n}`)))) : null,
      snapshot.failures && snapshot.failures.length ? h("div", {}, h("h3", {}, "Latest failures"),
        h("div", { class: "table-wrap" }, h("table", { class: "runs", "data-testid": "fleet-failures" },
          h("caption", { class: "visually-hidden" }, "The latest failed devices"),
          h("thead", {}, h("tr", {}, ["Device", "Code", "Message", "Attempt"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, snapshot.failures.map((failure) => h("tr", { "data-testid": "fleet-failure", "data-device-id": failure.device_id },
            h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(failure.device_id)}` }, failure.device_id)),
            h("td", {}, h("code", { class: "code" }, failure.error_code)),
            h("td", {}, failure.message),
            h("td", {}, String(failure.attempt)))))))) : null,
    );
  }
}
