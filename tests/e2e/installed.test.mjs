// The installed app (from the .deb), opened the way a person opens it from the
// menu: no --data-dir, no CIRCLES_DATA_DIR, a fresh home folder. It must start
// on the welcome screen, let the person try the demo and leave it, then use
// the per-user data folder, with no demo circle in it, and keep what is made
// there across a restart.
//
// Run by scripts/test-package.sh, which installs the package first, points
// CIRCLES_APP at /usr/bin/circles-app and HOME/XDG_* at an empty folder, and
// afterwards removes the package and checks that this data folder is left
// exactly as the test left it. Not part of scripts/test.sh's e2e glob.
//
// Environment (besides harness.mjs's):
//   XDG_DATA_HOME   the fresh home's data folder (required; the app's folder is XDG_DATA_HOME/circles)

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

import { APP, cli, click, dateFromToday, driverForFile, saveScreenshot, text, typeInto, waitFor } from "./harness.mjs";

const dataHome = process.env.XDG_DATA_HOME;
if (!dataHome) throw new Error("XDG_DATA_HOME is not set: scripts/test-package.sh points it at a fresh home folder");
if (process.env.CIRCLES_DATA_DIR) throw new Error("CIRCLES_DATA_DIR is set: the installed app must find its folder itself");
/** Where the app keeps a person's data on Linux (circles_core::data_dir, unchanged since the first release). */
const dataDir = path.join(dataHome, "circles");

/**
 * What a person does on the first screen of a fresh install: the welcome
 * screen; try the demo (marked as the demo, in its own folder), leave it,
 * then start without an account; ends on the Circles screen.
 */
async function firstRun(app) {
  await app.waitForAll('[data-testid="welcome"]');
  await saveScreenshot(app, "installed-welcome.png");
  await click(app, '[data-testid="welcome-demo"]');
  await app.waitForAll('[data-testid="demo-banner"]');
  await saveScreenshot(app, "installed-demo.png");
  await click(app, '[data-testid="demo-leave"]');
  await app.waitForAll('[data-testid="welcome"]');
  await click(app, '[data-testid="welcome-offline"]');
  await click(app, '[data-testid="nav-circles"]');
}

describe("the installed app (real window, WebDriver)", () => {
  const e2e = driverForFile("installed");
  before(e2e.start);
  after(e2e.stop);

  test("opens on an empty home in the per-user data folder and keeps a circle made there", async () => {
    console.log(`app: ${APP}`);
    assert.ok(!fs.existsSync(dataDir), `the home is fresh: ${dataDir} does not exist yet`);

    const app = await e2e.openApp(null);
    try {
      assert.equal(await app.title(), "Circles");
      await firstRun(app);
      assert.equal(await text(app, '[data-testid="sidebar-data-dir"]'), dataDir, "the per-user data folder is in use");
      assert.equal((await app.findAll('[data-testid="demo-banner"]')).length, 0, "left the demo");
      await click(app, '[data-testid="new-circle"]');
      await typeInto(app, '[data-testid="circle-name"]', "Reading Circle at the Branch Library");
      await typeInto(app, '[data-testid="venue-name"]', "Branch Library, Room 2");
      await typeInto(app, '[data-testid="time-zone"]', "America/Chicago");
      await typeInto(app, '[data-testid="first-date"]', dateFromToday(3));
      await typeInto(app, '[data-testid="meeting-count"]', "6");
      await click(app, '[data-testid="save-circle"]');
      assert.equal(await text(app, '[data-testid="circle-title"]'), "Reading Circle at the Branch Library");
      assert.equal((await app.waitForAll('[data-testid="meeting-row"]')).length, 6, "six weekly meetings");
      await saveScreenshot(app, "installed-circle.png");
    } catch (e) {
      await saveScreenshot(app, "installed-failure.png");
      throw e;
    } finally {
      await e2e.closeApp(app);
    }

    assert.ok(fs.existsSync(path.join(dataDir, "circles.sqlite")), "the store is in the per-user data folder");
    const circles = JSON.parse(cli("--data-dir", dataDir, "circle", "list", "--json"));
    assert.deepEqual(circles.map((c) => c.name), ["Reading Circle at the Branch Library"], "no demo circle in the real data");

    // Opened again from the menu: the circle is still there.
    const again = await e2e.openApp(null);
    try {
      assert.equal((await again.findAll('[data-testid="welcome"]')).length, 0, "the welcome is not shown again");
      await click(again, '[data-testid="nav-circles"]');
      await waitFor(async () => (await again.findAll('[data-testid="circle-row"]')).length === 1, { message: "the circle after a restart" });
      assert.match(await text(again, '[data-testid="circle-row"]'), /Reading Circle at the Branch Library/);
    } finally {
      await e2e.closeApp(again);
    }
  });
});
