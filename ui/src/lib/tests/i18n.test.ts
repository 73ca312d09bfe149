import { describe, expect, test } from "vitest";
import { buildCatalog, catalog, pickLanguage, translate } from "../i18n.svelte";
import { errorText } from "../errors";
import type { Rule, UiError } from "../bindings";

describe("translation files", () => {
  test("Spanish and Portuguese have every English key, and no extra ones", () => {
    const en = Object.keys(catalog.en).sort();
    expect(en.length).toBeGreaterThan(100);
    for (const lang of ["es", "pt"]) {
      const other = Object.keys(catalog[lang] ?? {}).sort();
      expect(en.filter((k) => !other.includes(k)), `missing in ${lang}`).toEqual([]);
      expect(other.filter((k) => !en.includes(k)), `extra in ${lang}`).toEqual([]);
    }
  });

  test("placeholders are the same in every language", () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(",");
    for (const lang of ["es", "pt"]) {
      for (const [key, text] of Object.entries(catalog.en)) {
        const other = catalog[lang]?.[key];
        if (other !== undefined) expect(names(other), `${lang} ${key}`).toBe(names(text));
      }
    }
  });

  test("every key the screens name exists (a merge can put keys in the wrong group)", () => {
    const sources = import.meta.glob(["../../**/*.svelte", "../../**/*.ts", "!../../**/tests/**"], {
      query: "?raw",
      import: "default",
      eager: true,
    }) as Record<string, string>;
    const en = catalog.en;
    const known = (key: string) => key in en || `${key}_one` in en || `${key}_other` in en;
    const missing: string[] = [];
    let seen = 0;
    for (const [file, text] of Object.entries(sources)) {
      // t("group.key" ...) and t('group.key' ...): literal keys only (built ones are checked where built).
      for (const m of text.matchAll(/\bt\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']/g)) {
        seen += 1;
        if (!known(m[1])) missing.push(`${file}: ${m[1]}`);
      }
    }
    expect(seen).toBeGreaterThan(200);
    expect(missing).toEqual([]);
  });

  test("grouped and flat files flatten to namespace.key", () => {
    const c = buildCatalog({
      "../i18n/en/app.json": { today: { title: "Today" }, loose: "x" },
      "../i18n/en/guide.json": { title: "Guide" },
    });
    expect(c.en).toEqual({ "today.title": "Today", "app.loose": "x", "guide.title": "Guide" });
  });
});

test("plurals and parameters", () => {
  const m = { "x.n_one": "{count} change", "x.n_other": "{count} changes", "x.hi": "Hello {name}" };
  expect(translate(m, {}, "en", "x.n", { count: 1 })).toBe("1 change");
  expect(translate(m, {}, "en", "x.n", { count: 1200 })).toBe("1,200 changes");
  expect(translate(m, {}, "en", "x.hi", { name: "Ana" })).toBe("Hello Ana");
  expect(translate({}, m, "es", "x.hi", { name: "Ana" })).toBe("Hello Ana"); // falls back to English
  expect(translate({}, {}, "en", "x.unknown")).toBe("x.unknown");
});

test("language: saved choice, else the system's, else English", () => {
  expect(pickLanguage("pt", ["es-MX"])).toBe("pt");
  expect(pickLanguage("", ["es-MX", "en-US"])).toBe("es");
  expect(pickLanguage("", ["pt-BR"])).toBe("pt");
  expect(pickLanguage("", ["fr-FR", "de"])).toBe("en");
});

test("refused values are shown by their rule's code, translated, with their figures", () => {
  const es = (key: string, params?: Record<string, string | number>) => translate(catalog.es, catalog.en, "es", key, params);
  const invalid = (rule: Rule | null, message = "the core's English sentence"): UiError => ({
    kind: "invalid",
    message,
    rule,
    entity: "circle",
    field: "x",
    fault: null,
  });
  expect(errorText(invalid({ code: "required" }), es)).toBe(catalog.es["errors.required"]);
  expect(errorText(invalid({ code: "time_zone" }), es)).toBe(catalog.es["errors.time_zone"]);
  expect(errorText(invalid({ code: "duration", min: 15, max: 600 }), es)).toContain("600");
  expect(errorText(invalid({ code: "too_long", length: 12, max: 10 }), es)).toContain("12");
  expect(errorText(invalid({ code: "meeting_count", min: 1, max: 52 }), es)).toBe(
    translate(catalog.es, catalog.en, "es", "errors.count", { min: 1, max: 52 }),
  );
  // Every rule the UI translates has a sentence in every language.
  for (const key of ["required", "too_long", "email", "mobile", "time_zone", "time", "date", "duration", "count", "range", "url"]) {
    for (const lang of ["en", "es", "pt"]) expect(catalog[lang]?.[`errors.${key}`], `${lang} errors.${key}`).toBeTruthy();
  }
  // Rules with no sentence of their own, and errors about no value, are shown as the core wrote them.
  expect(errorText(invalid({ code: "state" }, "the meeting is cancelled"), es)).toBe("the meeting is cancelled");
  expect(errorText(invalid(null, "something new"), es)).toBe("something new");
  expect(errorText({ kind: "store", message: "disk full", rule: null, entity: null, field: null, fault: null }, es)).toBe("disk full");
});
