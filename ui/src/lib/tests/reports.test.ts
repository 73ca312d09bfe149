import { expect, test } from "vitest";
import { attended, formatFigure, monthLabel } from "../reports";

test("figures: at most the digits asked for, a dash when there is none", () => {
  expect(formatFigure(3.456, "en")).toBe("3.5");
  expect(formatFigure(3.456, "pt", 2)).toBe("3,46");
  expect(formatFigure(12, "en", 0)).toBe("12");
  expect(formatFigure(1200.5, "en")).toBe("1,200.5");
  expect(formatFigure(null, "en")).toBe("–");
});

test("months are named in the interface language, whatever the laptop's zone", () => {
  expect(monthLabel("2026-03", "short", "en")).toBe("Mar");
  expect(monthLabel("2026-03", "long", "en")).toBe("March 2026");
  expect(monthLabel("2026-01", "long", "es")).toMatch(/enero/);
  expect(monthLabel("2026-12", "short", "en")).toBe("Dec");
});

test("attendance counts head counts too", () => {
  expect(attended({ attendances: 40, head_count_attendances: 12 })).toBe(52);
  expect(attended({ attendances: 0, head_count_attendances: 0 })).toBe(0);
});
