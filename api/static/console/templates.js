// Requests to start from: the example requests each strategy's device family declares
// in its descriptor, as `GET /strategies` serves them. A family installed as a plugin
// brings its own; nothing here names a family.

/** One form template from a strategy and one of its family's example requests. */
export function templateOf(strategy, example) {
  const body = example.body || {};
  const { device_id: deviceId = "", ...device } = body.device || {};
  return {
    name: `${example.title} (${strategy.name})`,
    strategy: strategy.name,
    schema: strategy.request_schema || {},
    device_id: deviceId,
    device,
    ssid: body.network ? body.network.ssid || "" : "",
    secrets: body.secrets || {},
  };
}

/** The templates of every enabled strategy, in the API's order (its selection order). */
export async function loadTemplates(api) {
  const { data } = await api.get("/strategies");
  return data
    .filter((strategy) => strategy.enabled)
    .flatMap((strategy) => (strategy.examples || []).map((example) => templateOf(strategy, example)));
}
