// Attendance taking: which key means which mark, moving through the roster, and
// the undo history. Pure logic, tested with Vitest; the screen only wires it up.
import type { Mark } from "./bindings";

/** One key per mark (and its first letter in each interface language). */
export const MARK_KEYS: Record<string, Mark> = {
  p: "present",
  "1": "present",
  l: "late",
  t: "late", // tarde (es), atrasado → "t" is free in every language
  "2": "late",
  e: "excused",
  j: "excused", // justificado (es, pt)
  "3": "excused",
  a: "absent",
  "4": "absent",
};

export const MARKS: Mark[] = ["present", "late", "excused", "absent"];

export function markForKey(key: string): Mark | null {
  return MARK_KEYS[key.toLowerCase()] ?? null;
}

/** One change made on the roster, with what it replaced (for undo). */
export interface MarkChange {
  learnerId: string;
  before: Mark | null;
  after: Mark | null;
}

/** The undo history of one roster: newest last, bounded. */
export class UndoStack {
  private changes: MarkChange[] = [];
  constructor(private readonly limit = 100) {}

  push(change: MarkChange) {
    if (change.before === change.after) return;
    this.changes.push(change);
    if (this.changes.length > this.limit) this.changes.shift();
  }

  /** The change to revert (the caller writes `before` back), or null. */
  pop(): MarkChange | null {
    return this.changes.pop() ?? null;
  }

  get size(): number {
    return this.changes.length;
  }
}

/** Where the keyboard focus goes after marking row `index` of `length` rows. */
export function nextRow(index: number, length: number): number {
  return Math.min(index + 1, Math.max(length - 1, 0));
}

/** Counts of each mark and of unmarked learners. */
export function tally(marks: (Mark | null)[]): Record<Mark | "unmarked", number> {
  const out = { present: 0, late: 0, excused: 0, absent: 0, unmarked: 0 };
  for (const mark of marks) out[mark ?? "unmarked"] += 1;
  return out;
}
