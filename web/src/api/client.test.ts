import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, problem } from "../test-api";
import { ApiError, api, setCsrfToken } from "./client";

afterEach(() => {
  vi.restoreAllMocks();
  setCsrfToken("");
});

/** The CSRF header each call carried, in order. */
const tokens = (spy: ReturnType<typeof fakeApi>["spy"]) =>
  spy.mock.calls.map(([input, init]) => `${init?.method ?? "GET"} ${new URL(String(input), "http://x").pathname} ${(init?.headers as Record<string, string>)["X-CSRF-Token"] ?? "-"}`);

describe("CSRF token", () => {
  it("after a password change in another tab, reads the new token once and sends the change again", async () => {
    const { spy } = fakeApi({
      "GET /api/v1/admin/session": () => ({ body: { email: "ana@loandesk.local", csrf_token: "tok-2" } }),
      "DELETE /api/v1/admin/requests/7": () => ({ body: {} }),
    });
    spy.mockImplementationOnce(async () => new Response(JSON.stringify(problem(403, "forbidden").body), { status: 403 }));
    setCsrfToken("tok-1");
    await api.remove(7);
    expect(tokens(spy)).toEqual(["DELETE /api/v1/admin/requests/7 tok-1", "GET /api/v1/admin/session -", "DELETE /api/v1/admin/requests/7 tok-2"]);
  });

  it("does not send again when the token did not change: a real refusal stays one", async () => {
    const { spy } = fakeApi({
      "GET /api/v1/admin/session": () => ({ body: { email: "ana@loandesk.local", csrf_token: "tok-1" } }),
      "DELETE /api/v1/admin/requests/7": () => problem(403, "forbidden"),
    });
    setCsrfToken("tok-1");
    await expect(api.remove(7)).rejects.toBeInstanceOf(ApiError);
    expect(tokens(spy)).toEqual(["DELETE /api/v1/admin/requests/7 tok-1", "GET /api/v1/admin/session -"]);
  });
});
