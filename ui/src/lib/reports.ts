// Pure helpers of the report screens: figures as shown (a dash for none), month
// names, and attendance counting head counts (circles that only count people).
import type { Figures } from "./bindings";

/** A figure in the locale's way with at most `digits` decimals; "–" when there is none. */
export function formatFigure(value: number | null, lang: string, digits = 1): string {
  return value === null ? "–" : new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value);
}

/** "2026-03" as "Mar" (short) or "March 2026" (long) in the locale's language. */
export function monthLabel(month: string, style: "short" | "long", lang: string): string {
  const [y, m] = month.split("-").map(Number);
  const options: Intl.DateTimeFormatOptions =
    style === "short" ? { month: "short", timeZone: "UTC" } : { month: "long", year: "numeric", timeZone: "UTC" };
  return new Intl.DateTimeFormat(lang, options).format(new Date(Date.UTC(y, m - 1, 1)));
}

/** People who came: marked present or late, plus head counts where nobody was marked. */
export function attended(f: Pick<Figures, "attendances" | "head_count_attendances">): number {
  return f.attendances + f.head_count_attendances;
}
