import { errorMessage } from "../../log/logger.ts";
import type { SendResult } from "./notification.ts";

/**
 * Parses a Retry-After header (delta seconds or an HTTP date) into milliseconds.
 * Returns undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Classifies an HTTP answer the way every channel needs: 2xx delivered; 408,
 * 429 and 5xx worth retrying (429 carrying its Retry-After); any other 4xx
 * permanent, because sending the same request again cannot succeed.
 */
export function classifyResponse(response: Response, body: string): SendResult {
  const status = response.status;
  if (status >= 200 && status < 300) return { ok: true, status };
  const error = `HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ""}`;
  if (status === 429) {
    return {
      ok: false,
      retryable: true,
      status,
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
      error,
    };
  }
  return { ok: false, retryable: status === 408 || status >= 500, status, error };
}

/**
 * POSTs a body and classifies the answer. Network errors and the caller's
 * timeout (through `signal`) are retryable failures, never exceptions.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<SendResult> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      signal,
    });
    const text = await response.text();
    return classifyResponse(response, text);
  } catch (error) {
    const message = signal.aborted ? errorMessage(signal.reason) : errorMessage(error);
    return { ok: false, retryable: true, error: message };
  }
}
