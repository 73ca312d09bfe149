import { describe, expect, test } from "vitest";
import { retentionDays } from "../retention";

describe("retention days", () => {
  test("off sends null whatever was typed", () => {
    expect(retentionDays(false, 90)).toBeNull();
    expect(retentionDays(false, "abc")).toBeNull();
  });

  test("a whole number is sent as typed, for the core to check", () => {
    expect(retentionDays(true, 90)).toBe(90);
    expect(retentionDays(true, " 365 ")).toBe(365);
    expect(retentionDays(true, 5)).toBe(5);
  });

  test("anything else is sent as 0, which the core refuses with its range", () => {
    expect(retentionDays(true, "")).toBe(0);
    expect(retentionDays(true, null)).toBe(0);
    expect(retentionDays(true, "abc")).toBe(0);
    expect(retentionDays(true, 45.5)).toBe(0);
    expect(retentionDays(true, -3)).toBe(0);
    expect(retentionDays(true, 1e12)).toBe(4294967295);
  });
});
