import { expect, test } from "vitest";
import { monthGrid, monthsSpanned, weekdayIndex } from "../calendar";

test("a month grid starts on Monday and covers the whole month", () => {
  // March 2026 starts on a Sunday: the first row begins Monday 23 February.
  const weeks = monthGrid(2026, 3);
  expect(weeks[0][0]).toEqual({ date: "2026-02-23", inMonth: false });
  expect(weeks[0][6]).toEqual({ date: "2026-03-01", inMonth: true });
  const days = weeks.flat().filter((d) => d.inMonth).map((d) => d.date);
  expect(days.length).toBe(31);
  expect(days[30]).toBe("2026-03-31");
  expect(weeks.every((w) => w.length === 7)).toBe(true);
});

test("the day of a clock change is an ordinary calendar day", () => {
  // US daylight saving starts 2026-03-08: no day is skipped or doubled.
  const days = monthGrid(2026, 3).flat().map((d) => d.date);
  expect(new Set(days).size).toBe(days.length);
  expect(days).toContain("2026-03-08");
});

test("months spanned by a schedule, across a year end", () => {
  expect(monthsSpanned(["2026-12-14", "2026-11-30", "2027-01-11"], "2026-01-01")).toEqual([
    "2026-11",
    "2026-12",
    "2027-01",
  ]);
  expect(monthsSpanned([], "2026-05-20")).toEqual(["2026-05"]);
});

test("weekday index with Monday as 0", () => {
  expect(weekdayIndex("2026-11-30")).toBe(0);
  expect(weekdayIndex("2026-11-29")).toBe(6);
});
