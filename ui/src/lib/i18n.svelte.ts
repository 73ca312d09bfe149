// Interface language: every string on screen comes from the translation files in
// src/i18n/<language>/<namespace>.json; a key is "<namespace>.<key>", e.g. "today.title".
// Plurals: a key with "_one"/"_other" variants is chosen by Intl.PluralRules on
// params.count. Dates and numbers use the chosen language's locale.

export const LANGUAGES = ["en", "es", "pt"] as const;
export type Language = (typeof LANGUAGES)[number];
export type Messages = Record<string, string>;

type Tree = { [key: string]: string | Tree };

const files = import.meta.glob("../i18n/*/*.json", { eager: true, import: "default" }) as Record<string, Tree>;

/** All messages, by language, flattened to "namespace.key". */
export const catalog: Record<string, Messages> = buildCatalog(files);

/**
 * Flatten translation files: `<lang>/<ns>.json` holding `{"key": "text"}` gives
 * "ns.key"; `<lang>/app.json` may also group namespaces: `{"today": {"title": ...}}`
 * gives "today.title".
 */
export function buildCatalog(sources: Record<string, Tree>): Record<string, Messages> {
  const out: Record<string, Messages> = {};
  for (const [path, tree] of Object.entries(sources)) {
    const m = /\/i18n\/([a-z]{2})\/([a-z_]+)\.json$/.exec(path);
    if (!m) continue;
    const [, lang, ns] = m;
    out[lang] ??= {};
    for (const [key, value] of Object.entries(tree)) {
      if (typeof value === "string") out[lang][`${ns}.${key}`] = value;
      else flatten(key, value, out[lang]);
    }
  }
  return out;
}

function flatten(prefix: string, tree: Tree, into: Messages) {
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === "string") into[`${prefix}.${key}`] = value;
    else flatten(`${prefix}.${key}`, value, into);
  }
}

export const locale = $state({ lang: "en" as Language });

/** The language to use: the saved choice, else the system's, else English. */
export function pickLanguage(saved: string, system: readonly string[]): Language {
  for (const candidate of [saved, ...system]) {
    const primary = (candidate ?? "").toLowerCase().split("-")[0];
    if ((LANGUAGES as readonly string[]).includes(primary)) return primary as Language;
  }
  return "en";
}

export function setLanguage(lang: Language) {
  locale.lang = lang;
  document.documentElement.lang = lang;
}

type Params = Record<string, string | number>;

export function translate(messages: Messages, fallback: Messages, lang: string, key: string, params?: Params): string {
  let text: string | undefined;
  if (params && typeof params.count === "number") {
    const form = new Intl.PluralRules(lang).select(params.count);
    text = messages[`${key}_${form}`] ?? messages[`${key}_other`] ?? fallback[`${key}_${form}`] ?? fallback[`${key}_other`];
  }
  text ??= messages[key] ?? fallback[key];
  if (text === undefined) return key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? formatParam(params[name], lang) : whole,
  );
}

function formatParam(value: string | number, lang: string): string {
  return typeof value === "number" ? new Intl.NumberFormat(lang).format(value) : value;
}

/** The text of `key` in the current language (reactive in templates). */
export function t(key: string, params?: Params): string {
  return translate(catalog[locale.lang] ?? {}, catalog.en ?? {}, locale.lang, key, params);
}

function utcDate(isoDate: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
}

/** A calendar date ("2026-12-07") in the interface language, e.g. "Mon, Dec 7, 2026". */
export function formatDate(isoDate: string, style: "long" | "short" | "weekday" = "short"): string {
  const date = utcDate(isoDate);
  if (!date) return isoDate;
  const options: Intl.DateTimeFormatOptions =
    style === "long"
      ? { weekday: "long", day: "numeric", month: "long", year: "numeric" }
      : style === "weekday"
        ? { weekday: "long" }
        : { weekday: "short", day: "numeric", month: "short", year: "numeric" };
  return new Intl.DateTimeFormat(locale.lang, { ...options, timeZone: "UTC" }).format(date);
}

/** A local wall-clock time "18:30" shown the locale's way (18:30 or 6:30 PM). */
export function formatTime(hhmm: string): string {
  const m = /^(\d{1,2}):(\d{2})/.exec(hhmm);
  if (!m) return hhmm;
  const date = new Date(Date.UTC(2000, 0, 1, Number(m[1]), Number(m[2])));
  return new Intl.DateTimeFormat(locale.lang, { hour: "numeric", minute: "2-digit", timeZone: "UTC" }).format(date);
}

/** An instant (RFC 3339) in the laptop's zone, e.g. "14:02" today or "Nov 28, 14:02". */
export function formatInstant(rfc3339: string, now = new Date()): string {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  const sameDay = date.toDateString() === now.toDateString();
  const options: Intl.DateTimeFormatOptions = sameDay
    ? { hour: "numeric", minute: "2-digit" }
    : { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
  return new Intl.DateTimeFormat(locale.lang, options).format(date);
}

export function formatPercent(rate: number | null): string {
  if (rate === null) return "–";
  return new Intl.NumberFormat(locale.lang, { style: "percent", maximumFractionDigits: 0 }).format(rate);
}
