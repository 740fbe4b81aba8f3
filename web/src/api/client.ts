// Typed calls to the LoanDesk API. Every type comes from api/openapi.yaml
// (generated into schema.d.ts by `npm run gen`), so the SPA cannot drift
// from the contract without failing to compile.
import type { components, operations } from "./schema";

export type Schemas = components["schemas"];
export type Application = Schemas["Application"];
export type Receipt = Schemas["Receipt"];
export type LoanRequest = Schemas["LoanRequest"];
export type AuditEvent = Schemas["AuditEvent"];
export type Session = Schemas["Session"];
export type SecurityEvent = Schemas["SecurityEvent"];
export type Enrolment = operations["startEnrolment"]["responses"][200]["content"]["application/json"];
export type Erased = operations["eraseApplicant"]["responses"][200]["content"]["application/json"];
export type AuditPage = operations["audit"]["responses"][200]["content"]["application/json"];
export type Status = Schemas["Status"];
export type Gender = Schemas["Gender"];
export type Problem = Schemas["Problem"];
export type Stats = operations["stats"]["responses"][200]["content"]["application/json"];
export type Activity = operations["activity"]["responses"][200]["content"]["application/json"];
export type ListPage = operations["listRequests"]["responses"][200]["content"]["application/json"];
export type RequestDetail = { request: LoanRequest; events: AuditEvent[] };

/** An answer that was not 2xx, with the server's problem document. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;
  /** The server's Retry-After, in milliseconds, if it sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(status: number, problem?: Problem, retryAfterMs?: number) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfterMs = retryAfterMs;
  }
  /** No answer, or an answer that says "not now": the same call may be sent again. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
  get fieldErrors(): Record<string, string> {
    return this.problem?.errors ?? {};
  }
}

let csrfToken = "";

/** Remembers the session's CSRF token for state-changing admin calls. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, again = false): Promise<T> {
  const h: Record<string, string> = { Accept: "application/json", ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (method !== "GET" && path.startsWith("/api/v1/admin/") && csrfToken) h["X-CSRF-Token"] = csrfToken;
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers: h,
      credentials: "same-origin",
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0);
  }
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  // A password changed in another tab gave this browser a new session and
  // CSRF token: read the session's token and send this once more (the 403
  // came before the server did anything). Only when the token is new: a
  // request the server refuses for another reason is refused again.
  const problem = data as Problem | undefined;
  if (resp.status === 403 && !again && method !== "GET" && path.startsWith("/api/v1/admin/") && problem?.code === "forbidden") {
    const s = await call<Session>("GET", "/api/v1/admin/session").catch(() => null);
    if (s && s.csrf_token !== csrfToken) {
      csrfToken = s.csrf_token;
      return call<T>(method, path, body, headers, true);
    }
  }
  if (!resp.ok) {
    const seconds = Number(resp.headers.get("Retry-After"));
    throw new ApiError(resp.status, data as Problem | undefined, seconds > 0 ? seconds * 1000 : undefined);
  }
  return data as T;
}

export const api = {
  submit: (a: Application, idempotencyKey: string) =>
    call<Receipt>("POST", "/api/v1/requests", a, { "Idempotency-Key": idempotencyKey }),
  track: (code: string) => call<Receipt>("GET", `/api/v1/requests/${encodeURIComponent(code)}`),
  login: (email: string, password: string) => call<Session>("POST", "/api/v1/admin/session", { email, password }),
  session: () => call<Session>("GET", "/api/v1/admin/session"),
  verifyMfa: (code: string) => call<Session>("POST", "/api/v1/admin/mfa/verify", { code }),
  startEnrolment: () => call<Enrolment>("POST", "/api/v1/admin/mfa/enrolment"),
  confirmEnrolment: (code: string) => call<Session>("POST", "/api/v1/admin/mfa/enrolment/confirm", { code }),
  logout: () => call<void>("DELETE", "/api/v1/admin/session"),
  changePassword: (current_password: string, new_password: string) =>
    call<Session>("POST", "/api/v1/admin/password", { current_password, new_password }),
  list: (q: URLSearchParams) => call<ListPage>("GET", `/api/v1/admin/requests?${q.toString()}`),
  detail: (id: number) => call<RequestDetail>("GET", `/api/v1/admin/requests/${id}`),
  changeStatus: (id: number, status: Status, comment: string) =>
    call<LoanRequest>("POST", `/api/v1/admin/requests/${id}/status`, { status, comment }),
  remove: (id: number) => call<LoanRequest>("DELETE", `/api/v1/admin/requests/${id}`),
  restore: (id: number) => call<LoanRequest>("POST", `/api/v1/admin/requests/${id}/restore`),
  erase: (id: number, document_number: string) =>
    call<Erased>("POST", `/api/v1/admin/requests/${id}/erase`, { document_number }),
  stats: () => call<Stats>("GET", "/api/v1/admin/stats"),
  activity: () => call<Activity>("GET", "/api/v1/admin/activity"),
  audit: (q: URLSearchParams) => call<AuditPage>("GET", `/api/v1/admin/audit?${q.toString()}`),
};
