import { describe, expect, test } from "vitest";
import { markForKey, nextRow, tally, UndoStack } from "../attendance";

describe("attendance keys", () => {
  test("one key per mark, any case, digits too", () => {
    expect(markForKey("p")).toBe("present");
    expect(markForKey("P")).toBe("present");
    expect(markForKey("l")).toBe("late");
    expect(markForKey("e")).toBe("excused");
    expect(markForKey("a")).toBe("absent");
    expect(markForKey("1")).toBe("present");
    expect(markForKey("4")).toBe("absent");
    expect(markForKey("x")).toBeNull();
    expect(markForKey("Enter")).toBeNull();
  });

  test("focus moves down and stops at the last row", () => {
    expect(nextRow(0, 30)).toBe(1);
    expect(nextRow(29, 30)).toBe(29);
    expect(nextRow(0, 0)).toBe(0);
  });
});

describe("undo", () => {
  test("undoes newest first and ignores no-op changes", () => {
    const undo = new UndoStack();
    undo.push({ learnerId: "a", before: null, after: "present" });
    undo.push({ learnerId: "a", before: "present", after: "present" });
    undo.push({ learnerId: "b", before: "late", after: "absent" });
    expect(undo.size).toBe(2);
    expect(undo.pop()).toEqual({ learnerId: "b", before: "late", after: "absent" });
    expect(undo.pop()).toEqual({ learnerId: "a", before: null, after: "present" });
    expect(undo.pop()).toBeNull();
  });

  test("keeps only the most recent changes", () => {
    const undo = new UndoStack(3);
    for (let i = 0; i < 5; i++) undo.push({ learnerId: String(i), before: null, after: "present" });
    expect(undo.size).toBe(3);
    expect(undo.pop()?.learnerId).toBe("4");
  });
});

test("tally counts each mark and the unmarked", () => {
  expect(tally(["present", "late", null, "present", "absent"])).toEqual({
    present: 2,
    late: 1,
    excused: 0,
    absent: 1,
    unmarked: 1,
  });
});
