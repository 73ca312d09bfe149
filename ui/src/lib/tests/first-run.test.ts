import { expect, test } from "vitest";
import { afterServerChecked, openingScreen, stepBack } from "../first-run";
import { errorText } from "../errors";
import { catalog, translate } from "../i18n.svelte";

test("the welcome screen opens only for an empty store never answered, never in the demo", () => {
  expect(openingScreen({ demo: false, welcome: true })).toBe("welcome");
  expect(openingScreen({ demo: false, welcome: false })).toBe("today");
  expect(openingScreen({ demo: true, welcome: false })).toBe("today");
  expect(openingScreen({ demo: true, welcome: true })).toBe("today");
});

test("connecting goes address, then account with the checked address; back retraces it", () => {
  const account = afterServerChecked("https://circles.example.org");
  expect(account).toEqual({ step: "account", server: "https://circles.example.org" });
  expect(stepBack(account)).toEqual({ step: "server" });
  expect(stepBack({ step: "server" })).toEqual({ step: "choices" });
});

test("the demo's refusal reads the same in every language, whatever the core's words", () => {
  const refusal = { kind: "demo" as const, message: "This is the demo: it never syncs.", rule: null, entity: null, field: null, fault: null };
  for (const lang of ["en", "es", "pt"]) {
    const t = (key: string, params?: Record<string, string | number>) =>
      translate(catalog[lang], catalog.en, lang as "en", key, params);
    expect(errorText(refusal, t)).toBe(catalog[lang]["demo.refusal"]);
  }
  expect(catalog.en["demo.refusal"]).toBe(
    "This is the demo: it never syncs. Leave the demo to connect to your library's server.",
  );
});
