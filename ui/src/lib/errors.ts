// A refused value comes with the rule it broke (a stable code from the core, with
// the figures its sentence needs); the interface says it in the person's language.
// Rules without a sentence of their own here, and errors that are not about a
// value (the store, the server), are shown as the core wrote them.
import type { Rule, UiError } from "./bindings";
import { CommandError } from "./api";

type Translate = (key: string, params?: Record<string, string | number>) => string;

const RULE_KEYS: Partial<Record<Rule["code"], string>> = {
  required: "errors.required",
  too_long: "errors.too_long",
  email: "errors.email",
  mobile: "errors.mobile",
  time_zone: "errors.time_zone",
  time: "errors.time",
  date: "errors.date",
  duration: "errors.duration",
  meeting_count: "errors.count",
  out_of_range: "errors.range",
  url: "errors.url",
};

/** The error's text in the interface language. */
export function errorText(error: UiError, t: Translate): string {
  // The demo's refusal (core's `demo_store`) has one sentence, in every language.
  if (error.kind === "demo") return t("demo.refusal");
  const rule = error.rule;
  const key = rule ? RULE_KEYS[rule.code] : undefined;
  if (rule && key) {
    const { code: _code, ...figures } = rule;
    return t(key, figures as Record<string, number>);
  }
  return error.message;
}

/** Errors keyed by input field ("" for those that name none). */
export type FieldErrors = Record<string, string>;

export function fieldErrors(e: unknown, t: Translate): FieldErrors {
  if (e instanceof CommandError) return { [e.error.field ?? ""]: errorText(e.error, t) };
  return { "": e instanceof Error ? e.message : String(e) };
}
