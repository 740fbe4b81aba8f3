import type { MessageKey } from "../i18n";
import { ApiError } from "./client";

/**
 * What to tell people when a call fails, the same on every page: no answer,
 * too many requests, the server's fault. A page gives its own words to the
 * statuses that mean something there (a wrong password, an unknown code).
 */
export function failureKey(err: unknown, own: Partial<Record<number, MessageKey>> = {}): MessageKey {
  const status = err instanceof ApiError ? err.status : 0;
  return own[status] ?? (status === 0 ? "err.network" : status === 429 ? "err.ratelimit" : "err.server");
}
