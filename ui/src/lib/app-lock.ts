// The app lock's pure pieces: when the idle time has run out, and the lock's
// refusals in the person's language (core's codes, with the rules' figures
// the app sends in the lock's status).
import type { AppLockLimits, UiError } from "./bindings";
import { CommandError } from "./api";

type Translate = (key: string, params?: Record<string, string | number>) => string;

/** The input events that count as someone at the window. */
export const ACTIVITY_EVENTS = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart", "scroll"] as const;

/** Whether `minutes` without input have passed since `lastActivity` (ms). */
export function idleExpired(lastActivity: number, now: number, minutes: number): boolean {
  return minutes > 0 && now - lastActivity >= minutes * 60_000;
}

/** A refusal of the lock (or any error) as one sentence, and the field it belongs to. */
export function lockError(e: unknown, limits: AppLockLimits | null, t: Translate): { field: string; text: string } {
  if (!(e instanceof CommandError)) return { field: "", text: e instanceof Error ? e.message : String(e) };
  return lockErrorOf(e.error, limits, t);
}

export function lockErrorOf(error: UiError, limits: AppLockLimits | null, t: Translate): { field: string; text: string } {
  const field = error.field ?? "";
  switch (error.fault) {
    case "app_lock_wrong":
      return { field, text: t("lock.error_wrong") };
    case "app_lock_wait":
      return { field, text: t("lock.error_wait") };
    case "app_lock_not_set":
      return { field, text: t("lock.error_not_set") };
    case "app_locked":
      return { field, text: t("lock.error_locked") };
    case "app_lock_invalid":
      if (limits) {
        if (field === "pin") return { field, text: t("lock.error_pin", { min: limits.min_pin_digits, max: limits.max_pin_digits }) };
        if (field === "passphrase") return { field, text: t("lock.error_passphrase", { min: limits.min_passphrase_chars }) };
        if (field === "idle_minutes")
          return { field, text: t("lock.error_idle", { min: limits.min_idle_minutes, max: limits.max_idle_minutes }) };
      }
      if (field === "current") return { field, text: t("lock.error_current") };
      return { field, text: error.message };
    default:
      return { field, text: error.message };
  }
}

/** A moment (RFC 3339) as a clock time to the second, e.g. for the end of a wait. */
export function clockTime(rfc3339: string, lang: string): string {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  return new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit", second: "2-digit" }).format(date);
}
