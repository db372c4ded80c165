// Start a run from a device description: ask which strategy matches, then start it.

import { ApiError, problemView, runPath } from "./api.js";
import { DeviceFields } from "./device-fields.js";
import { h, replaceChildren } from "./dom.js";
import { loadTemplates } from "./templates.js";

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export class StartForm {
  constructor(api, { deviceId = "", onStarted } = {}) {
    this.api = api;
    this.onStarted = onStarted || (() => {});
    this.match = null;
    this.matchedInput = null;
    this.secretInputs = new Map();
    this.templates = [];
    // Once the person types, a template arriving late must not overwrite their input.
    this.touched = Boolean(deviceId);
    this.element = this.build();
    if (deviceId) this.deviceId.value = deviceId;
    this.refresh();
  }

  /** Called when the API key changes: the examples need one where the API asks for keys. */
  refresh() {
    if (this.templates.length || !this.api.ready) return;
    this.showTemplates();
  }

  build() {
    this.template = h(
      "select",
      { id: "start-template", "data-testid": "start-template", onchange: () => this.applyTemplate(Number(this.template.value)) },
      h("option", { value: "" }, this.api.ready ? "(loading examples…)" : "(examples need an API key)"),
    );
    const typed = () => {
      this.touched = true;
      this.invalidateMatch();
    };
    this.deviceId = h("input", {
      id: "start-device-id", name: "device_id", required: true, autocomplete: "off", spellcheck: "false",
      pattern: DEVICE_ID.source, "data-testid": "start-device-id", oninput: typed,
    });
    this.deviceFields = new DeviceFields(typed);
    this.ssid = h("input", { id: "start-ssid", name: "ssid", autocomplete: "off", "data-testid": "start-ssid", oninput: typed });
    this.passphrase = h("input", {
      id: "start-passphrase", name: "passphrase", type: "password", autocomplete: "new-password",
      "data-testid": "start-passphrase", oninput: typed,
    });
    this.secrets = h("div", { class: "secrets", "data-testid": "start-secrets" });
    this.transports = h("div", { "data-testid": "start-transports" });
    this.networkFields = null;
    this.matchBox = h("div", { class: "match", role: "status", "aria-live": "polite", "data-testid": "start-match" });
    this.problem = h("div", { "data-testid": "start-problem" });
    this.checkButton = h("button", { type: "button", class: "secondary", "data-testid": "start-check", onclick: () => this.check() }, "Check device");
    this.submitButton = h("button", { type: "submit", "data-testid": "start-submit", disabled: true }, "Start provisioning");

    const form = h(
      "form",
      {
        class: "start-form", "data-testid": "start-form", "aria-labelledby": "start-heading", novalidate: true,
        onsubmit: (event) => this.start(event),
      },
      h("div", { class: "panel-head" }, h("h2", { id: "start-heading" }, "Provision a device")),
      h("div", { class: "field" }, h("label", { for: "start-template" }, "Start from"), this.template),
      h("div", { class: "field" }, h("label", { for: "start-device-id" }, "Device id"), this.deviceId),
      h("p", { class: "muted small" }, "The strategy is chosen from the device's type, vendor and capabilities."),
      this.deviceFields.element,
      this.networkFields = h("fieldset", {},
        h("legend", {}, "Wi-Fi network"),
        h("p", { class: "muted small" }, "Leave it empty and the run will ask for it (PENDING_NETWORK)."),
        h("div", { class: "field" }, h("label", { for: "start-ssid" }, "Network name (SSID)"), this.ssid),
        h("div", { class: "field" }, h("label", { for: "start-passphrase" }, "Passphrase"), this.passphrase)),
      this.secrets,
      this.matchBox,
      this.transports,
      this.problem,
      h("div", { class: "buttons" }, this.checkButton, this.submitButton),
    );
    return form;
  }

  /** Offer the example requests of the families the API serves; fill the form with the
   * first one unless the person has started typing. */
  async showTemplates() {
    try {
      this.templates = await loadTemplates(this.api);
    } catch (error) {
      replaceChildren(this.template, h("option", { value: "" }, `(no examples: ${error.message})`));
      return;
    }
    if (!this.templates.length) {
      replaceChildren(this.template, h("option", { value: "" }, "(no examples)"));
      return;
    }
    replaceChildren(this.template, ...this.templates.map((template, index) => h("option", { value: index }, template.name)));
    if (!this.touched) this.applyTemplate(0);
    else this.deviceFields.build(this.templates[0].schema);
  }

  applyTemplate(index) {
    const template = this.templates[index];
    if (!template) return;
    this.deviceId.value = template.device_id;
    this.deviceFields.build(template.schema);
    this.deviceFields.setValues(template.device);
    this.ssid.value = template.ssid || "";
    this.passphrase.value = "";
    this.templateSecrets = template.secrets || {};
    this.invalidateMatch();
  }

  invalidateMatch() {
    this.match = null;
    replaceChildren(this.transports);
    this.networkFields.hidden = false;
    this.submitButton.disabled = true;
    replaceChildren(this.matchBox);
    replaceChildren(this.problem);
  }

  /** The form as a request body; throws with a message the person can act on. */
  readInput() {
    const deviceId = this.deviceId.value.trim();
    if (!DEVICE_ID.test(deviceId)) throw new Error("The device id must be letters, digits, '.', '_', ':' or '-'.");
    if (!this.templates.length) throw new Error("The device families have not loaded yet.");
    return { ...this.deviceFields.values(), device_id: deviceId };
  }

  showError(message) {
    replaceChildren(this.problem, h("div", { class: "problem", role: "alert", "data-testid": "start-problem-detail" }, h("p", {}, message)));
  }

  async check() {
    replaceChildren(this.problem);
    let device;
    try {
      device = this.readInput();
    } catch (error) {
      this.showError(error.message);
      return false;
    }
    this.checkButton.disabled = true;
    try {
      const { data } = await this.api.post("/strategies/match", { device });
      this.match = data;
      this.matchedInput = JSON.stringify(device);
      this.renderMatch(data);
      this.renderTransports(data);
      this.submitButton.disabled = false;
      return true;
    } catch (error) {
      this.match = null;
      replaceChildren(this.matchBox);
      replaceChildren(this.problem, problemView(error, "start-problem-detail"));
      return false;
    } finally {
      this.checkButton.disabled = false;
    }
  }

  renderMatch(match) {
    const asks = [];
    if (match.requires_network) {
      asks.push(this.ssid.value.trim()
        ? "Wi-Fi credentials (given above)"
        : "Wi-Fi credentials: the run will wait for them in PENDING_NETWORK");
    }
    for (const secret of match.secrets) asks.push(`the device secret '${secret}'`);
    replaceChildren(
      this.matchBox,
      h("p", {}, "Strategy ", h("strong", { "data-testid": "start-match-strategy" }, match.strategy),
        ` runs ${match.placement === "edge" ? "on a gateway near the device" : "centrally"}.`),
      h("p", { class: "muted small" }, match.description),
      h("p", { "data-testid": "start-match-asks" }, asks.length ? `It needs: ${asks.join("; ")}.` : "It needs nothing more."),
    );
    // One password field per secret the strategy needs, kept across checks.
    const previous = this.secretInputs;
    this.secretInputs = new Map();
    replaceChildren(this.secrets);
    if (match.secrets.length) {
      const fields = match.secrets.map((name) => {
        const input = previous.get(name) || h("input", {
          id: `start-secret-${name}`, type: "password", autocomplete: "off", "data-testid": `start-secret-${name}`,
        });
        if (!input.value && this.templateSecrets && this.templateSecrets[name]) input.value = this.templateSecrets[name];
        this.secretInputs.set(name, input);
        return h("div", { class: "field" }, h("label", { for: input.id }, `Secret: ${name}`), input);
      });
      this.secrets.append(h("fieldset", {}, h("legend", {}, "Device secrets"), fields));
    }
  }

  /** Offer onboarding from this browser where the strategy can wait for it. */
  renderTransports(match) {
    replaceChildren(this.transports);
    if (!(match.transports || []).includes("client-ble")) return;
    const option = (value, label, checked) => h("label", { class: "check" },
      h("input", {
        type: "radio", name: "transport", value, checked, "data-testid": `start-transport-${value}`,
        onchange: () => { this.networkFields.hidden = this.transport() === "client-ble"; },
      }), ` ${label}`);
    this.transports.append(h("fieldset", {},
      h("legend", {}, "How devprov reaches the device"),
      option("gateway", "A gateway near it (edge worker)", true),
      option("client-ble", "This browser, over Bluetooth (connect from your phone at the device)", false),
      h("p", { class: "muted small" }, "From this browser, you type the Wi-Fi credentials on the run's page: they go to the device, not to devprov.")));
  }

  transport() {
    const chosen = this.transports.querySelector("input[name=transport]:checked");
    return chosen ? chosen.value : "gateway";
  }

  async start(event) {
    event.preventDefault();
    replaceChildren(this.problem);
    let device;
    try {
      device = this.readInput();
    } catch (error) {
      this.showError(error.message);
      return;
    }
    if (!this.match || this.matchedInput !== JSON.stringify(device)) {
      if (!(await this.check())) return;
    }
    const body = { device };
    const ssid = this.ssid.value.trim();
    if (this.transport() === "client-ble") body.transport = "client-ble";
    else if (ssid) body.network = { ssid, passphrase: this.passphrase.value };
    const secrets = {};
    for (const [name, input] of this.secretInputs) if (input.value) secrets[name] = input.value;
    if (Object.keys(secrets).length) body.secrets = secrets;
    this.submitButton.disabled = true;
    try {
      const { data } = await this.api.post(runPath(device.device_id), body);
      this.passphrase.value = "";
      this.onStarted(data);
    } catch (error) {
      const running = error instanceof ApiError && error.code === "RUN_IN_PROGRESS"
        ? h("p", {}, h("a", { href: `#/runs/${encodeURIComponent(device.device_id)}` }, "Follow the run in progress"))
        : null;
      replaceChildren(this.problem, problemView(error, "start-problem-detail"), running);
      this.submitButton.disabled = false;
    }
  }
}
