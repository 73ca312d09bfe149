import { expect, test } from "vitest";
import { backupMadeAt } from "../backups";

test("a backup's time is read from its file name", () => {
  expect(backupMadeAt("circles-20261202T091500123Z-daily.sqlite")).toBe("2026-12-02T09:15:00.123Z");
  expect(backupMadeAt("circles-20260301T000000000Z-before-migration-v3.sqlite")).toBe("2026-03-01T00:00:00.000Z");
  expect(backupMadeAt("notes.txt")).toBeNull();
  expect(backupMadeAt("circles-yesterday-daily.sqlite")).toBeNull();
});
