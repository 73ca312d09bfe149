// Pure helpers of the meeting guide: how notes are shown, when each section
// starts, the projector's clock figures and the minutes typed into a section form.
import type { GuideSection } from "./bindings";
import { endTime } from "./format";

/** Notes as written in templates (Markdown-like): a single line break inside a
 *  paragraph is a soft wrap; blank lines and list items keep their breaks. */
export function softWrap(text: string): string {
  return text.replace(/([^\n])\n(?![\n\-*•]|\d+[.)] )/g, "$1 ");
}

/** Planned start of each section, "HH:MM" in the circle's zone, the first at
 *  `meetingStart`; all null when the meeting's start time is unknown. */
export function sectionStarts(meetingStart: string | null, sections: Pick<GuideSection, "minutes">[]): (string | null)[] {
  let offset = 0;
  return sections.map((s) => {
    const at = meetingStart ? endTime(meetingStart, offset) : null;
    offset += s.minutes;
    return at;
  });
}

/** Seconds as "m:ss" (the sign is shown by the caller: -75 -> "1:15"). */
export function mmss(seconds: number): string {
  const s = Math.abs(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Whole minutes typed into a section form; null when it is not a plain number. */
export function minutesOf(text: string): number | null {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}
