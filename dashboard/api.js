/**
 * A client for the monitoring-api function, sending what supabase-js's
 * `functions.invoke` sends: `Authorization: Bearer <key>` and `apikey`, JSON
 * bodies. The key is the service role key, a secret key, or a signed-in admin's
 * access token (a JWT whose app_metadata.role is "admin").
 */
export class MonitoringApi {
  /**
   * @param {string} baseUrl e.g. `https://<ref>.supabase.co/functions/v1/monitoring-api`
   * @param {string} key
   */
  constructor(baseUrl, key) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.key = key;
  }

  /**
   * Calls one route and returns its JSON; throws an Error carrying the API's
   * error message (and `status`) on any non-2xx answer.
   * @param {string} path
   * @param {{ method?: string, body?: unknown, query?: Record<string, string | number | undefined> }} [options]
   */
  async invoke(path, options = {}) {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== "") url.searchParams.set(name, String(value));
    }
    const headers = { authorization: `Bearer ${this.key}` };
    // A secret key (sb_secret_...) travels in apikey; a JWT or legacy key as Bearer.
    if (this.key.startsWith("sb_secret_")) headers.apikey = this.key;
    let body;
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const response = await fetch(url, { method: options.method ?? "GET", headers, body });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = new Error(data?.error?.message ?? `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }
}
