// One device's run: its state, the prompt it waits on, actions, and the live timeline.

import { ApiError, problemView, runPath } from "./api.js";
import { BleOnboarding } from "./ble-onboarding.js";
import { clock, h, isTerminal, replaceChildren, stateBadge } from "./dom.js";

const POLL_RUNNING_MS = 2000;
const POLL_FINISHED_MS = 5000;
const BEFORE_NETWORK_USE = new Set(["PENDING", "DETECTING", "PRE_CHECK", "WAITING_FOR_DEVICE", "PENDING_NETWORK"]);

export function temporalUrl(config, status) {
  if (!config.temporal_ui_url || !status.run_id) return null;
  const base = config.temporal_ui_url.replace(/\/+$/, "");
  const parts = [config.namespace, status.workflow_id, status.run_id].map(encodeURIComponent);
  return `${base}/namespaces/${parts[0]}/workflows/${parts[1]}/${parts[2]}/history`;
}

export class RunView {
  constructor(api, config, deviceId, { onChange } = {}) {
    this.api = api;
    this.config = config;
    this.deviceId = deviceId;
    this.onChange = onChange || (() => {});
    this.status = null;
    this.runId = null;
    this.seen = new Set();
    this.lastSequence = 0;
    this.source = null;
    this.pollTimer = null;
    this.refreshTimer = null;
    // Status reads can answer out of order (a slow read of a finished run's progress
    // after a fast one of the run a retry started): only the newest answer is shown.
    this.readsAsked = 0;
    this.readShown = 0;
    this.closed = false;
    this.element = this.build();
  }

  build() {
    this.heading = h("h2", { "data-testid": "run-device-id" }, this.deviceId);
    this.summary = h("div", { class: "run-summary", "data-testid": "run-summary" });
    this.loadProblem = h("div", { "data-testid": "run-load-problem" });

    this.rejection = h("p", { class: "rejection", role: "alert", "data-testid": "credentials-rejection", hidden: true });
    this.ssid = h("input", { id: "cred-ssid", name: "ssid", required: true, autocomplete: "off", "data-testid": "credentials-ssid" });
    this.passphrase = h("input", {
      id: "cred-passphrase", name: "passphrase", type: "password", autocomplete: "new-password",
      "data-testid": "credentials-passphrase",
    });
    this.credentialsSubmit = h("button", { type: "submit", "data-testid": "credentials-submit" }, "Send credentials");
    this.credentialsProblem = h("div", { "data-testid": "credentials-problem" });
    this.credentialsForm = h(
      "form",
      {
        class: "prompt credentials", "data-testid": "credentials-form", hidden: true,
        "aria-labelledby": "cred-heading", onsubmit: (event) => this.sendCredentials(event),
      },
      h("h3", { id: "cred-heading" }, "The run needs Wi-Fi credentials"),
      this.rejection,
      h("div", { class: "field" }, h("label", { for: "cred-ssid" }, "Network name (SSID)"), this.ssid),
      h("div", { class: "field" }, h("label", { for: "cred-passphrase" }, "Passphrase"), this.passphrase),
      h("div", { class: "buttons" }, this.credentialsSubmit),
      this.credentialsProblem,
    );
    this.devicePrompt = h("div", { class: "prompt device", role: "status", "data-testid": "device-prompt", hidden: true });
    this.bluetooth = new BleOnboarding(this.api, this.deviceId, { onReported: () => this.refresh() });

    this.retryButton = h("button", { type: "button", "data-testid": "action-retry", onclick: () => this.act("retry") }, "Retry");
    this.forgetButton = h(
      "button",
      { type: "button", class: "secondary", "data-testid": "action-forget-credentials", onclick: () => this.act("forget-credentials") },
      "Forget credentials",
    );
    this.cancelButton = h(
      "button",
      { type: "button", class: "danger", "data-testid": "action-cancel", onclick: () => this.act("cancel") },
      "Cancel and roll back",
    );
    this.actionNote = h("p", { class: "muted small", role: "status", "data-testid": "action-note" });
    this.actionProblem = h("div", { "data-testid": "action-problem" });

    this.streamStatus = h("span", { class: "muted small", "data-testid": "stream-status" }, "connecting…");
    this.timeline = this.newTimeline();
    // The live region is the holder; the timeline inside stays a list (its items need one).
    this.timelineHolder = h("div", { role: "log", "aria-live": "polite", "aria-label": "Progress events of the run" }, this.timeline);
    this.earlier = h("div", { class: "earlier", "data-testid": "earlier-runs" });

    return h(
      "article",
      { class: "run-view", "data-testid": "run-view", "aria-labelledby": "run-heading" },
      h("div", { class: "panel-head", id: "run-heading" }, this.heading),
      this.loadProblem,
      this.summary,
      h("section", { class: "prompts", "aria-label": "What the run waits for", "aria-live": "polite", "data-testid": "run-prompt" },
        this.credentialsForm, this.devicePrompt, this.bluetooth.element),
      h("div", { class: "actions buttons", role: "group", "aria-label": "Run actions" },
        this.retryButton, this.forgetButton, this.cancelButton),
      this.actionNote,
      this.actionProblem,
      h("section", { class: "timeline-section", "aria-labelledby": "timeline-heading" },
        h("div", { class: "panel-head" }, h("h3", { id: "timeline-heading" }, "Timeline"), this.streamStatus),
        this.timelineHolder,
        this.earlier),
    );
  }

