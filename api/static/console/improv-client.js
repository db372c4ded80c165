// A small Improv Wi-Fi client over Web Bluetooth (https://www.improv-wifi.com/ble/).
//
// It reads the state, error and RPC result characteristics rather than relying on
// notifications alone: it subscribes where the device allows it, and polls by reading
// all the same, because Chrome's Bluetooth emulation (the browser tests) cannot deliver
// notifications, and a real link may drop one. Nothing here keeps or logs the passphrase.

export const IMPROV_SERVICE = "00467768-6228-2272-4663-277478268000";
const CHARACTERISTICS = {
  state: "00467768-6228-2272-4663-277478268001",
  error: "00467768-6228-2272-4663-277478268002",
  rpcCommand: "00467768-6228-2272-4663-277478268003",
  rpcResult: "00467768-6228-2272-4663-277478268004",
  capabilities: "00467768-6228-2272-4663-277478268005",
};

export const STATE = { AUTHORIZATION_REQUIRED: 1, AUTHORIZED: 2, PROVISIONING: 3, PROVISIONED: 4 };
export const ERROR_NAMES = {
  0: null, 1: "invalid_rpc_packet", 2: "unknown_rpc_command", 3: "unable_to_connect",
  4: "not_authorized", 5: "bad_hostname", 255: "unknown_error",
};
const COMMAND = { WIFI_SETTINGS: 1, IDENTIFY: 2, DEVICE_INFO: 3 };
const CAPABILITY_IDENTIFY = 1;
const CAPABILITY_DEVICE_INFO = 2;
const POLL_MS = 250;
const WRITE_CHUNK = 20; // the payload of a write at the default ATT MTU

export class ImprovError extends Error {
  constructor(message, name = "unknown_error") {
    super(message);
    this.improvError = name;
  }
}

/** `<command><length><data…><checksum>`, data being length-prefixed strings. */
export function encodeCommand(command, strings) {
  const encoder = new TextEncoder();
  const data = [];
  for (const text of strings) {
    const bytes = encoder.encode(text);
    data.push(bytes.length, ...bytes);
  }
  const frame = [command, data.length, ...data];
  frame.push(frame.reduce((sum, byte) => sum + byte, 0) & 0xff);
  return new Uint8Array(frame);
}

