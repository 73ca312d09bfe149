// End-to-end: the real Circles desktop app in its real window (under Xvfb),
// driven through tauri-driver + WebKitWebDriver, with data made by the real CLI.
//
// Run it through scripts/test.sh, or by hand:
//   CIRCLES_APP=target/debug/circles-app CIRCLES_CLI=target/debug/circles \
//   xvfb-run -a -s '-screen 0 1280x800x24' node --test tests/e2e/
//
// Environment:
//   CIRCLES_APP    the circles-app binary (built with the embedded UI)   [required]
//   CIRCLES_CLI    the circles CLI binary                                 [required]
//   TAURI_DRIVER   tauri-driver (default: on PATH, else ~/.cargo/bin/tauri-driver)
//   E2E_OUTPUT_DIR where screenshots and logs go (default: test-output/e2e)
//
// Nothing is skipped: a missing binary, driver or display is a failure.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { answerWelcome, cli, click, dateFromToday, driverForFile, saveScreenshot, tempDir } from "./harness.mjs";

describe("Circles desktop app (real window, WebDriver)", () => {
  const e2e = driverForFile("circles-app");
  before(e2e.start);
  after(e2e.stop);
  const closeApp = e2e.closeApp;

  /** Open the app and go to the circles list. */
  async function openApp(dataDir) {
    const app = await e2e.openApp(dataDir);
    await click(app, '[data-testid="nav-circles"]');
    return app;
  }

  test("lists a circle created with the CLI", async () => {
    const dataDir = tempDir("list");
    const id = cli(
      "--data-dir", dataDir,
      "circle", "create",
      "--name", "E2E Reading Circle",
      "--time-zone", "America/Chicago",
      "--first-date", dateFromToday(8),
      "--start-time", "18:30",
      "--duration", "90",
      "--meetings", "6",
    ).trim();
    assert.ok(id.length > 0, "the CLI printed the new circle's id");

    const app = await openApp(dataDir);
    try {
      assert.equal(await app.title(), "Circles");
      const rows = await app.waitForAll('[data-testid="circle-row"]');
      assert.equal(rows.length, 1, "exactly the one circle");
      const text = await rows[0].text();
      assert.match(text, /E2E Reading Circle/);
      assert.match(text, /America\/Chicago/);
      assert.match(text, /6:30\s?PM–8:00\s?PM|18:30–20:00/);
      assert.doesNotMatch(text, /None scheduled/, "the next meeting is shown");
      assert.equal(await rows[0].attribute("data-circle-id"), id, "the row is the circle the CLI made");
      const shown = await (await app.find('[data-testid="sidebar-data-dir"]')).text();
      assert.equal(shown, dataDir, "the data folder in use is shown");
      await saveScreenshot(app, "circles-list.png");
    } finally {
      await closeApp(app);
    }
  });

  test("shows the empty state for a new data folder", async () => {
    const dataDir = tempDir("empty");
    const app = await e2e.openApp(dataDir);
    try {
      // A new folder opens on the welcome screen (tests/e2e/first-run.test.mjs); without an account, the app.
      await answerWelcome(app);
      await click(app, '[data-testid="nav-circles"]');
      const empty = await app.waitForAll('[data-testid="empty-state"]');
      const text = await empty[0].text();
      assert.match(text, /No circles yet/);
      assert.match(text, /circles demo/);
      assert.equal((await app.findAll('[data-testid="circle-row"]')).length, 0);
      await saveScreenshot(app, "empty-state.png");
    } finally {
      await closeApp(app);
    }
  });

  test("shows the demo data", async () => {
    const dataDir = tempDir("demo");
    cli("--data-dir", dataDir, "demo");
    const expected = JSON.parse(cli("--data-dir", dataDir, "circle", "list", "--json"));
    assert.ok(Array.isArray(expected) && expected.length > 0, "the demo made circles");

    const app = await openApp(dataDir);
    try {
      const rows = await app.waitForAll('[data-testid="circle-row"]');
      assert.equal(rows.length, expected.length, "one row per circle the CLI lists");
      const all = (await Promise.all(rows.map((r) => r.text()))).join("\n");
      for (const c of expected) assert.ok(all.includes(c.name), `row for ${c.name}`);
      // Never signed in: the sidebar says the edits live only here, not that they are about to go.
      const pending = await (await app.waitForAll('[data-testid="sync-pending"]'))[0].text();
      assert.match(pending, /^[\d,]+ changes only on this computer$/, pending);
      await saveScreenshot(app, "circles-demo.png");
    } finally {
      await closeApp(app);
    }
  });

  test("a damaged database shows the error panel, is left byte-for-byte unchanged, and Refresh recovers", async () => {
    const dataDir = tempDir("damaged");
    const db = path.join(dataDir, "circles.sqlite");
    // Deterministic garbage that is not a SQLite file (no "SQLite format 3" header).
    const garbage = Buffer.alloc(8192);
    let x = 0x2545f491;
    for (let i = 0; i < garbage.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      garbage[i] = x & 0xff;
    }
    fs.writeFileSync(db, garbage);
    const filesBefore = fs.readdirSync(dataDir).sort();
    const aside = path.join(os.tmpdir(), `${path.basename(dataDir)}-circles.sqlite.damaged`);

    const app = await openApp(dataDir);
    try {
      const panel = await app.waitForAll('[data-testid="store-error"]');
      const text = await panel[0].text();
      assert.match(text, /can't open its data/);
      const message = await (await app.find('[data-testid="store-error-message"]')).text();
      assert.match(message, /circles\.sqlite/, "the message names the file");
      const shownDir = await (await app.find('[data-testid="store-error-dir"]')).text();
      assert.equal(shownDir, dataDir, "the panel shows the data folder");
      assert.equal((await app.findAll('[data-testid="circle-row"]')).length, 0);
      await saveScreenshot(app, "store-error.png");

      // Asking again (Refresh) retries the open and still leaves the file alone.
      await click(app, '[data-testid="store-retry"]');
      await app.waitForAll('[data-testid="store-error"]');
      assert.ok(fs.readFileSync(db).equals(garbage), "circles.sqlite is byte-for-byte unchanged");
      assert.deepEqual(fs.readdirSync(dataDir).sort(), filesBefore, "no files were added next to it");

      // Once the damaged file is moved aside, Refresh opens a fresh store.
      fs.renameSync(db, aside);
      await click(app, '[data-testid="store-retry"]');
      await app.waitForAll('[data-testid="empty-state"]');
    } finally {
      await closeApp(app);
    }
    assert.ok(fs.readFileSync(aside).equals(garbage), "the damaged file, moved aside, is still unchanged");
  });

  test("a damaged database with no backup: one click sets it aside, and the app starts empty, ready to sign in", async () => {
    const dataDir = tempDir("set-aside");
    const db = path.join(dataDir, "circles.sqlite");
    const garbage = Buffer.alloc(8192, 0x3c);
    fs.writeFileSync(db, garbage);

    const app = await openApp(dataDir);
    try {
      await app.waitForAll('[data-testid="store-error"]');
      const help = await (await app.find('[data-testid="store-error"]')).text();
      assert.match(help, /set the damaged file aside/, help);
      assert.doesNotMatch(help, /circles rebuild|circles restore/, "the app names its own buttons, not CLI commands");
      assert.equal((await app.findAll('[data-testid="backup-found"]')).length, 0, "no backup, no offer");
      await click(app, '[data-testid="set-aside-store"]');
      const done = await (await app.waitForAll('[data-testid="store-set-aside"]'))[0].text();
      assert.match(done, /damaged-/, done);
      await new Promise((r) => setTimeout(r, 1000));
      await saveScreenshot(app, "store-set-aside.png");
      await click(app, '[data-testid="store-retry"]');
      await app.waitForAll('[data-testid="empty-state"]');
    } finally {
      await closeApp(app);
    }
    const aside = fs.readdirSync(dataDir).filter((f) => f.startsWith("damaged-"));
    assert.equal(aside.length, 1, "one folder set aside");
    assert.ok(fs.readFileSync(path.join(dataDir, aside[0], "circles.sqlite")).equals(garbage), "kept as it was");
  });

  test("a damaged database with a local backup: the panel offers the copy and one click restores it", async () => {
    const dataDir = tempDir("restore");
    cli("--data-dir", dataDir, "circle", "create", "--name", "Saved Circle", "--time-zone", "America/Chicago",
      "--start-time", "18:30", "--duration", "90");
    // An automatic backup as circles sync and the app make them, in backups/.
    fs.mkdirSync(path.join(dataDir, "backups"));
    const backup = path.join(dataDir, "backups", "circles-20261201T170000000Z-daily.sqlite");
    cli("--data-dir", dataDir, "backup", "--out", backup);
    const db = path.join(dataDir, "circles.sqlite");
    for (const sidecar of ["-wal", "-shm"]) fs.rmSync(db + sidecar, { force: true });
    fs.writeFileSync(db, Buffer.alloc(8192, 0x5a));

    const app = await openApp(dataDir);
    try {
      await app.waitForAll('[data-testid="store-error"]');
      const offer = await (await app.waitForAll('[data-testid="backup-found"]'))[0].text();
      assert.match(offer, /copy of this computer's data/, offer);
      await new Promise((r) => setTimeout(r, 1000));
      await saveScreenshot(app, "store-error-backup.png");
      await click(app, '[data-testid="restore-backup"]');
      const rows = await app.waitForAll('[data-testid="circle-row"]');
      const names = (await Promise.all(rows.map((r) => r.text()))).join("\n");
      assert.match(names, /Saved Circle/, "the circle is back from the copy");
      await new Promise((r) => setTimeout(r, 1000));
      await saveScreenshot(app, "store-restored.png");
    } finally {
      await closeApp(app);
    }
    const kept = fs.readdirSync(dataDir).filter((f) => f.startsWith("circles.sqlite.before-restore-"));
    assert.equal(kept.length, 1, "the damaged file is kept beside the restored one");
    assert.ok(JSON.parse(cli("--data-dir", dataDir, "circle", "list", "--json")).some((c) => c.name === "Saved Circle"));
  });
});
