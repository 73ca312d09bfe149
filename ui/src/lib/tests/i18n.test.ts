import { describe, expect, test } from "vitest";
import { buildCatalog, catalog, pickLanguage, translate } from "../i18n.svelte";
import { errorText } from "../errors";

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

test("core validation messages are shown translated, with their figures", () => {
  const es = (key: string, params?: Record<string, string | number>) => translate(catalog.es, catalog.en, "es", key, params);
  const invalid = (message: string) => ({ kind: "invalid", message, entity: "circle", field: "x" });
  expect(errorText(invalid("is required"), es)).toBe(catalog.es["errors.required"]);
  expect(errorText(invalid('unknown time zone "Mars/Base": use an IANA name such as America/Chicago'), es)).toBe(
    catalog.es["errors.time_zone"],
  );
  expect(errorText(invalid("a meeting lasts 15 to 600 minutes, not 5"), es)).toContain("600");
  // Unknown shapes are shown as the core wrote them.
  expect(errorText(invalid("something new"), es)).toBe("something new");
  expect(errorText({ kind: "store", message: "disk full", entity: null, field: null }, es)).toBe("disk full");
});