/** The strings of an RPC result frame, or null if it is not a complete frame of `command`. */
export function decodeResult(bytes, command) {
  if (bytes.length < 3 || bytes[0] !== command || bytes[1] !== bytes.length - 3) return null;
  const sum = bytes.slice(0, -1).reduce((total, byte) => total + byte, 0) & 0xff;
  if (sum !== bytes[bytes.length - 1]) return null;
  const decoder = new TextDecoder();
  const strings = [];
  let at = 2;
  while (at < bytes.length - 1) {
    const length = bytes[at];
    strings.push(decoder.decode(bytes.slice(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  return strings;
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export class ImprovClient {
  /** @param {BluetoothDevice} device one chosen in the browser's Bluetooth chooser */
  constructor(device, { onChange } = {}) {
    this.device = device;
    this.onChange = onChange || (() => {});
    this.characteristics = {};
    this.state = null;
    this.error = 0;
    this.capabilities = 0;
    this.notifying = false;
  }

  get name() { return this.device.name || ""; }

  get connected() { return Boolean(this.device.gatt && this.device.gatt.connected); }

  async connect() {
    const server = await this.device.gatt.connect();
    const service = await server.getPrimaryService(IMPROV_SERVICE);
    for (const [key, uuid] of Object.entries(CHARACTERISTICS)) {
      this.characteristics[key] = await service.getCharacteristic(uuid);
    }
    this.capabilities = await this.readByte("capabilities");
    await this.refresh();
    this.notifying = await this.subscribe();
  }

  disconnect() {
    if (this.connected) this.device.gatt.disconnect();
  }

  async subscribe() {
    try {
      for (const key of ["state", "error"]) {
        const characteristic = this.characteristics[key];
        // Chrome fires this for every read as well as for notifications: take the value
        // it carries (reading again here would loop).
        characteristic.addEventListener("characteristicvaluechanged", (event) => this.take(key, event.target.value));
        await characteristic.startNotifications();
      }
      return true;
    } catch {
      return false; // reading alone tells the same, a little later
    }
  }

  async readBytes(key) {
    const view = await this.characteristics[key].readValue();
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  }

  async readByte(key) {
    const bytes = await this.readBytes(key);
    return bytes.length ? bytes[0] : 0;
  }

  take(key, view) {
    const value = view && view.byteLength ? view.getUint8(0) : 0;
    if (this[key] === value) return;
    this[key] = value;
    this.onChange(this);
  }

  async refresh() {
    const state = await this.readByte("state");
    const error = await this.readByte("error");
    if (state !== this.state || error !== this.error) {
      this.state = state;
      this.error = error;
      this.onChange(this);
    }
    return state;
  }

  get canIdentify() { return Boolean(this.capabilities & CAPABILITY_IDENTIFY); }

  get errorName() { return ERROR_NAMES[this.error] || (this.error ? "unknown_error" : null); }

  async send(command, strings = []) {
    const frame = encodeCommand(command, strings);
    const characteristic = this.characteristics.rpcCommand;
    for (let at = 0; at < frame.length; at += WRITE_CHUNK) {
      const chunk = frame.slice(at, at + WRITE_CHUNK);
      if (characteristic.writeValueWithResponse) await characteristic.writeValueWithResponse(chunk);
      else await characteristic.writeValue(chunk);
    }
  }

  /** Make the device blink or beep, where it can. */
  async identify() {
    if (!this.canIdentify) return false;
    await this.send(COMMAND.IDENTIFY);
    return true;
  }

  /** What the device says of itself (firmware, version, chip, name), where it can. */
  async deviceInfo() {
    if (!(this.capabilities & CAPABILITY_DEVICE_INFO)) return null;
    await this.send(COMMAND.DEVICE_INFO);
    for (let tries = 0; tries < 8; tries += 1) {
      const strings = decodeResult(await this.readBytes("rpcResult"), COMMAND.DEVICE_INFO);
      if (strings) return { firmware: strings[0], version: strings[1], chip: strings[2], name: strings[3] };
      await sleep(POLL_MS);
    }
    return null;
  }

  /** Wait until the device is authorized (a person pressed its button). */
  async waitForAuthorization(timeoutMs, signal) {
    const deadline = Date.now() + timeoutMs;
    while ((await this.refresh()) === STATE.AUTHORIZATION_REQUIRED) {
      if (signal && signal.aborted) throw new ImprovError("stopped", "aborted");
      if (Date.now() > deadline) throw new ImprovError("nobody pressed the device's button in time", "not_authorized");
      await sleep(POLL_MS);
    }
  }

  /** Give the device Wi-Fi credentials; resolves with its redirect URL (or null) once it
   * is provisioned, rejects with an ImprovError when it reports one. */
  async provision(ssid, passphrase, timeoutMs) {
    const before = this.error;
    await this.send(COMMAND.WIFI_SETTINGS, [ssid, passphrase]);
    const deadline = Date.now() + timeoutMs;
    // An error left from an earlier try may show for a moment before the device
    // takes the new credentials.
    const staleUntil = Date.now() + 1000;
    let sawProvisioning = false;
    for (;;) {
      const state = await this.refresh();
      if (state === STATE.PROVISIONED) {
        const strings = decodeResult(await this.readBytes("rpcResult"), COMMAND.WIFI_SETTINGS);
        return strings && strings.length ? strings[0] : null;
      }
      if (state === STATE.PROVISIONING) {
        sawProvisioning = true;
      } else if (this.error && (sawProvisioning || this.error !== before || Date.now() > staleUntil)) {
        // A failed join returns the device to "authorized" with the error set.
        throw new ImprovError(`the device reports ${this.errorName}`, this.errorName);
      }
      if (Date.now() > deadline) throw new ImprovError("the device did not say whether it joined in time", "unknown_error");
      await sleep(POLL_MS);
    }
  }
}
