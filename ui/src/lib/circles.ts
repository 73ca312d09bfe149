// The circles list's search and filters.
import type { CirclePhase, CircleSummary } from "./bindings";

export type CircleFilter = "all" | CirclePhase;

/** Lower-case, accents removed: "Biblioteca Pública" matches "publica". */
export function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{Diacritic}/gu, "").toLowerCase();
}

/** Circles whose name, course or venue contain every word of `search`, in `filter`. */
export function filterCircles(circles: CircleSummary[], search: string, filter: CircleFilter): CircleSummary[] {
  const words = fold(search).split(/\s+/).filter(Boolean);
  return circles.filter((c) => {
    if (filter !== "all" && c.phase !== filter) return false;
    const haystack = fold([c.name, c.course_title ?? "", c.venue_name ?? ""].join(" "));
    return words.every((w) => haystack.includes(w));
  });
}

export function countByPhase(circles: CircleSummary[]): Record<CircleFilter, number> {
  const out: Record<CircleFilter, number> = { all: circles.length, draft: 0, upcoming: 0, active: 0, completed: 0 };
  for (const c of circles) out[c.phase] += 1;
  return out;
}
