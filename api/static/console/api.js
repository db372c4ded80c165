// The console's only way to the API: fetch with the key, problem+json made readable.

import { h } from "./dom.js";

export const API_PREFIX = "/api/v1";
const KEY_STORAGE = "devprov.apiKey";

/** An answer of the API that is not a success, carrying its problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  get code() {
    return this.problem.code || null;
  }
}

export class Api {
  /** @param {{auth_required: boolean}} config what `/console/config.json` said */
  constructor(config) {
    this.config = config;
    this.unauthenticatedHandlers = [];
  }

  get key() {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  }

  set key(value) {
    if (value) sessionStorage.setItem(KEY_STORAGE, value);
    else sessionStorage.removeItem(KEY_STORAGE);
  }

  /** True when calls can be made: no key needed, or one is set. */
  get ready() {
    return !this.config.auth_required || Boolean(this.key);
  }

  onUnauthenticated(handler) {
    this.unauthenticatedHandlers.push(handler);
  }

  /** `body` is sent as JSON, or as it is when its `contentType` is given (a CSV file). */
  async request(method, path, body, contentType) {
    const headers = { Accept: "application/json, application/problem+json" };
    if (this.config.auth_required && this.key) headers.Authorization = `Bearer ${this.key}`;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = contentType || "application/json";
      init.body = contentType ? body : JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(API_PREFIX + path, init);
    } catch (error) {
      throw new ApiError(0, { title: "The API cannot be reached", detail: String(error.message || error) });
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const problem = data && typeof data === "object" ? data : { title: response.statusText, detail: text };
      if (response.status === 401) this.unauthenticatedHandlers.forEach((handler) => handler());
      throw new ApiError(response.status, problem);
    }
    return { status: response.status, data };
  }

  get(path) {
    return this.request("GET", path);
  }

  post(path, body, contentType) {
    return this.request("POST", path, body, contentType);
  }

  /**
   * URL of a run's event stream. EventSource cannot send headers and the key must never
   * be in a URL: the URL carries a stream ticket instead, valid for this run's streams
   * for a minute (asked for with the key in the header).
   */
  async eventsUrl(deviceId, lastEventId = 0) {
    const params = new URLSearchParams();
    if (this.config.auth_required) {
      const { data } = await this.post(runPath(deviceId, "stream-ticket"));
      params.set("ticket", data.ticket);
    }
    if (lastEventId) params.set("last_event_id", String(lastEventId));
    const query = params.toString();
    return `${API_PREFIX}/devices/${encodeURIComponent(deviceId)}/provision/events${query ? `?${query}` : ""}`;
  }
}

export function runPath(deviceId, action = "") {
  const base = `/devices/${encodeURIComponent(deviceId)}/provision`;
  return action ? `${base}/${action}` : base;
}

/** A problem as the person should read it: detail, invalid fields, strategies' reasons. */
export function problemView(error, testid) {
  const problem = error instanceof ApiError ? error.problem : { detail: String(error.message || error) };
  const items = [];
  for (const field of problem.errors || []) {
    items.push(`${(field.loc || []).join(".")}: ${field.msg}`);
  }
  for (const rejection of problem.reasons || []) {
    if (typeof rejection === "string") items.push(rejection);
    else items.push(`${rejection.strategy}: ${(rejection.reasons || []).join("; ")}`);
  }
  const code = problem.code ? h("code", { class: "code" }, problem.code) : null;
  return h(
    "div",
    { class: "problem", role: "alert", "data-testid": testid },
    h("p", {}, code, code ? " " : null, problem.detail || problem.title || "Something went wrong"),
    items.length ? h("ul", {}, items.map((item) => h("li", {}, item))) : null,
  );
}
