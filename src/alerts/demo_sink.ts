import type { ChannelName } from "./alert_config.ts";

/** One request the sink received. */
export interface SinkRequest {
  channel: ChannelName;
  at: Date;
  headers: Record<string, string>;
  body: unknown;
}

/** A local stand-in for Slack, PagerDuty, a webhook receiver and a mail API. */
export interface AlertSink {
  url: string;
  /** The env that points every channel at this sink. */
  env: Record<string, string>;
  received: SinkRequest[];
  /** One readable line per request, by channel. */
  describe(): string[];
  close(): Promise<void>;
}

const PATHS: Record<string, ChannelName> = {
  "/slack": "slack",
  "/pagerduty/v2/enqueue": "pagerduty",
  "/webhook": "webhook",
  "/email": "email",
};

function describeRequest(request: SinkRequest): string {
  // The sink records what arrived; these reads only format it for a person.
  const body = request.body as {
    text?: string;
    event_action?: string;
    dedup_key?: string;
    payload?: { severity: string; summary: string };
    type?: string;
    data?: { count: number };
    to?: string[];
    subject?: string;
  };
  switch (request.channel) {
    case "slack":
      return `slack      ${body.text}`;
    case "pagerduty":
      return `pagerduty  ${body.event_action} ${body.dedup_key}${
        body.payload ? ` [${body.payload.severity}] ${body.payload.summary}` : ""
      }`;
    case "webhook":
      return `webhook    ${body.type} ${body.data?.count} alert(s) id=${
        request.headers["webhook-id"]
      }`;
    case "email":
      return `email      to ${body.to?.join(", ")}: ${body.subject}`;
  }
}

/**
 * Starts an HTTP sink on loopback that answers each channel as the real service
 * does (Slack 200 `ok`, PagerDuty 202, webhook 204, mail API 200) and records
 * every request. The demo points the channels at it through `sink.env` and
 * prints `sink.describe()`.
 *
 * @example
 * ```ts
 * const sink = await startAlertSink();
 * const app = createAppContext({ env: { ...Deno.env.toObject(), ...sink.env } });
 * // ... run cycles ...
 * for (const line of sink.describe()) console.log(line);
 * await sink.close();
 * ```
 */
export function startAlertSink(options: { port?: number } = {}): Promise<AlertSink> {
  const received: SinkRequest[] = [];
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: options.port ?? 0,
      onListen: () => {},
    }, async (request) => {
      const channel = PATHS[new URL(request.url).pathname];
      if (!channel || request.method !== "POST") return new Response("not found", { status: 404 });
      const text = await request.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch { /* recorded as text */ }
      received.push({
        channel,
        at: new Date(),
        headers: Object.fromEntries(request.headers),
        body,
      });
      if (channel === "slack") return new Response("ok");
      if (channel === "pagerduty") {
        return Response.json({ status: "success", message: "Event processed" }, { status: 202 });
      }
      if (channel === "webhook") return new Response(null, { status: 204 });
      return Response.json({ id: crypto.randomUUID() });
    });
    const url = `http://127.0.0.1:${server.addr.port}`;
    resolve({
      url,
      env: {
        SLACK_WEBHOOK_URL: `${url}/slack`,
        PAGERDUTY_ROUTING_KEY: "demo-routing-key",
        PAGERDUTY_EVENTS_URL: `${url}/pagerduty/v2/enqueue`,
        ALERT_WEBHOOK_URL: `${url}/webhook`,
        ALERT_WEBHOOK_SECRET: `whsec_${btoa("demo-webhook-secret-0123456789ab")}`,
        EMAIL_API_URL: `${url}/email`,
        EMAIL_API_KEY: "demo-email-key",
        EMAIL_TO: "oncall@example.com",
      },
      received,
      describe: () => received.map(describeRequest),
      close: () => server.shutdown(),
    });
  });
}
