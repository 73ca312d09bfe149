// The team screen's one rule: a member whose laptop has not synced for more
// than a week is flagged, so a report is not filed with attendance still on it.

export const STALE_DAYS = 7;

/** Whole days since an RFC 3339 time (null: never, or not a time). */
export function daysSince(rfc3339: string | null, now = new Date()): number | null {
  if (!rfc3339) return null;
  const then = Date.parse(rfc3339);
  if (Number.isNaN(then)) return null;
  return Math.floor((now.getTime() - then) / 86_400_000);
}
