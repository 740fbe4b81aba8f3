import { describe, expect, it } from "vitest";
import { ApiError } from "./client";
import { failureKey } from "./failure";

const failed = (status: number) => new ApiError(status);

describe("failureKey", () => {
  it("says the same for the same failure on every page", () => {
    expect(failureKey(new TypeError("fetch failed"))).toBe("err.network");
    expect(failureKey(failed(0))).toBe("err.network");
    expect(failureKey(failed(429))).toBe("err.ratelimit");
    expect(failureKey(failed(500))).toBe("err.server");
    expect(failureKey(failed(503))).toBe("err.server");
  });
  it("lets a page word the statuses that mean something there", () => {
    expect(failureKey(failed(404), { 404: "track.notfound" })).toBe("track.notfound");
    expect(failureKey(failed(503), { 404: "track.notfound" })).toBe("err.server");
  });
});
