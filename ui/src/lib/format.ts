// Formatting helpers. Times are the circle's local wall-clock times (in its own time
// zone), so they are formatted as given, never converted to the laptop's zone.

const WEEKDAY_PLURAL: Record<string, string> = {
  Monday: "Mondays",
  Tuesday: "Tuesdays",
  Wednesday: "Wednesdays",
  Thursday: "Thursdays",
  Friday: "Fridays",
  Saturday: "Saturdays",
  Sunday: "Sundays",
};

/** "18:30" + 90 -> "20:00" (wraps past midnight). */
export function endTime(start: string, durationMinutes: number): string {
  const m = /^(\d{1,2}):(\d{2})/.exec(start);
  if (!m) return "";
  const total = (Number(m[1]) * 60 + Number(m[2]) + durationMinutes) % (24 * 60);
  const hh = String(Math.floor(total / 60)).padStart(2, "0");
  const mm = String(total % 60).padStart(2, "0");
  return `${hh}:${mm}`;
}

/** "Mondays, 18:30–20:00" */
export function weeklySlot(weekday: string | null, start: string, durationMinutes: number): string {
  const end = endTime(start, durationMinutes);
  const time = end ? `${start}–${end}` : start;
  if (!weekday) return time;
  return `${WEEKDAY_PLURAL[weekday] ?? weekday}, ${time}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
  timeZone: "UTC",
});

/** "2026-12-07 18:30" -> "Mon, 7 Dec 2026 · 18:30" (in the circle's zone, as given). */
export function meetingWhen(local: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}:\d{2}))?/.exec(local);
  if (!m) return local;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const day = dateFormat.format(date);
  return m[4] ? `${day} · ${m[4]}` : day;
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The laptop's local calendar date as "YYYY-MM-DD" (not UTC's). */
export function localIsoDate(d = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
