// The console's entry point: configuration, the API key, the runs list and the router.

import { Api } from "./api.js";
import { DeviceRecordView, DevicesView } from "./devices-view.js";
import { h, replaceChildren } from "./dom.js";
import { EnrollmentsView } from "./enrollments-view.js";
import { FleetStartForm, FleetView } from "./fleets-view.js";
import { RunView } from "./run-view.js";
import { RunsList } from "./runs-list.js";
import { StartForm } from "./start-form.js";
import { WebhooksView } from "./webhooks-view.js";

async function loadConfig() {
  const response = await fetch("/console/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`console configuration: HTTP ${response.status}`);
  return response.json();
}

class Console {
  constructor(config) {
    this.config = config;
    this.api = new Api(config);
    this.view = document.getElementById("view");
    this.current = null;
    this.routeKey = null;
    this.runs = new RunsList(this.api, {
      form: document.getElementById("runs-filters"),
      body: document.getElementById("runs-body"),
      status: document.getElementById("runs-status"),
    });
    this.keyForm = document.getElementById("key-form");
    this.keyInput = document.getElementById("api-key");
    this.keyStatus = document.getElementById("api-key-status");
  }

  start() {
    this.setUpKey();
    this.api.onUnauthenticated(() => this.showKeyStatus("The API refused this key.", "bad"));
    if (this.api.ready) this.runs.loadStrategies();
    this.runs.start();
    window.addEventListener("hashchange", () => this.route());
    this.route();
  }

  setUpKey() {
    if (!this.config.auth_required) return; // the form stays hidden: nothing to ask
    this.keyForm.hidden = false;
    this.showKeyStatus(this.api.key ? "Key set for this tab." : "Enter the key printed by make run.", this.api.key ? "ok" : "");
    this.keyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = this.keyInput.value.trim();
      if (!key) return;
      this.api.key = key;
      this.keyInput.value = "";
      this.showKeyStatus("Key set for this tab.", "ok");
      this.runs.loadStrategies();
      this.runs.refresh();
      if (this.current && this.current.refresh) this.current.refresh();
    });
    document.getElementById("api-key-clear").addEventListener("click", () => {
      this.api.key = "";
      this.showKeyStatus("No key: enter one to use the console.", "");
      this.runs.refresh();
      if (this.current && this.current.refresh) this.current.refresh();
    });
  }

  showKeyStatus(text, tone) {
    this.keyStatus.textContent = text;
    this.keyStatus.dataset.tone = tone;
  }

  route() {
    const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    const isRun = parts[0] === "runs" && parts[1];
    const isDevices = parts[0] === "devices";
    const isFleets = parts[0] === "fleets";
    const isEnrollments = parts[0] === "enrollments";
    const isWebhooks = parts[0] === "webhooks";
    // "#/", "#/new" and no hash all show the start form: keep what the person typed.
    let key = `new:${query}`;
    if (isRun) key = `run:${parts[1]}`;
    else if (isDevices) key = `devices:${parts[1] || ""}`;
    else if (isFleets) key = `fleets:${parts[1] || ""}`;
    else if (isEnrollments) key = "enrollments";
    else if (isWebhooks) key = "webhooks";
    if (key === this.routeKey) return;
    this.routeKey = key;
    if (this.current && this.current.destroy) this.current.destroy();
    this.current = null;
    if (isRun) {
      this.showRun(parts[1]);
    } else if (isFleets) {
      this.runs.select(null);
      const view = parts[1] ? new FleetView(this.api, parts[1]) : new FleetStartForm(this.api);
      this.show(view);
      if (view.mount) view.mount();
    } else if (isEnrollments) {
      this.runs.select(null);
      const view = new EnrollmentsView(this.api);
      this.show(view);
      view.mount();
    } else if (isWebhooks) {
      this.runs.select(null);
      const view = new WebhooksView(this.api);
      this.show(view);
      view.mount();
    } else if (isDevices) {
      this.runs.select(null);
      const view = parts[1] ? new DeviceRecordView(this.api, parts[1]) : new DevicesView(this.api);
      this.show(view);
      view.mount();
    } else {
      this.runs.select(null);
      const deviceId = new URLSearchParams(query).get("device") || "";
      this.show(new StartForm(this.api, {
        deviceId,
        onStarted: (started) => { location.hash = `#/runs/${encodeURIComponent(started.device_id)}`; },
      }));
    }
  }

  showRun(deviceId) {
    this.runs.select(deviceId);
    let seen = "";
    const view = new RunView(this.api, this.config, deviceId, {
      onChange: (status) => {
        // The list shows states too: refresh it as soon as this run moves on.
        const now = `${status.run_id}/${status.state}`;
        if (now !== seen) this.runs.refresh();
        seen = now;
      },
    });
    this.show(view);
    view.mount();
  }

  show(component) {
    this.current = component;
    replaceChildren(this.view, component.element);
  }
}

loadConfig()
  .then((config) => new Console(config).start())
  .catch((error) => {
    replaceChildren(document.getElementById("view"),
      h("div", { class: "problem", role: "alert" }, h("p", {}, `The console cannot start: ${error.message}`)));
  });
