import { ApiError } from "./client";

/** How a filing is retried; tests shorten the waits. */
export const retryPolicy = { attempts: 5, baseMs: 1000, maxMs: 8000 };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls fn until it succeeds, fails for good, or runs out of attempts. Only
 * failures that say "not now" are retried (no answer, 502, 503, 504): the
 * caller must make fn safe to repeat, as a filing is with its Idempotency-Key.
 * Waits grow exponentially with jitter, or follow the server's Retry-After.
 */
export async function withRetries<T>(fn: () => Promise<T>, onRetry: (attempt: number, of: number) => void): Promise<T> {
  const { attempts, baseMs, maxMs } = retryPolicy;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApiError) || !err.retryable || attempt >= attempts) throw err;
      const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
      const wait = err.retryAfterMs ?? ceiling / 2 + Math.random() * (ceiling / 2);
      onRetry(attempt + 1, attempts);
      await sleep(Math.min(wait, maxMs));
    }
  }
}
