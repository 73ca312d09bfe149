// The month grid of the schedule calendar: weeks of seven days starting Monday,
// with the circle's meetings placed on their local dates.

export interface CalendarDay {
  /** "YYYY-MM-DD" */
  date: string;
  inMonth: boolean;
}

function iso(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** The weeks (Monday first) covering month `month` (1-12) of `year`. */
export function monthGrid(year: number, month: number): CalendarDay[][] {
  const first = new Date(Date.UTC(year, month - 1, 1));
  const offset = (first.getUTCDay() + 6) % 7; // days since Monday
  const start = new Date(Date.UTC(year, month - 1, 1 - offset));
  const weeks: CalendarDay[][] = [];
  const cursor = new Date(start);
  do {
    const week: CalendarDay[] = [];
    for (let i = 0; i < 7; i++) {
      week.push({
        date: iso(cursor.getUTCFullYear(), cursor.getUTCMonth() + 1, cursor.getUTCDate()),
        inMonth: cursor.getUTCMonth() === month - 1,
      });
      cursor.setUTCDate(cursor.getUTCDate() + 1);
    }
    weeks.push(week);
  } while (cursor.getUTCMonth() === month - 1);
  return weeks;
}

/** The months ("YYYY-MM") from the first to the last of `dates`, at least one. */
export function monthsSpanned(dates: string[], fallback: string): string[] {
  const sorted = [...dates].sort();
  const from = (sorted[0] ?? fallback).slice(0, 7);
  const to = (sorted[sorted.length - 1] ?? fallback).slice(0, 7);
  const out: string[] = [];
  let [y, m] = from.split("-").map(Number);
  const [ty, tm] = to.split("-").map(Number);
  while (y < ty || (y === ty && m <= tm)) {
    out.push(`${y}-${String(m).padStart(2, "0")}`);
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
    if (out.length > 24) break;
  }
  return out;
}

/** The weekday (0 = Monday) of an ISO date. */
export function weekdayIndex(date: string): number {
  const [y, m, d] = date.split("-").map(Number);
  return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
}