  newTimeline() {
    return h("ol", { class: "timeline", "data-testid": "timeline" });
  }

  async mount() {
    this.setButtons(null);
    await this.refresh();
    this.schedulePoll();
  }

  destroy() {
    this.closed = true;
    this.closeStream();
    clearTimeout(this.pollTimer);
    clearTimeout(this.refreshTimer);
  }

  schedulePoll() {
    if (this.closed) return;
    clearTimeout(this.pollTimer);
    const finished = this.status && isTerminal(this.status.state);
    this.pollTimer = setTimeout(async () => {
      if (!document.hidden) await this.refresh();
      this.schedulePoll();
    }, finished ? POLL_FINISHED_MS : POLL_RUNNING_MS);
  }

  /** Refresh soon after an event (several events in a burst make one request). */
  refreshSoon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), 150);
  }

  async refresh() {
    if (this.closed || !this.api.ready) {
      if (!this.api.ready) replaceChildren(this.loadProblem, h("p", { class: "muted" }, "Enter the API key to follow this run."));
      return;
    }
    const read = ++this.readsAsked;
    let status;
    try {
      ({ data: status } = await this.api.get(runPath(this.deviceId)));
    } catch (error) {
      if (this.closed || read < this.readShown) return;
      this.readShown = read;
      const hint = error instanceof ApiError && error.code === "RUN_NOT_FOUND"
        ? h("p", {}, h("a", { href: `#/new?device=${encodeURIComponent(this.deviceId)}` }, "Provision this device"))
        : null;
      replaceChildren(this.loadProblem, problemView(error, "run-load-problem-detail"), hint);
      return;
    }
    if (this.closed || read < this.readShown) return; // a newer answer is already shown
    this.readShown = read;
    replaceChildren(this.loadProblem);
    if (status.run_id !== this.runId) this.switchRun(status);
    this.status = status;
    this.render(status);
    this.onChange(status);
  }

  /** A new run of the device (the first one seen, or one a retry started). */
  switchRun(status) {
    if (this.runId !== null && this.timeline.children.length) {
      const previous = this.timeline;
      const last = this.status ? this.status.state : "";
      previous.removeAttribute("data-testid");
      this.earlier.prepend(
        h("details", { "data-testid": "earlier-run" },
          h("summary", {}, `Earlier run ${this.runId} (${last})`),
          previous),
      );
    }
    this.runId = status.run_id;
    this.seen = new Set();
    this.lastSequence = 0;
    this.timeline = this.newTimeline();
    replaceChildren(this.timelineHolder, this.timeline);
    this.openStream();
  }

  async openStream() {
    this.closeStream();
    const opening = {};
    this.source = opening;
    let url;
    try {
      url = await this.api.eventsUrl(this.deviceId, this.lastSequence);
    } catch {
      url = null;
    }
    if (this.source !== opening) return; // closed or reopened meanwhile
    if (url === null) {
      this.source = null;
      this.streamStatus.textContent = "stream unavailable: showing the events of the status";
      for (const event of (this.status && this.status.events) || []) this.addEvent(event);
      return;
    }
    const source = new EventSource(url);
    this.source = source;
    let wasLive = false;
    source.addEventListener("open", () => {
      if (this.source !== source) return;
      wasLive = true;
      this.streamStatus.textContent = "live";
    });
    source.addEventListener("progress", (message) => {
      if (this.source !== source) return;
      const event = JSON.parse(message.data);
      this.addEvent(event);
      if (event.terminal) {
        // The server ends the stream after the terminal event; EventSource would
        // otherwise reconnect to a run that has nothing more to say.
        this.closeStream();
        this.streamStatus.textContent = "run ended";
      }
      this.refreshSoon();
    });
    source.addEventListener("error", () => {
      if (this.source !== source) return;
      if (source.readyState === EventSource.CLOSED && wasLive) {
        // A reconnection refused after the stream was live: its ticket has expired.
        // Ask for a new one and resume after the last event seen.
        this.openStream();
      } else if (source.readyState === EventSource.CLOSED) {
        // Refused (no or a wrong key, no run): show what the status holds instead.
        this.closeStream();
        this.streamStatus.textContent = "stream unavailable: showing the events of the status";
        for (const event of (this.status && this.status.events) || []) this.addEvent(event);
      } else {
        this.streamStatus.textContent = "reconnecting…";
      }
    });
  }

  closeStream() {
    if (this.source) this.source.close();
    this.source = null;
  }

  addEvent(event) {
    if (this.seen.has(event.sequence)) return;
    this.seen.add(event.sequence);
    this.lastSequence = Math.max(this.lastSequence, event.sequence);
    const item = h(
      "li",
      { class: "event", "data-testid": "timeline-event", "data-state": event.state, "data-sequence": event.sequence },
      h("time", { datetime: event.updated_at, class: "event-time" }, clock(event.updated_at)),
      stateBadge(event.state, "event-state"),
      h("span", { class: "event-step", "data-testid": "event-step" }, event.step),
      h("span", { class: "event-message", "data-testid": "event-message" }, event.message),
      event.error_code ? h("code", { class: "code", "data-testid": "event-error-code" }, event.error_code) : null,
      event.attempt > 1 ? h("span", { class: "muted small" }, `attempt ${event.attempt}`) : null,
    );
    // Events arrive in order; a resumed stream may still fill a gap before later ones.
    const later = [...this.timeline.children].find((li) => Number(li.dataset.sequence) > event.sequence);
    this.timeline.insertBefore(item, later || null);
  }

  render(status) {
    const link = temporalUrl(this.config, status);
    const rows = [
      ["Strategy", h("span", { "data-testid": "run-strategy" }, status.strategy)],
      ["State", stateBadge(status.state, "run-state")],
      ["Step", status.step],
      ["Attempt", h("span", { "data-testid": "run-attempt" }, String(status.attempt))],
      ["Temporal", h("span", { "data-testid": "run-execution-status" }, status.execution_status)],
      ["Network", status.network_ssid || "—"],
      ["Run", h("code", { class: "small", "data-testid": "run-id" }, status.run_id)],
    ];
    replaceChildren(
      this.summary,
      h("p", { class: "run-message", "data-testid": "run-message" },
        status.message,
        status.error_code ? [" ", h("code", { class: "code", "data-testid": "run-error-code" }, status.error_code)] : null),
      status.reasons && status.reasons.length
        ? h("ul", { class: "reasons", "data-testid": "run-reasons" }, status.reasons.map((r) => h("li", {}, r)))
        : null,
      h("dl", { class: "meta" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
      link
        ? h("p", {}, h("a", { href: link, target: "_blank", rel: "noopener", "data-testid": "temporal-link" },
          "Open this run in the Temporal Web UI"))
        : null,
    );
    this.renderPrompt(status);
    this.setButtons(status);
  }

  renderPrompt(status) {
    const awaiting = status.awaiting || [];
    const wantsCredentials = status.state === "PENDING_NETWORK" && awaiting.includes("credentials") && !status.network_ssid;
    this.credentialsForm.hidden = !wantsCredentials;
    if (wantsCredentials) {
      const rejected = status.error_code === "CREDENTIALS_REJECTED";
      this.rejection.hidden = !rejected;
      this.rejection.textContent = rejected ? status.message : "";
      this.credentialsSubmit.disabled = false;
    }
    // A `client-ble` run waits for this browser: its own form, not the device prompt.
    const wantsBrowser = awaiting.includes("client-ble");
    this.bluetooth.show(status);
    const wantsDevice = status.state === "WAITING_FOR_DEVICE" && !wantsBrowser;
    this.devicePrompt.hidden = !wantsDevice;
    if (wantsDevice) {
      replaceChildren(this.devicePrompt,
        h("h3", {}, "Over to you: the device"),
        h("p", { class: "device-message", "data-testid": "device-prompt-message" }, status.message));
    }
  }

  setButtons(status) {
    const state = status ? status.state : null;
    const awaiting = (status && status.awaiting) || [];
    const finished = isTerminal(state);
    this.retryButton.disabled = !status || !(awaiting.includes("retry") || (finished && state !== "SUCCEEDED"));
    this.forgetButton.disabled = !status || !(BEFORE_NETWORK_USE.has(state) && status.network_ssid);
    this.cancelButton.disabled = !status || finished;
  }

  async sendCredentials(event) {
    event.preventDefault();
    replaceChildren(this.credentialsProblem);
    const body = { ssid: this.ssid.value.trim(), passphrase: this.passphrase.value };
    this.credentialsSubmit.disabled = true;
    this.passphrase.value = "";
    try {
      await this.api.post(runPath(this.deviceId, "credentials"), body);
      this.rejection.hidden = true;
      this.credentialsForm.hidden = true;
      this.actionNote.textContent = `Credentials for '${body.ssid}' sent.`;
    } catch (error) {
      replaceChildren(this.credentialsProblem, problemView(error, "credentials-problem-detail"));
      this.credentialsSubmit.disabled = false;
    }
    this.refresh();
  }

  async act(action) {
    replaceChildren(this.actionProblem);
    const buttons = [this.retryButton, this.forgetButton, this.cancelButton];
    buttons.forEach((button) => { button.disabled = true; });
    try {
      const { status } = await this.api.post(runPath(this.deviceId, action));
      this.actionNote.textContent = {
        retry: status === 202 ? "Retry started a new run." : "The run starts over.",
        "forget-credentials": "The run forgot its credentials and will ask again.",
        cancel: "Cancellation requested: the run rolls the device back.",
      }[action];
    } catch (error) {
      replaceChildren(this.actionProblem, problemView(error, "action-problem-detail"));
    }
    await this.refresh();
    if (this.status) this.setButtons(this.status);
  }
}
