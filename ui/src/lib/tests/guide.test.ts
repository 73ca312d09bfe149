import { expect, test } from "vitest";
import { minutesOf, mmss, sectionStarts, softWrap } from "../guide";

test("notes: a single line break is a soft wrap; paragraphs and list items keep theirs", () => {
  expect(softWrap("Say hello\nand pass the name tags")).toBe("Say hello and pass the name tags");
  expect(softWrap("First paragraph\n\nSecond")).toBe("First paragraph\n\nSecond");
  expect(softWrap("Bring:\n- tea\n- laptops\n* cables\n• snacks")).toBe("Bring:\n- tea\n- laptops\n* cables\n• snacks");
  expect(softWrap("Steps:\n1. log in\n2) open the course")).toBe("Steps:\n1. log in\n2) open the course");
});

test("each section starts when the ones before it have run", () => {
  const sections = [{ minutes: 10 }, { minutes: 45 }, { minutes: 35 }];
  expect(sectionStarts("18:00", sections)).toEqual(["18:00", "18:10", "18:55"]);
  // Past midnight the clock wraps.
  expect(sectionStarts("23:50", sections)).toEqual(["23:50", "00:00", "00:45"]);
  // Without the meeting's start time no section has one.
  expect(sectionStarts(null, sections)).toEqual([null, null, null]);
  expect(sectionStarts("18:00", [])).toEqual([]);
});

test("the projector's clock figures are m:ss, sign left to the caller", () => {
  expect(mmss(0)).toBe("0:00");
  expect(mmss(75)).toBe("1:15");
  expect(mmss(-75)).toBe("1:15");
  expect(mmss(3600)).toBe("60:00");
});

test("minutes typed into a section form are a whole number or nothing", () => {
  expect(minutesOf("12")).toBe(12);
  expect(minutesOf(" 5 ")).toBe(5);
  expect(minutesOf("0")).toBe(0);
  expect(minutesOf("abc")).toBeNull();
  expect(minutesOf("")).toBeNull();
  expect(minutesOf("1.5")).toBeNull();
  expect(minutesOf("-3")).toBeNull();
});
