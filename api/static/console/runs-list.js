// The runs of this tenant, newest first, refreshed every couple of seconds.

import { ApiError } from "./api.js";
import { LISTED_STATES, clock, dateTime, h, replaceChildren, stateBadge } from "./dom.js";

const REFRESH_MS = 2000;

export class RunsList {
  constructor(api, { form, body, status }) {
    this.api = api;
    this.form = form;
    this.body = body;
    this.status = status;
    this.selected = null;
    this.timer = null;
    this.inFlight = false;
    const stateSelect = form.elements.state;
    for (const state of LISTED_STATES) stateSelect.append(h("option", { value: state }, state));
    form.addEventListener("input", () => this.refresh());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.refresh();
    });
  }

  /** Fill the strategy filter from `GET /strategies`. */
  async loadStrategies() {
    const select = this.form.elements.strategy;
    try {
      const { data } = await this.api.get("/strategies");
      select.replaceChildren(h("option", { value: "" }, "any"));
      for (const strategy of data) select.append(h("option", { value: strategy.name }, strategy.name));
    } catch {
      // The filter stays at "any"; the list's own status line reports API problems.
    }
  }

  start() {
    this.stop();
    this.refresh();
    this.timer = setInterval(() => {
      if (!document.hidden) this.refresh();
    }, REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  select(deviceId) {
    this.selected = deviceId;
    for (const row of this.body.rows) {
      row.classList.toggle("selected", row.dataset.deviceId === deviceId);
    }
  }

  query() {
    const params = new URLSearchParams({ limit: "50" });
    const { state, strategy, device, running } = this.form.elements;
    if (state.value) params.set("state", state.value);
    if (strategy.value) params.set("strategy", strategy.value);
    if (device.value.trim()) params.set("device", device.value.trim());
    if (running.checked) params.set("running", "true");
    return params.toString();
  }

  async refresh() {
    if (!this.api.ready) {
      replaceChildren(this.body);
      this.status.textContent = "Enter the API key to see the runs.";
      return;
    }
    if (this.inFlight) return;
    this.inFlight = true;
    const query = this.query();
    try {
      const { data } = await this.api.get(`/runs?${query}`);
      if (query === this.query()) this.render(data.runs);
      this.status.textContent = `${data.runs.length} run(s) · updated ${clock(new Date().toISOString())}`;
    } catch (error) {
      const what = error instanceof ApiError && error.status === 401 ? "the API key was refused" : error.message;
      this.status.textContent = `Could not list the runs: ${what}`;
    } finally {
      this.inFlight = false;
    }
  }

  render(runs) {
    if (!runs.length) {
      replaceChildren(this.body, h("tr", {}, h("td", { colspan: "4", class: "muted" }, "No runs match.")));
      return;
    }
    replaceChildren(
      this.body,
      runs.map((run) =>
        h(
          "tr",
          {
            "data-testid": "run-row",
            "data-device-id": run.device_id,
            "data-state": run.state || "",
            class: run.device_id === this.selected ? "selected" : null,
          },
          h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(run.device_id)}` }, run.device_id)),
          h("td", {}, stateBadge(run.state, "run-row-state")),
          h("td", {}, run.strategy),
          h("td", { class: "nowrap" }, dateTime(run.started_at)),
        ),
      ),
    );
  }
}
