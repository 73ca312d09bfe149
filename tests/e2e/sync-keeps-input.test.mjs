// End-to-end: a screen never loses what a person is typing when a sync brings a
// co-facilitator's changes. The app is signed in to a real circles-server; the
// CLI is a second laptop that changes the same circle and syncs. Half-written
// learner and feedback forms keep their text while the screen around them shows
// the news; a circle being edited that changed elsewhere says so, and both
// "Use theirs" and "Keep mine" work. Screenshots: test-output/e2e/sync-keeps-*.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";

import { cli, click, dateFromToday, driverForFile, loginCli, saveScreenshot, signInApp, startSyncServer, syncAppUntil, tempDir, typeInto, waitFor, text } from "./harness.mjs";

const valueOf = (session, css) => session.execute("return document.querySelector(arguments[0])?.value ?? null", [css]);

/** A screenshot with no text caret blinking in it (a focused field never gives two identical frames). */
async function screenshot(session, name) {
  await session.execute("document.activeElement?.blur(); return true;");
  return saveScreenshot(session, name);
}

describe("a sync keeps what is being typed (real window)", () => {
  const e2e = driverForFile("sync-keeps-input");
  before(e2e.start);
  after(e2e.stop);

  test("forms keep their text across a sync; a record changed elsewhere offers Keep mine / Use theirs", async () => {
    const work = tempDir("sync-keeps");
    const server = await startSyncServer(work, "sync-keeps");
    const url = server.url;
    const laptop = path.join(work, "laptop");
    const other = path.join(work, "other");
    // Meetings that have begun, so feedback can be given for the first one.
    const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Reading Circle", "--time-zone", "America/Chicago",
      "--start-time", "18:00", "--duration", "90", "--first-date", dateFromToday(-14), "--meetings", "4").trim();
    const anaId = cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Ana Souza", "--email", "ana@example.org").trim();

    const app = await e2e.openApp(laptop);
    try {
      await signInApp(app, url);
      // The other laptop: same account, gets the circle through the server.
      loginCli(other, url);
      cli("--data-dir", other, "sync");
      assert.equal(JSON.parse(cli("--data-dir", other, "circle", "list", "--json")).length, 1);

      // 1. A learner half added: another learner arrives, the typing stays.
      await click(app, '[data-testid="nav-circles"]');
      await click(app, `[data-circle-id="${circleId}"] button.link`);
      await click(app, '[data-testid="tab-learners"]');
      await click(app, '[data-testid="add-learner"]');
      const [name] = await app.waitForAll('[data-testid="learner-name"]');
      await name.sendKeys("Bea Half-typ");
      await typeInto(app, "#l-goals", "Write a first program");
      cli("--data-dir", other, "learner", "add", "--circle", circleId, "--name", "Carl Remote");
      cli("--data-dir", other, "sync");
      await syncAppUntil(app, async () => {
        const rows = await app.findAll('[data-testid="learner-row"]');
        return (await Promise.all(rows.map((r) => r.text()))).some((t) => t.includes("Carl Remote"));
      }, "the other laptop's learner in the list");
      assert.equal(await valueOf(app, '[data-testid="learner-name"]'), "Bea Half-typ", "the name being typed is kept");
      assert.equal(await valueOf(app, "#l-goals"), "Write a first program");
      assert.equal((await app.findAll('[data-testid="remote-change"]')).length, 0, "a new learner elsewhere is no conflict");
      await screenshot(app, "sync-keeps-learner.png");
      // Typing goes on, and the learner saves.
      await name.sendKeys("ed");
      await click(app, '[data-testid="save-learner"]');
      await waitFor(async () => (await app.findAll('[data-testid="learner-row"]')).length === 3, { message: "three learners" });

      // 2. Feedback half written: attendance taken elsewhere shows up beside it.
      await click(app, '[data-testid="tab-feedback"]');
      await click(app, '[data-testid="feedback-row"] button');
      const [reflection] = await app.waitForAll('[data-testid="reflection"]');
      await reflection.sendKeys("Pairs helped each other with loops");
      const meetingId = JSON.parse(cli("--data-dir", other, "export", "all")).circles[0].meetings.find((m) => m.number === 1).id;
      cli("--data-dir", other, "attendance", "mark", "--meeting", meetingId, "--learner", anaId, "--mark", "present");
      cli("--data-dir", other, "sync");
      await syncAppUntil(app, async () => /1 attended/.test(await text(app, '[data-testid="feedback-attendance"]')), "the attendance taken elsewhere");
      assert.equal(await valueOf(app, '[data-testid="reflection"]'), "Pairs helped each other with loops", "the reflection is kept");
      await screenshot(app, "sync-keeps-feedback.png");

      // 3. The circle being edited is renamed elsewhere: the form says so; Use theirs.
      await click(app, '[data-testid="nav-circles"]');
      await click(app, `[data-circle-id="${circleId}"] button.link`);
      await click(app, '[data-testid="edit-circle"]');
      await waitFor(async () => (await valueOf(app, '[data-testid="circle-name"]')) === "Reading Circle", { message: "the circle in the form" });
      await typeInto(app, "#description", "We read one chapter a week.");
      cli("--data-dir", other, "circle", "edit", circleId, "--name", "Reading Circle (renamed elsewhere)");
      cli("--data-dir", other, "sync");
      await syncAppUntil(app, async () => (await app.findAll('[data-testid="remote-change"]')).length > 0, "the notice that the circle changed");
      assert.match(await text(app, '[data-testid="remote-change"]'), /another computer/);
      assert.match(await text(app, '[data-testid="remote-change"]'), /Name/);
      assert.equal(await valueOf(app, "#description"), "We read one chapter a week.", "the typing is kept until the person chooses");
      assert.equal(await valueOf(app, '[data-testid="circle-name"]'), "Reading Circle");
      await screenshot(app, "sync-keeps-circle-notice.png");
      await click(app, '[data-testid="use-theirs"]');
      assert.equal(await valueOf(app, '[data-testid="circle-name"]'), "Reading Circle (renamed elsewhere)");
      assert.equal(await valueOf(app, "#description"), "", "their version replaces the typing");
      assert.equal((await app.findAll('[data-testid="remote-change"]')).length, 0);

      // ...and again, this time Keep mine, then save: the typed version wins.
      await typeInto(app, "#description", "We read two chapters a week.");
      cli("--data-dir", other, "circle", "edit", circleId, "--venue-name", "Room 5");
      cli("--data-dir", other, "sync");
      await syncAppUntil(app, async () => (await app.findAll('[data-testid="remote-change"]')).length > 0, "the notice about the venue");
      await click(app, '[data-testid="keep-mine"]');
      assert.equal((await app.findAll('[data-testid="remote-change"]')).length, 0);
      assert.equal(await valueOf(app, "#description"), "We read two chapters a week.");
      assert.equal(await valueOf(app, '[data-testid="venue-name"]'), "", "the venue as it was in the form");
      await click(app, '[data-testid="save-circle"]');
      assert.equal(await text(app, '[data-testid="circle-title"]'), "Reading Circle (renamed elsewhere)");
      const saved = JSON.parse(cli("--data-dir", laptop, "circle", "show", circleId, "--json"));
      assert.equal(saved.description, "We read two chapters a week.");
      assert.equal(saved.venue.name, "", "keeping mine keeps every field as the form had it");
      await screenshot(app, "sync-keeps-circle-saved.png");
    } finally {
      await e2e.closeApp(app);
      await server.stop();
    }
  });
});
