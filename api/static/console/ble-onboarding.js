// Onboarding over Web Bluetooth for a `client-ble` run: this page finds the device by
// the Improv service, identifies it, waits for its button, gives it the Wi-Fi
// credentials typed here (never sent to the API) and reports the outcome to the run.

import { problemView, runPath } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { IMPROV_SERVICE, ImprovClient, ImprovError, STATE } from "./improv-client.js";

const BUTTON_WAIT_MS = 120_000;
const JOIN_WAIT_MS = 60_000;
const REPORTED_ERRORS = new Set(["invalid_rpc_packet", "unknown_rpc_command", "unable_to_connect", "not_authorized", "bad_hostname", "unknown_error"]);

/** The BLE name the run waits for (its waiting event's details). */
export function expectedBleName(status) {
  const events = (status && status.events) || [];
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const details = events[i].details || {};
    if (details.transport === "client-ble" && details.ble_name) return details.ble_name;
  }
  return status ? status.device_id : "";
}

export class BleOnboarding {
  constructor(api, deviceId, { onReported } = {}) {
    this.api = api;
    this.deviceId = deviceId;
    this.onReported = onReported || (() => {});
    this.client = null;
    this.busy = false;
    this.used = false;
    this.bleName = deviceId;
    this.inputs = null;
    this.element = this.build();
  }

  get supported() { return Boolean(navigator.bluetooth && navigator.bluetooth.requestDevice); }

  build() {
    this.intro = h("p", { "data-testid": "ble-intro" });
    this.rejection = h("p", { class: "rejection", role: "alert", "data-testid": "ble-rejection", hidden: true });
    this.ssid = h("input", { id: "ble-ssid", name: "ssid", required: true, autocomplete: "off", "data-testid": "ble-ssid" });
    this.passphrase = h("input", {
      id: "ble-passphrase", name: "passphrase", type: "password", autocomplete: "new-password", "data-testid": "ble-passphrase",
    });
    this.submit = h("button", { type: "submit", "data-testid": "ble-connect" }, "Connect and send");
    this.steps = h("ol", { class: "ble-steps", "data-testid": "ble-steps" });
    this.problem = h("div", { "data-testid": "ble-problem" });
    this.unsupported = h("p", { class: "problem", role: "alert", "data-testid": "ble-unsupported", hidden: true },
      "This browser cannot use Bluetooth: open this page in Chrome (Android, ChromeOS, Windows, macOS or Linux), "
      + "over HTTPS or on localhost.");
    return h(
      "form",
      {
        class: "prompt ble", "data-testid": "ble-form", hidden: true, "aria-labelledby": "ble-heading",
        onsubmit: (event) => this.start(event),
      },
      h("h3", { id: "ble-heading" }, "Onboard the device from this browser (Bluetooth)"),
      this.intro,
      this.rejection,
      this.unsupported,
      this.inputs = h("div", {},
        h("div", { class: "field" }, h("label", { for: "ble-ssid" }, "Network name (SSID)"), this.ssid),
        h("div", { class: "field" }, h("label", { for: "ble-passphrase" }, "Passphrase"), this.passphrase),
        h("p", { class: "muted small" }, "The credentials go from this page to the device over Bluetooth; devprov never sees the passphrase."),
        h("div", { class: "buttons" }, this.submit)),
      h("div", { role: "status", "aria-live": "polite", "aria-label": "Bluetooth steps" }, this.steps),
      this.problem,
    );
  }

  /** Show the form while the run waits for this browser (and, afterwards, the steps
   * this page took). */
  show(status) {
    const waiting = (status.awaiting || []).includes("client-ble");
    this.element.hidden = !(waiting || this.used);
    this.bleName = expectedBleName(status);
    this.inputs.hidden = !waiting && !this.busy;
    replaceChildren(this.intro, waiting || this.busy
      ? ["The run waits for this browser: choose ", h("code", { "data-testid": "ble-name" }, this.bleName),
        " in the Bluetooth chooser, press the device's button when asked, and it gets the Wi-Fi network typed here."]
      : ["What this browser did with ", h("code", {}, this.bleName), ":"]);
    const rejected = waiting && status.error_code && status.state === "WAITING_FOR_DEVICE";
    this.rejection.hidden = !rejected;
    this.rejection.textContent = rejected ? status.message : "";
    this.unsupported.hidden = this.supported;
    this.submit.disabled = this.busy || !waiting || !this.supported;
  }

