import { describe, expect, it } from "vitest";
import { daysSince, STALE_DAYS } from "../teams";

describe("daysSince", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  it("counts whole days, and says null for never or nonsense", () => {
    expect(daysSince("2026-12-02T08:00:00Z", now)).toBe(0);
    expect(daysSince("2026-11-24T11:00:00Z", now)).toBe(8);
    expect(daysSince(null, now)).toBeNull();
    expect(daysSince("yesterday", now)).toBeNull();
  });
  it("flags a laptop after a week", () => {
    expect(daysSince("2026-11-24T11:00:00Z", now)! > STALE_DAYS).toBe(true);
    expect(daysSince("2026-11-26T11:00:00Z", now)! > STALE_DAYS).toBe(false);
  });
});
