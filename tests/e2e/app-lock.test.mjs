// End-to-end: the app lock on a shared laptop (issue 16, item 2). A PIN is
// set in Settings (a bad one refused first); "Lock now" shows the lock
// screen with nothing of the learners in the page; a wrong PIN is an error,
// the right one brings the window back; a restart opens locked; and with
// the idle time at 1 minute, a minute without input locks the window.
// Screenshots: app-lock-settings.png, app-lock-screen.png, app-lock-wrong.png,
// app-lock-forgot.png, app-lock-idle.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { axe, cli, click, dateFromToday, driverForFile, saveScreenshot, tempDir, text, typeInto, waitFor } from "./harness.mjs";

const LEARNER = "Beatriz Lockwood";
const PIN = "2580";

describe("the app lock (real window)", () => {
  const e2e = driverForFile("app-lock");
  before(e2e.start);
  after(e2e.stop);

  const count = async (app, css) => (await app.findAll(css)).length;
  const page = (app) => app.execute("return document.documentElement.outerHTML;");

  async function unlock(app, pin) {
    await typeInto(app, '[data-testid="lock-secret"]', pin);
    await click(app, '[data-testid="lock-unlock"]');
  }

  test("set a PIN, lock now, wrong and right PIN, opens locked, locks when idle", async () => {
    const laptop = tempDir("app-lock");
    const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Reading Circle", "--time-zone", "America/Chicago",
      "--start-time", "18:00", "--duration", "90", "--first-date", dateFromToday(-7), "--meetings", "4").trim();
    cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", LEARNER, "--email", "beatriz@example.org");

    let app = await e2e.openApp(laptop);
    try {
      assert.equal(await count(app, '[data-testid="lock-now"]'), 0, "no Lock now without a lock");
      await click(app, '[data-testid="nav-settings"]');
      await app.waitForAll('[data-testid="app-lock-settings"]');
      // A PIN that is too short is refused next to its field, and sets nothing.
      await typeInto(app, '[data-testid="app-lock-secret"]', "12");
      await typeInto(app, '[data-testid="app-lock-repeat"]', "12");
      await click(app, '[data-testid="app-lock-save"]');
      assert.match(await text(app, '[data-testid="error-secret"]'), /4 to 12 digits/);
      assert.equal(await count(app, '[data-testid="lock-now"]'), 0, "the refused PIN set nothing");

      await typeInto(app, '[data-testid="app-lock-secret"]', PIN);
      await typeInto(app, '[data-testid="app-lock-repeat"]', PIN);
      await click(app, '[data-testid="app-lock-save"]');
      assert.match(await text(app, '[data-testid="app-lock-done"]'), /app lock is set/);
      assert.match(await text(app, '[data-testid="app-lock-state"]'), /PIN .* 5 min/);
      await saveScreenshot(app, "app-lock-settings.png");
      assert.deepEqual(await axe(app), [], "the settings section passes axe-core's WCAG 2 AA rules");

      // The learner on screen, then Lock now: nothing of them is left in the page.
      await click(app, '[data-testid="nav-circles"]');
      await click(app, `[data-circle-id="${circleId}"] button.link`);
      await click(app, '[data-testid="tab-learners"]');
      await waitFor(async () => (await page(app)).includes(LEARNER), { message: "the learner on screen" });
      await click(app, '[data-testid="lock-now"]');
      await app.waitForAll('[data-testid="lock-screen"]');
      const locked = await page(app);
      assert.ok(!locked.includes(LEARNER), "no learner's name in the locked window's DOM");
      assert.ok(!locked.includes("Reading Circle"), "no circle's name either");
      assert.equal(await count(app, ".shell"), 0, "nothing behind the lock screen");
      assert.equal(
        await app.execute("return document.activeElement && document.activeElement.dataset.testid;"),
        "lock-secret",
        "the PIN field has the focus",
      );
      await saveScreenshot(app, "app-lock-screen.png");

      await unlock(app, "0000");
      assert.match(await text(app, '[data-testid="lock-error"]'), /not the right PIN/);
      assert.equal(await count(app, ".shell"), 0);
      await saveScreenshot(app, "app-lock-wrong.png");
      assert.deepEqual(await axe(app), [], "the lock screen passes axe-core's WCAG 2 AA rules");

      // "Forgot your PIN?" explains and offers only removing this computer's data.
      await click(app, '[data-testid="lock-forgot"]');
      assert.match(await text(app, '[data-testid="lock-forgot-help"]'), /no way round/);
      await app.waitForAll('[data-testid="remove-data-start"]');
      await saveScreenshot(app, "app-lock-forgot.png");
      await click(app, '[data-testid="lock-forgot-close"]');

      await unlock(app, PIN);
      await waitFor(async () => (await count(app, '[data-testid="lock-screen"]')) === 0, { message: "the window unlocked" });
      await waitFor(async () => (await page(app)).includes("Reading Circle"), { message: "the circle back where it was" });
    } finally {
      await e2e.closeApp(app);
    }

    // A restart opens locked.
    app = await e2e.openApp(laptop);
    try {
      await app.waitForAll('[data-testid="lock-screen"]');
      assert.equal(await count(app, ".shell"), 0, "opens on the lock screen alone");
      assert.ok(!(await page(app)).includes("Reading Circle"));
      await unlock(app, PIN);
      await app.waitForAll(".shell");

      // Idle: 1 minute without input locks the window.
      await click(app, '[data-testid="nav-settings"]');
      await typeInto(app, '[data-testid="app-lock-idle"]', "1");
      await click(app, '[data-testid="app-lock-save-idle"]');
      assert.match(await text(app, '[data-testid="app-lock-state"]'), /1 min/);
      await waitFor(async () => (await count(app, '[data-testid="lock-screen"]')) === 1, {
        timeoutMs: 80_000,
        intervalMs: 2_000,
        message: "the window locked after a minute without input",
      });
      await saveScreenshot(app, "app-lock-idle.png");
      await unlock(app, PIN);
      await app.waitForAll(".shell");
    } finally {
      await e2e.closeApp(app);
    }
  });
});