  step(text, testid) {
    this.steps.append(h("li", testid ? { "data-testid": testid } : {}, text));
  }

  async chooseDevice() {
    if (this.client && this.client.connected) return this.client;
    const device = await navigator.bluetooth.requestDevice({ filters: [{ services: [IMPROV_SERVICE] }] });
    const client = new ImprovClient(device);
    if (client.name && client.name !== this.bleName) {
      throw new Error(`You chose '${client.name}'; this run is for '${this.bleName}'. Nothing was sent.`);
    }
    this.step(`Connecting to ${client.name || "the device"}…`);
    await client.connect();
    this.step(`Connected to ${client.name || "the device"}${client.notifying ? "" : " (reading its state; it sends no notifications)"}.`, "ble-connected");
    this.client = client;
    return client;
  }

  async start(event) {
    event.preventDefault();
    replaceChildren(this.problem);
    const ssid = this.ssid.value.trim();
    const passphrase = this.passphrase.value;
    if (!ssid || (passphrase.length && (passphrase.length < 8 || passphrase.length > 63))) {
      replaceChildren(this.problem, h("p", { class: "problem", role: "alert" },
        "Type the network name, and a passphrase of 8 to 63 characters (or none for an open network)."));
      return;
    }
    this.busy = true;
    this.used = true;
    this.submit.disabled = true;
    replaceChildren(this.steps);
    try {
      const client = await this.chooseDevice();
      const report = await this.onboard(client, ssid, passphrase);
      if (report) await this.report(report);
    } catch (error) {
      replaceChildren(this.problem, error.code ? problemView(error, "ble-problem-detail")
        : h("p", { class: "problem", role: "alert", "data-testid": "ble-problem-detail" }, error.message || String(error)));
    } finally {
      this.passphrase.value = "";
      this.busy = false;
      this.submit.disabled = false;
    }
  }

  async onboard(client, ssid, passphrase) {
    const base = { device_name: client.name || null };
    if (client.state === STATE.PROVISIONED) {
      this.step("The device is already on a network: nothing was sent.");
      return { ...base, outcome: "already_provisioned" };
    }
    const info = await client.deviceInfo();
    if (info) {
      base.firmware = `${info.firmware} ${info.version} on ${info.chip}`;
      this.step(`It is ${info.name}: ${base.firmware}.`, "ble-device-info");
    }
    if (await client.identify()) this.step("It is identifying itself (blinking or beeping, as it can).");
    if ((await client.refresh()) === STATE.AUTHORIZATION_REQUIRED) {
      this.step("Press the button on the device now.", "ble-press-button");
      await client.waitForAuthorization(BUTTON_WAIT_MS);
      this.step("Button pressed: the device is authorized.", "ble-authorized");
    }
    this.step(`Sending the credentials for '${ssid}'…`);
    try {
      const redirectUrl = await client.provision(ssid, passphrase, JOIN_WAIT_MS);
      this.step(`The device joined '${ssid}'${redirectUrl ? ` and answers at ${redirectUrl}` : ""}.`, "ble-joined");
      client.disconnect();
      this.client = null;
      return { ...base, outcome: "provisioned", ssid, redirect_url: redirectUrl };
    } catch (error) {
      if (!(error instanceof ImprovError) || !REPORTED_ERRORS.has(error.improvError)) throw error;
      this.step(`The device reports: ${error.improvError.replaceAll("_", " ")}.`, "ble-device-error");
      return { ...base, outcome: "device_error", ssid, error: error.improvError };
    }
  }

  async report(report) {
    const { data } = await this.api.post(runPath(this.deviceId, "client-ble-result"), report);
    this.step(`Reported to the run: ${data.state} — ${data.message}`, "ble-reported");
    this.onReported(data);
  }
}
