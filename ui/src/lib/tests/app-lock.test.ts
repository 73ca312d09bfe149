import { expect, test } from "vitest";
import { CommandError } from "../api";
import { idleExpired, lockError } from "../app-lock";
import { catalog, translate } from "../i18n.svelte";

const pt = (key: string, params?: Record<string, string | number>) => translate(catalog.pt, catalog.en, "pt", key, params);
const limits = { min_pin_digits: 4, max_pin_digits: 12, min_passphrase_chars: 8, min_idle_minutes: 1, max_idle_minutes: 240 };

function refused(fault: string, field: string | null) {
  return new CommandError("set_app_lock", { kind: "lock", message: "core's words", rule: null, entity: null, field, fault });
}

test("the idle time runs out after its minutes without input, not before", () => {
  expect(idleExpired(0, 59_999, 1)).toBe(false);
  expect(idleExpired(0, 60_000, 1)).toBe(true);
  expect(idleExpired(1_000, 5 * 60_000, 5)).toBe(false);
  expect(idleExpired(0, 10 ** 9, 0)).toBe(false);
});

test("the lock's refusals are said in the interface language, next to their field", () => {
  expect(lockError(refused("app_lock_invalid", "pin"), limits, pt)).toEqual({
    field: "pin",
    text: pt("lock.error_pin", { min: 4, max: 12 }),
  });
  expect(lockError(refused("app_lock_invalid", "pin"), limits, pt).text).toContain("12");
  expect(lockError(refused("app_lock_invalid", "idle_minutes"), limits, pt).text).toContain("240");
  expect(lockError(refused("app_lock_invalid", "passphrase"), limits, pt).text).toContain("8");
  expect(lockError(refused("app_lock_invalid", "current"), limits, pt).text).toBe(catalog.pt["lock.error_current"]);
  expect(lockError(refused("app_lock_wrong", "current"), limits, pt).text).toBe(catalog.pt["lock.error_wrong"]);
  expect(lockError(refused("app_lock_wait", "current"), limits, pt).text).toBe(catalog.pt["lock.error_wait"]);
  expect(lockError(refused("app_locked", null), null, pt)).toEqual({ field: "", text: catalog.pt["lock.error_locked"] });
  // Anything else as it came.
  expect(lockError(refused("store_disk_full", null), limits, pt).text).toBe("core's words");
  expect(lockError(new Error("boom"), limits, pt)).toEqual({ field: "", text: "boom" });
});
