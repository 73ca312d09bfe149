import { expect, test } from "vitest";
import { CommandError } from "../api";
import { catalog, translate } from "../i18n.svelte";
import { messageOf } from "../messages";

const es = (key: string, params?: Record<string, string | number>) => translate(catalog.es, catalog.en, "es", key, params);

test("a core error is shown in the interface language; anything else as it is", () => {
  const invalid = new CommandError("edit_guide", {
    kind: "invalid",
    message: "is required",
    rule: { code: "required" },
    entity: "guide",
    field: "title",
    fault: null,
  });
  expect(messageOf(invalid, es)).toBe(catalog.es["errors.required"]);
  expect(messageOf(new Error("disk full"), es)).toBe("disk full");
  expect(messageOf("plain text", es)).toBe("plain text");
});
