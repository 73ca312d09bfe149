// The first run in the real window: an empty store opens on the welcome screen;
// the demo lives in its own folder (DATA/demo), is marked on every screen, never
// signs in, can be reset and left; the real folder never holds a demo circle;
// "start without an account" is remembered; connecting to a real server from
// the welcome screen checks the address, then signs in, and the server's newer
// version shows on Sync and Settings.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";

import {
  PASSWORD,
  cli,
  click,
  driverForFile,
  saveScreenshot,
  startSyncServer,
  tempDir,
  text,
  typeInto,
  waitFor,
} from "./harness.mjs";

const circlesIn = (dataDir) => JSON.parse(cli("--data-dir", dataDir, "circle", "list", "--json"));
const statusOf = (dataDir) => JSON.parse(cli("--data-dir", dataDir, "status", "--json"));

describe("first run (real window)", () => {
  const e2e = driverForFile("first-run");
  before(e2e.start);
  after(e2e.stop);

  /** Wait until the banner is there (or not) and the screen has its header. */
  async function bannerShown(app, shown, message) {
    await waitFor(async () => (await app.findAll('[data-testid="demo-banner"]')).length === (shown ? 1 : 0), { message });
  }

  test("welcome, try the demo (banner everywhere, no sync, reset), leave it, start offline once", async () => {
    const real = path.join(tempDir("first-run"), "real");
    const demoDir = path.join(real, "demo");
    let app = await e2e.openApp(real);
    try {
      await app.waitForAll('[data-testid="welcome"]');
      for (const id of ["welcome-connect", "welcome-offline", "welcome-demo"]) {
        assert.equal((await app.findAll(`[data-testid="${id}"]`)).length, 1, `${id} is offered`);
      }
      await saveScreenshot(app, "first-run-1-welcome.png");

      await click(app, '[data-testid="welcome-demo"]');
      await bannerShown(app, true, "the demo banner");
      assert.match(await text(app, '[data-testid="demo-banner"]'), /You are looking at the demo\. Nothing here is real or synced\./);
      assert.ok((await app.waitForAll('[data-testid="today-meeting"]')).length > 0, "the demo's meetings on Today");
      assert.equal(await text(app, '[data-testid="sidebar-data-dir"]'), demoDir, "the demo's own folder is in use");
      await saveScreenshot(app, "first-run-2-demo-today.png");

      await click(app, '[data-testid="nav-circles"]');
      const rows = await app.waitForAll('[data-testid="circle-row"]');
      assert.equal(rows.length, 5, "the demo's five circles");
      await bannerShown(app, true, "the banner on the circles list");
      await saveScreenshot(app, "first-run-3-demo-circles.png");

      await click(app, '[data-testid="nav-sync"]');
      const refusal = await text(app, '[data-testid="demo-sync-refusal"]');
      assert.match(refusal, /This is the demo: it never syncs\. Leave the demo to connect to your library's server\./);
      assert.equal((await app.findAll('[data-testid="sign-in-form"]')).length, 0, "no sign-in form in the demo");
      await bannerShown(app, true, "the banner on the Sync screen");
      await saveScreenshot(app, "first-run-4-demo-sync.png");
      // The core refuses too, whatever the window shows.
      const refused = await app.execute(
        "return window.__TAURI_INTERNALS__.invoke('sign_in', { serverUrl: 'http://127.0.0.1:9', email: 'a@example.org', password: 'x', allowPlainHttp: false }).then(() => 'signed in', (e) => e.kind + ': ' + e.message);",
      );
      assert.match(refused, /^demo: This is the demo: it never syncs\./);

      // Reset: a circle added in the demo is gone afterwards.
      cli("--data-dir", demoDir, "circle", "create", "--name", "Added In The Demo", "--time-zone", "UTC", "--start-time", "18:00", "--duration", "60");
      assert.equal(circlesIn(demoDir).length, 6);
      await click(app, '[data-testid="demo-reset"]');
      await app.waitForAll('[data-testid="demo-reset-question"]');
      await saveScreenshot(app, "first-run-5-demo-reset-confirm.png");
      await click(app, '[data-testid="demo-reset-confirm"]');
      await waitFor(async () => (await app.findAll('[data-testid="demo-reset-question"]')).length === 0, { message: "the reset to finish" });
      await bannerShown(app, true, "still the demo after a reset");
      assert.equal(circlesIn(demoDir).length, 5, "the demo afresh");
      assert.equal(statusOf(demoDir).demo, true);

      await click(app, '[data-testid="demo-leave"]');
      await app.waitForAll('[data-testid="welcome"]');
      await bannerShown(app, false, "no banner in the real folder");
      await saveScreenshot(app, "first-run-6-left-the-demo.png");
      assert.deepEqual(circlesIn(real), [], "no demo circle in the real folder");
      assert.equal(statusOf(real).demo, false);

      await click(app, '[data-testid="welcome-offline"]');
      await app.waitForAll(".shell");
      await click(app, '[data-testid="nav-circles"]');
      await app.waitForAll('[data-testid="empty-state"]');
      assert.equal(await text(app, '[data-testid="sidebar-data-dir"]'), real);
      await bannerShown(app, false, "no banner offline");
      await saveScreenshot(app, "first-run-7-offline.png");
    } finally {
      await e2e.closeApp(app);
    }

    // The welcome is answered: not shown again.
    app = await e2e.openApp(real);
    try {
      await app.waitForAll(".shell");
      assert.equal((await app.findAll('[data-testid="welcome"]')).length, 0, "the welcome is not shown again");
      await bannerShown(app, false, "no banner");
      assert.deepEqual(circlesIn(real), []);
    } finally {
      await e2e.closeApp(app);
    }

    // Started on the demo folder itself (as scripts/run-app.sh does): the banner too.
    app = await e2e.openApp(demoDir);
    try {
      await bannerShown(app, true, "the banner when started on the demo folder");
      await saveScreenshot(app, "first-run-8-started-on-demo.png");
    } finally {
      await e2e.closeApp(app);
    }
  });

  test("connect to my library's server: the address is checked, then sign in; a newer version shows", async () => {
    const work = tempDir("first-run-connect");
    const server = await startSyncServer(work, "first-run", [
      "--latest-app-version", "99.0.0",
      "--download-url", "https://circles.example.org/download",
    ]);
    const real = path.join(work, "real");
    const app = await e2e.openApp(real);
    try {
      await click(app, '[data-testid="welcome-connect"]');
      await typeInto(app, '[data-testid="welcome-server"]', "circles.example.org");
      await click(app, '[data-testid="welcome-server-next"]');
      const error = await text(app, '[data-testid="error-server_url"]');
      assert.match(error, /is not a server address starting with https:\/\/ or http:\/\//);
      await saveScreenshot(app, "first-run-9-connect-bad-address.png");

      await typeInto(app, '[data-testid="welcome-server"]', server.url);
      await click(app, '[data-testid="welcome-server-next"]');
      await app.waitForAll('[data-testid="sign-in-form"]');
      assert.equal((await app.findAll('[data-testid="server-url"]')).length, 0, "the checked address is not asked again");
      await typeInto(app, '[data-testid="sign-in-email"]', "ana@example.org");
      await typeInto(app, '[data-testid="sign-in-password"]', PASSWORD);
      await saveScreenshot(app, "first-run-10-connect-sign-in.png");
      await click(app, '[data-testid="sign-in"]');
      await app.waitForAll(".shell");
      await bannerShown(app, false, "a real account, no banner");

      await waitFor(() => statusOf(real).last_success !== null, { message: "the first sync", timeoutMs: 30_000 });
      const status = statusOf(real);
      assert.equal(status.account.server_url, server.url);
      assert.equal(status.demo, false);
      assert.equal(status.newer_release.latest_version, "99.0.0");

      await click(app, '[data-testid="nav-sync"]');
      assert.match(await text(app, '[data-testid="sync-account"]'), /Ana \(ana@example\.org\)/);
      const notice = await text(app, '[data-testid="update-notice"]');
      assert.match(notice, /A newer version of Circles is available/);
      assert.match(notice, /99\.0\.0/);
      assert.match(notice, /https:\/\/circles\.example\.org\/download/);
      await saveScreenshot(app, "first-run-11-sync-update-notice.png");
      await click(app, '[data-testid="nav-settings"]');
      assert.match(await text(app, '[data-testid="update-notice"]'), /A newer version of Circles is available/);
      await saveScreenshot(app, "first-run-12-settings-update-notice.png");
      assert.match(cli("--data-dir", real, "status"), /A newer version of Circles is available: 99\.0\.0/);
    } finally {
      await e2e.closeApp(app);
      await server.stop();
    }
  });
});
