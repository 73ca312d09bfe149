// The laptop's store with no keyring, in the real window: the app asks for a
// passphrase (never a plain store), a short one is refused and makes
// nothing, a good one opens an encrypted store; the next start asks again,
// a wrong passphrase is a clear error and changes nothing, the right one
// opens the circles the CLI wrote with it.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

import { cli, click, driverForFile, saveScreenshot, tempDir, text, typeInto, waitFor } from "./harness.mjs";

// No keyring for the app (nor autolaunched D-Bus): every process this file
// starts, tauri-driver and the app included, sees a bus where nothing answers.
process.env.DBUS_SESSION_BUS_ADDRESS = "unix:path=/nonexistent/circles-e2e-bus";
const PASSPHRASE = "the library's long passphrase";

describe("store passphrase without a keyring (real window)", () => {
  const e2e = driverForFile("store-passphrase");
  before(e2e.start);
  after(e2e.stop);

  async function typePassphrase(app, passphrase) {
    await typeInto(app, '[data-testid="store-passphrase"]', passphrase);
    await click(app, '[data-testid="store-unlock"]');
  }

  test("set a passphrase, then a wrong one is refused and the right one opens", async () => {
    const dataDir = path.join(tempDir("store-passphrase"), "data");
    const db = path.join(dataDir, "circles.sqlite");
    let app = await e2e.openApp(dataDir);
    try {
      await app.waitForAll('[data-testid="store-locked"]');
      assert.match(await text(app, '[data-testid="store-locked"]'), /no keyring/);
      await saveScreenshot(app, "store-passphrase-1-no-keyring.png");

      await typePassphrase(app, "short");
      await waitFor(async () => (await app.findAll('[data-testid="store-unlock-error"]')).length === 1, { message: "the short passphrase refused" });
      assert.match(await text(app, '[data-testid="store-unlock-error"]'), /at least 8 characters/);
      assert.ok(!fs.existsSync(db), "nothing was made with a refused passphrase");

      await typePassphrase(app, PASSPHRASE);
      await waitFor(async () => (await app.findAll('[data-testid="store-locked"]')).length === 0, { message: "the store opened" });
      assert.ok(fs.existsSync(path.join(dataDir, "circles-key.json")), "the key's salt is kept beside the store");
      assert.notEqual(fs.readFileSync(db).subarray(0, 15).toString(), "SQLite format 3", "the store is encrypted");
      await saveScreenshot(app, "store-passphrase-2-opened.png");
    } finally {
      await e2e.closeApp(app);
    }

    // The command line opens the same store with the same passphrase.
    process.env.CIRCLES_PASSPHRASE = PASSPHRASE;
    try {
      cli("--data-dir", dataDir, "course", "create", "--title", "Locked Away");
    } finally {
      delete process.env.CIRCLES_PASSPHRASE;
    }
    const before = fs.readFileSync(db);

    app = await e2e.openApp(dataDir);
    try {
      await app.waitForAll('[data-testid="store-locked"]');
      assert.match(await text(app, '[data-testid="store-locked"]'), /locked with a passphrase/);
      await typePassphrase(app, "not the passphrase at all");
      await waitFor(async () => (await app.findAll('[data-testid="store-unlock-error"]')).length === 1, { message: "the wrong passphrase refused" });
      assert.match(await text(app, '[data-testid="store-unlock-error"]'), /passphrase does not open/);
      assert.ok(fs.readFileSync(db).equals(before), "a wrong passphrase changes nothing");
      await saveScreenshot(app, "store-passphrase-3-wrong.png");

      await typePassphrase(app, PASSPHRASE);
      await waitFor(async () => (await app.findAll('[data-testid="store-locked"]')).length === 0, { message: "the store opened" });
      await click(app, '[data-testid="nav-courses"]');
      await waitFor(async () => (await text(app, ".shell")).includes("Locked Away"), { message: "the CLI's course in the app" });
    } finally {
      await e2e.closeApp(app);
    }
  });
});
