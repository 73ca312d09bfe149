// Core validation messages are English sentences; the interface shows them in the
// person's language. Known shapes map to translated messages (with their figures);
// anything else is shown as the core wrote it.
import type { UiError } from "./bindings";
import { CommandError } from "./api";

type Translate = (key: string, params?: Record<string, string | number>) => string;

const PATTERNS: [RegExp, string, string[]][] = [
  [/^is required$/, "errors.required", []],
  [/^is (\d+) characters long; the limit is (\d+)$/, "errors.too_long", ["length", "max"]],
  [/is not a valid email address/, "errors.email", []],
  [/is not a mobile number|not a phone number|E\.164/i, "errors.mobile", []],
  [/unknown time zone/, "errors.time_zone", []],
  [/invalid time/, "errors.time", []],
  [/invalid date/, "errors.date", []],
  [/a meeting lasts (\d+) to (\d+) minutes/, "errors.duration", ["min", "max"]],
  [/a schedule has (\d+) to (\d+) meetings/, "errors.count", ["min", "max"]],
  [/must be between (-?\d+) and (-?\d+)/, "errors.range", ["min", "max"]],
  [/is not a web address/, "errors.url", []],
];

/** The error's text in the interface language. */
export function errorText(error: UiError, t: Translate): string {
  if (error.kind === "invalid") {
    for (const [pattern, key, names] of PATTERNS) {
      const m = pattern.exec(error.message);
      if (m) {
        const params: Record<string, string> = {};
        names.forEach((name, i) => (params[name] = m[i + 1]));
        return t(key, params);
      }
    }
  }
  return error.message;
}

/** Errors keyed by input field ("" for those that name none). */
export type FieldErrors = Record<string, string>;

export function fieldErrors(e: unknown, t: Translate): FieldErrors {
  if (e instanceof CommandError) return { [e.error.field ?? ""]: errorText(e.error, t) };
  return { "": e instanceof Error ? e.message : String(e) };
}
