/** How a receiver answers one request. */
export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Hold the answer this long (to outlast the sender's timeout). */
  stallMs?: number;
}

/** One request as the receiver saw it. */
export interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The raw body, byte for byte (signatures are checked against it). */
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
  at: Date;
  /** The answer given (stalled answers included). */
  answer: Answer;
}

/** A real HTTP server on loopback that answers from a script and records everything. */
export interface Receiver {
  url: string;
  requests: Received[];
  /** Answers for the next requests, in order; then `otherwise` applies. */
  script(...answers: Answer[]): void;
  /** The answer once the script is used up. */
  otherwise: Answer;
  close(): Promise<void>;
}

/**
 * Starts a receiver on 127.0.0.1 (a free port). Stalled answers end early when
 * the receiver closes, so tests never leak timers.
 */
export function startReceiver(otherwise: Answer = { status: 200, body: "ok" }): Receiver {
  const queue: Answer[] = [];
  const closing = new AbortController();
  const requests: Received[] = [];
  const receiver: Receiver = {
    url: "",
    requests,
    script: (...answers) => void queue.push(...answers),
    otherwise,
    close: async () => {
      closing.abort();
      await server.shutdown();
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const text = await request.text();
      const answer = queue.shift() ?? receiver.otherwise;
      let json: unknown = undefined;
      try {
        json = JSON.parse(text);
      } catch { /* not JSON */ }
      requests.push({
        method: request.method,
        path: new URL(request.url).pathname,
        headers: Object.fromEntries(request.headers),
        text,
        json,
        at: new Date(),
        answer,
      });
      if (answer.stallMs) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, answer.stallMs);
          const stop = () => {
            clearTimeout(timer);
            resolve();
          };
          closing.signal.addEventListener("abort", stop, { once: true });
        });
      }
      return new Response(answer.body ?? null, { status: answer.status, headers: answer.headers });
    },
  );
  receiver.url = `http://127.0.0.1:${server.addr.port}`;
  return receiver;
}
