// What a circle's learners receive, in words: when a meeting's reminder goes
// out ("The reminder for Tuesday, December 8 goes out Sunday, December 6 at
// 18:30"), to how many, and what the server sent, with failures in words.
// Dates and times are the circle's local ones (the core computes them in the
// circle's time zone), shown in the interface language.
import type { Delivery, PlannedReminder } from "./bindings";

type Translate = (key: string, params?: Record<string, string | number>) => string;

/** A calendar date ("2026-12-08") as "Tuesday, December 8" in `lang`, whatever the laptop's zone. */
export function dayAndDate(isoDate: string, lang: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m) return isoDate;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" }).format(date);
}

/** A wall-clock time ("18:30") the locale's way. */
export function clockTime(hhmm: string, lang: string): string {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!m) return hhmm;
  const date = new Date(Date.UTC(2000, 0, 1, Number(m[1]), Number(m[2])));
  return new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit", timeZone: "UTC" }).format(date);
}

/** "The reminder for Tuesday, December 8 goes out Sunday, December 6 at 6:30 PM". */
export function goesOutLine(r: PlannedReminder, lang: string, t: Translate): string {
  return t("messages.goes_out", {
    meeting: dayAndDate(r.meeting_date, lang),
    day: dayAndDate(r.send_date, lang),
    time: clockTime(r.send_time, lang),
  });
}

/** "To 3 learners by email and 1 by text message", or that nobody has agreed to be contacted. */
export function audienceLine(r: Pick<PlannedReminder, "emails" | "texts">, t: Translate): string {
  if (r.emails === 0 && r.texts === 0) return t("messages.nobody");
  if (r.texts === 0) return t("messages.audience_email", { count: r.emails });
  if (r.emails === 0) return t("messages.audience_sms", { count: r.texts });
  return t("messages.audience_both", { emails: r.emails, texts: r.texts });
}

/** Whether the circle's clock is not the computer's: times then say "(circle's time zone)". */
export function zoneDiffers(circleZone: string, computerZone: string, at: Date = new Date()): boolean {
  if (circleZone === computerZone) return false;
  try {
    const offset = (zone: string) =>
      new Intl.DateTimeFormat("en-US", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit" }).format(at);
    return offset(circleZone) !== offset(computerZone);
  } catch {
    return true;
  }
}

/** The computer's own time zone. */
export function computerZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const KINDS = ["reminder", "notice", "message", "signup", "waitlist_place"] as const;
const PROBLEMS = ["bad_address", "refused", "gave_up"] as const;

/** What was sent, in words. */
export function kindText(kind: string, t: Translate): string {
  return (KINDS as readonly string[]).includes(kind) ? t(`messages.kind_${kind}`) : kind;
}

/** How it was sent, in words. */
export function channelText(channel: string, t: Translate): string {
  if (channel === "email") return t("messages.channel_email");
  if (channel === "sms") return t("messages.channel_sms");
  return channel;
}

/** "Sent", or the failure's reason in words ("Not sent: bad address"). */
export function resultText(d: Pick<Delivery, "status" | "problem">, t: Translate): string {
  if (d.status === "sent") return t("messages.result_sent");
  const reason = (PROBLEMS as readonly string[]).includes(d.problem) ? t(`messages.problem_${d.problem}`) : d.problem;
  return reason ? t("messages.result_failed_because", { reason }) : t("messages.result_failed");
}

/** A meeting's planned reminder, if it still goes out. */
export function plannedFor(planned: PlannedReminder[], meetingId: string): PlannedReminder | null {
  return planned.find((r) => r.meeting_id === meetingId) ?? null;
}
