// Webhooks: the tenant's subscriptions — create one (its secret shown once), disable or
// enable it, rotate its secret (the new one shown once; the old one signs too for the
// grace period), read its delivery log and redeliver an event, delete it.

import { problemView } from "./api.js";
import { dateTime, h, replaceChildren } from "./dom.js";

const WEBHOOKS = "/webhooks";
const EVENT_TYPES = ["run.succeeded", "run.failed", "run.state_changed", "fleet.finished", "device.decommissioned"];

function enabledBadge(enabled) {
  return h("span", { class: `badge ${enabled ? "ok" : "undone"}` }, enabled ? "enabled" : "disabled");
}

function deliveryBadge(status) {
  const tone = status === "delivered" ? "ok" : status === "dead" ? "bad" : "wait";
  return h("span", { class: `badge ${tone}` }, status);
}

/** `#/webhooks`: where this key's tenant's events go. */
export class WebhooksView {
  constructor(api) {
    this.api = api;
    this.problem = h("div", {});
    this.secret = h("div", { "aria-live": "polite" });
    this.body = h("tbody", {});
    this.status = h("p", { class: "muted small", role: "status", "data-testid": "webhooks-status" });
    this.deliveries = h("div", { "data-testid": "webhook-deliveries" });
    this.url = h("input", {
      id: "webhook-url", name: "url", type: "url", required: true, autocomplete: "off", spellcheck: "false",
      placeholder: "https://backend.example/devprov", "data-testid": "webhook-url",
    });
    this.description = h("input", { id: "webhook-description", name: "description", maxlength: "256", autocomplete: "off", "data-testid": "webhook-description" });
    this.events = EVENT_TYPES.map((type) => h("input", {
      type: "checkbox", name: "events", value: type, checked: type === "run.succeeded" || type === "run.failed",
      "data-testid": `webhook-event-${type}`,
    }));
    this.element = h("div", { "data-testid": "webhooks-view" },
      h("h2", {}, "Webhooks"),
      h("p", { class: "muted small" }, "Where this tenant's run events are sent, signed per Standard Webhooks (docs/integrating-a-backend.md)."),
      this.problem,
      this.secret,
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Webhooks" },
        h("table", { class: "runs", "data-testid": "webhooks-table" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Webhook"), h("th", { scope: "col" }, "URL"), h("th", { scope: "col" }, "Events"),
            h("th", { scope: "col" }, "Enabled"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
          this.body)),
      this.status,
      this.deliveries,
      h("h3", {}, "New webhook"),
      h("form", { "data-testid": "webhook-form", onsubmit: (event) => { event.preventDefault(); this.create(); } },
        h("div", { class: "form-grid" },
          h("div", { class: "field" }, h("label", { for: "webhook-url" }, "Receiver URL"), this.url),
          h("div", { class: "field" }, h("label", { for: "webhook-description" }, "Description"), this.description)),
        h("fieldset", {}, h("legend", {}, "Events"),
          this.events.map((box) => h("label", { class: "check" }, box, ` ${box.value} `))),
        h("div", { class: "buttons" }, h("button", { type: "submit", "data-testid": "webhook-form-submit" }, "Add the webhook"))),
    );
  }

  mount() { this.refresh(); }

  refresh() { this.load(); }

  report(error) {
    replaceChildren(this.problem, problemView(error, "webhooks-problem"));
  }

  /** The secret the API just showed, with the warning that it is not shown again. */
  showSecret(secret, note) {
    replaceChildren(this.secret, h("div", { class: "notice", role: "status", "data-testid": "webhook-secret-notice" },
      h("p", {}, "Keep this signing secret now: it is never shown again."),
      h("p", {}, h("code", { "data-testid": "webhook-secret" }, secret)),
      note ? h("p", { class: "muted small" }, note) : null));
  }

  async load() {
    try {
      const { data } = await this.api.get(WEBHOOKS);
      replaceChildren(this.body, data.items.map((item) => this.row(item)));
      this.status.textContent = data.items.length ? `${data.items.length} webhook(s)` : "None yet.";
    } catch (error) {
      this.status.textContent = `Could not list them: ${error.message}`;
    }
  }

  row(item) {
    const path = `${WEBHOOKS}/${encodeURIComponent(item.id)}`;
    const act = (label, testid, action) => h("button", {
      type: "button", class: "secondary", "aria-label": `${label} ${item.id}`, "data-testid": testid,
      onclick: async () => {
        replaceChildren(this.problem);
        try {
          await action();
        } catch (error) {
          this.report(error);
        }
      },
    }, label);
    const toggle = h("input", {
      type: "checkbox", checked: item.enabled, "aria-label": `${item.id} enabled`, "data-testid": "webhook-enabled",
      onchange: async () => {
        toggle.disabled = true;
        replaceChildren(this.problem);
        try {
          await this.api.request("PATCH", path, { enabled: toggle.checked });
          this.load();
        } catch (error) {
          toggle.checked = !toggle.checked;
          this.report(error);
        } finally {
          toggle.disabled = false;
        }
      },
    });
    const grace = item.previous_secret_expires_at
      ? h("div", { class: "muted small" }, `old secret signs too until ${dateTime(item.previous_secret_expires_at)}`)
      : null;
    return h("tr", { "data-testid": "webhook-row", "data-id": item.id },
      h("td", {}, h("code", {}, item.id), item.description ? h("div", { class: "muted small" }, item.description) : null),
      h("td", { class: "small" }, item.url, grace),
      h("td", { class: "small" }, item.events.join(", ")),
      h("td", {}, h("label", { class: "check" }, toggle, " ", enabledBadge(item.enabled))),
      h("td", {}, h("div", { class: "row-actions" },
        act("Deliveries", "webhook-show-deliveries", () => this.showDeliveries(item.id)),
        act("Rotate secret", "webhook-rotate", async () => {
          const { data } = await this.api.post(`${path}/rotate-secret`);
          const until = data.previous_secret_expires_at;
          this.showSecret(data.secret, until ? `The old secret signs too until ${dateTime(until)}.` : "The old secret signs no more.");
          this.load();
        }),
        act("Delete", "webhook-delete", async () => {
          await this.api.request("DELETE", path);
          replaceChildren(this.deliveries);
          this.load();
        }))));
  }

  async showDeliveries(webhookId) {
    const path = `${WEBHOOKS}/${encodeURIComponent(webhookId)}/deliveries`;
    const { data } = await this.api.get(`${path}?limit=50`);
    const rows = data.items.map((delivery) => h("tr", { "data-testid": "delivery-row", "data-id": delivery.event_id },
      h("td", {}, h("code", {}, delivery.event_id)),
      h("td", { class: "small" }, delivery.type),
      h("td", {}, deliveryBadge(delivery.status)),
      h("td", { class: "small" }, String(delivery.attempts)),
      h("td", { class: "small" }, String(delivery.last_status_code || delivery.last_error || "")),
      h("td", { class: "muted small" }, dateTime(delivery.created_at)),
      h("td", {}, delivery.status === "pending" ? null : h("button", {
        type: "button", class: "secondary", "aria-label": `Redeliver ${delivery.event_id}`, "data-testid": "delivery-redeliver",
        onclick: async () => {
          try {
            await this.api.post(`${path}/${encodeURIComponent(delivery.event_id)}/redeliver`);
            this.showDeliveries(webhookId);
          } catch (error) {
            this.report(error);
          }
        },
      }, "Redeliver"))));
    replaceChildren(this.deliveries,
      h("h3", {}, "Deliveries of ", h("code", {}, webhookId)),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `Deliveries of ${webhookId}` },
        h("table", { class: "runs", "data-testid": "deliveries-table" },
          h("thead", {}, h("tr", {},
            ["Event", "Type", "Status", "Tries", "Last answer", "Written"].map((title) => h("th", { scope: "col" }, title)),
            h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
          h("tbody", {}, rows))),
      h("p", { class: "muted small", role: "status", "data-testid": "deliveries-status" },
        rows.length ? `${rows.length} deliveries, newest first` : "No event sent yet."));
  }

  async create() {
    replaceChildren(this.problem);
    const events = this.events.filter((box) => box.checked).map((box) => box.value);
    const body = { url: this.url.value.trim(), events };
    const description = this.description.value.trim();
    if (description) body.description = description;
    try {
      const { data } = await this.api.post(WEBHOOKS, body);
      this.url.value = "";
      this.description.value = "";
      this.showSecret(data.secret, `Verify the signatures of ${data.id}'s requests with it.`);
      this.load();
    } catch (error) {
      this.report(error);
    }
  }
}
