// A fake LoanDesk API for component tests: routes "METHOD /path" to handlers
// and records every call.
import { vi } from "vitest";

type Handler = (body: unknown, url: URL) => { status?: number; body?: unknown; headers?: Record<string, string> };
export type Call = { method: string; path: string; body: unknown };

export function fakeApi(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new URL(String(input), "http://localhost");
    const method = init?.method ?? "GET";
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined;
    calls.push({ method, path: url.pathname, body });
    const h = routes[`${method} ${url.pathname}`];
    if (!h) return new Response(JSON.stringify({ type: "x", title: "Not Found", status: 404, code: "not_found" }), { status: 404, headers: { "Content-Type": "application/problem+json" } });
    const r = h(body, url);
    const status = r.status ?? 200;
    if (status === 204) return new Response(null, { status });
    return new Response(JSON.stringify(r.body ?? {}), { status, headers: { "Content-Type": status < 300 ? "application/json" : "application/problem+json", ...r.headers } });
  });
  return { calls, spy };
}

export const problem = (status: number, code: string, detail = code) => ({ status, body: { type: `urn:loandesk:problem:${code}`, title: code, status, code, detail } });
