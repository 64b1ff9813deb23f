// The End-User API client of the page: bearer token from localStorage, errors in the API's own words.

export const BASE = "/enduser-mobile-web/1/enduserAPI";
const TOKEN_KEY = "hearth.token";

/** A refusal of the gateway: its HTTP status, the API's errorCode and its message. */
export class ApiFailure extends Error {
  constructor(status, errorCode, message) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }

  /** A route that this gateway does not have (yet): the page says so instead of failing. */
  get notAvailable() {
    return this.status === 404 && this.errorCode === "UNKNOWN_OBJECT" && this.message === "Unknown object";
  }
}

/** An error of any kind, in words a person can act on. */
export function describe(error) {
  if (error instanceof ApiFailure) {
    if (error.notAvailable) return "Not available on this gateway.";
    return `${error.message} (${error.errorCode || error.status})`;
  }
  if (error instanceof TypeError) return "The gateway does not answer (network error).";
  return String(error && error.message ? error.message : error);
}

export class Api {
  constructor() {
    this.token = localStorage.getItem(TOKEN_KEY) || "";
    this.gatewayId = "";
    /** Called with the reason when the gateway refuses the token (401): the page shows the login again. */
    this.onUnauthorized = () => {};
  }

  get loggedIn() {
    return Boolean(this.token);
  }

  remember(token) {
    this.token = token;
    localStorage.setItem(TOKEN_KEY, token);
  }

  forget() {
    this.token = "";
    this.gatewayId = "";
    localStorage.removeItem(TOKEN_KEY);
  }

  /**
   * One request under the base path. `body` is sent as JSON unless `raw` is given (bytes, with their type).
   * Answers the parsed JSON, or null for an empty answer, or with `whole` the Response itself (a download).
   */
  async request(method, path, {body, raw, contentType, headers: extra = {}, whole = false} = {}) {
    const headers = {...extra, Authorization: `Bearer ${this.token}`};
    let payload;
    if (raw !== undefined) {
      payload = raw;
      headers["Content-Type"] = contentType || "application/octet-stream";
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    const response = await fetch(BASE + path, {method, headers, body: payload, cache: "no-store"});
    if (!response.ok) throw await this.failure(response);
    if (whole) return response;
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  async failure(response) {
    let errorCode = "", message = `HTTP ${response.status}`;
    try {
      const data = await response.json();
      errorCode = data.errorCode || "";
      message = data.error || message;
    } catch {
      // Not the API's JSON (a proxy's page): the status says enough.
    }
    const failure = new ApiFailure(response.status, errorCode, message);
    if (response.status === 401) this.onUnauthorized(message);
    return failure;
  }

  get(path) { return this.request("GET", path); }
  post(path, body) { return this.request("POST", path, {body}); }
  put(path, body) { return this.request("PUT", path, {body}); }
  delete(path) { return this.request("DELETE", path); }

  /** Check the token and learn the gateway's id (the configuration routes name it). */
  async connect() {
    const [gateway] = await this.get("/setup/gateways");
    this.gatewayId = gateway.gatewayId;
    return gateway;
  }

  /** Run commands on one device now; answers the execution id. */
  async run(deviceURL, label, commands) {
    const result = await this.post("/exec/apply", {label, actions: [{deviceURL, commands}]});
    return result.execId;
  }
}
