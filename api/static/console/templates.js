// Device descriptions to start from: the simulated devices of `make run` (examples/requests).

export const TEMPLATES = [
  {
    name: "Wi-Fi relay (Shelly, HTTP RPC)",
    device_id: "shelly-plus1-kitchen",
    device: {
      type: "wifi-relay", vendor: "shelly", model: "SNSW-001X16EU",
      capabilities: ["wifi", "http-rpc"], site: "local",
    },
    ssid: "devprov-lab",
  },
  {
    name: "Wi-Fi relay, credentials asked later",
    device_id: "shelly-pro4-lab",
    device: { type: "wifi-relay", vendor: "shelly", capabilities: ["wifi", "http-rpc"], site: "local" },
    ssid: "",
  },
  {
    name: "Improv bulb over BLE (press the button)",
    device_id: "improv-bulb-porch",
    device: { type: "wifi-light", vendor: "esphome", capabilities: ["ble", "improv", "wifi"], site: "local" },
    ssid: "devprov-lab",
  },
  {
    name: "Zigbee plug with an install code",
    device_id: "zb-plug-office",
    device: {
      type: "smart-plug", vendor: "sonoff", model: "S26R2ZB", capabilities: ["zigbee"], site: "local",
      transport_hints: { ieee: "00:12:4b:00:25:1c:2d:02" },
    },
    secrets: { install_code: "0EA9 9D36 970B 5E49 0604 9D21 5FB5 CB82 A5F3" },
  },
  {
    name: "Hub registered with its vendor cloud",
    device_id: "acme-hub-lobby",
    device: {
      type: "wifi-hub", vendor: "acme", model: "ACME-HUB-2",
      capabilities: ["wifi", "http-rpc", "vendor-cloud"], site: "local",
    },
    ssid: "devprov-lab",
  },
  {
    name: "Wi-Fi relay registered with AWS IoT Core",
    device_id: "shelly-plus1-aws-hall",
    device: {
      type: "wifi-relay", vendor: "shelly", model: "SNSW-001X16EU",
      capabilities: ["wifi", "http-rpc", "aws-iot"], site: "local",
    },
    ssid: "devprov-lab",
  },
];
