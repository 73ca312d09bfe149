// End-to-end: the meeting guide, the projector view, the run-sheet PDF, the
// after-meeting feedback and the team report, in the real window on the demo data.
// Screenshots: test-output/e2e/guide.png, guide-projector.png, feedback.png, feedback-saved.png,
// team-report.png, team-report-charts.png, circle-report.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";

import { cli, click, dateFromToday, driverForFile, saveScreenshot, tempDir, typeInto, waitFor, text } from "./harness.mjs";

// WebDriver key codes (W3C "keys" table).
const KEY = { right: "\uE014", left: "\uE012", escape: "\uE00C", space: " " };

async function texts(session, css) {
  const els = await session.waitForAll(css);
  return Promise.all(els.map((e) => e.text()));
}

/** The file at `p` appears (the app wrote it) and is read whole. */
async function readWritten(p) {
  await waitFor(() => fs.existsSync(p) && fs.statSync(p).size > 0, { message: `the file ${p}` });
  return fs.readFileSync(p);
}

describe("meeting guide, feedback and team report (real window)", () => {
  const e2e = driverForFile("guides");
  before(e2e.start);
  after(e2e.stop);

  test("edit a guide, project it, print its run sheet, give feedback, export the team report", async () => {
    const dataDir = tempDir("guides");
    const loaded = cli("--data-dir", dataDir, "demo");
    assert.match(loaded, /Loaded the demo/);

    const app = await e2e.openApp(dataDir);
    try {
      // Today -> tonight's meeting's guide.
      const rows = await app.waitForAll('[data-testid="today-meeting"]');
      assert.ok(rows.length >= 1, "the demo has meetings on Today");
      const meetingId = await rows[0].attribute("data-meeting-id");
      await click(app, '[data-testid="today-meeting"] [data-testid="open-guide"]');
      const sections = await app.waitForAll('[data-testid="guide-section"]');
      assert.ok(sections.length >= 3, `a guide has its template's sections (got ${sections.length})`);
      assert.match(await text(app, '[data-testid="guide-total"]'), /\d+/);

      // Edit the first section in place.
      await click(app, '[data-testid="edit-section"]');
      await typeInto(app, '[data-testid="section-title-input"]', "Welcome, name tags and tea");
      await typeInto(app, '[data-testid="section-minutes-input"]', "abc");
      await click(app, '[data-testid="save-section"]');
      // A bad number is refused next to its field; what was typed stays.
      assert.match(await text(app, '[data-testid="error-minutes"]'), /number/i);
      assert.equal(
        await app.execute(`return document.querySelector('[data-testid="section-title-input"]').value`),
        "Welcome, name tags and tea",
      );
      await typeInto(app, '[data-testid="section-minutes-input"]', "12");
      await typeInto(app, '[data-testid="section-notes-input"]', "Put the kettle on before people arrive.");
      await click(app, '[data-testid="save-section"]');
      await waitFor(async () => (await texts(app, '[data-testid="section-title"]'))[0] === "Welcome, name tags and tea", {
        message: "the edited title in the list",
      });
      // Move it down one, then back up.
      await click(app, '[data-testid="move-down"]');
      await waitFor(async () => (await texts(app, '[data-testid="section-title"]'))[1] === "Welcome, name tags and tea", {
        message: "the section moved down",
      });
      const ups = await app.findAll('[data-testid="move-up"]');
      await ups[1].click();
      await waitFor(async () => (await texts(app, '[data-testid="section-title"]'))[0] === "Welcome, name tags and tea", {
        message: "the section moved back up",
      });

      // It persisted: leave the screen and come back.
      await click(app, '[data-testid="nav-today"]');
      await app.waitForAll('[data-testid="today-meeting"]');
      await click(app, `[data-testid="today-meeting"][data-meeting-id="${meetingId}"] [data-testid="open-guide"]`);
      await waitFor(async () => (await texts(app, '[data-testid="section-title"]'))[0] === "Welcome, name tags and tea", {
        message: "the edit after reloading the guide",
      });
      assert.match(await text(app, '[data-testid="guide-section"]'), /12 min/);
      assert.match(await text(app, '[data-testid="guide-section"]'), /kettle/);
      assert.ok((await app.findAll('[data-testid="guide-customized"]')).length === 1, "marked as edited");

      // The run sheet: a real PDF in the exports folder.
      await click(app, '[data-testid="save-run-sheet"]');
      const pdfPath = await text(app, '[data-testid="run-sheet-path"]');
      const pdf = await readWritten(pdfPath);
      assert.equal(pdf.subarray(0, 4).toString(), "%PDF", `${pdfPath} is a PDF`);
      console.log(`run sheet: ${pdfPath} (${pdf.length} bytes)`);
      await saveScreenshot(app, "guide.png");

      // Projector: large type, the current section, keys to move, Esc to leave.
      await click(app, '[data-testid="projector-toggle"]');
      const projector = (await app.waitForAll('[data-testid="projector"]'))[0];
      assert.equal(await text(app, '[data-testid="projector-current"]'), "Welcome, name tags and tea");
      assert.equal((await app.findAll(".shell")).length, 0, "the projector view fills the window");
      await projector.sendKeys(KEY.right);
      await waitFor(async () => /\b2\b/.test(await text(app, '[data-testid="projector-step"]')), { message: "section 2 on the projector" });
      const second = await text(app, '[data-testid="projector-current"]');
      assert.notEqual(second, "Welcome, name tags and tea");
      await projector.sendKeys(KEY.left);
      await waitFor(async () => (await text(app, '[data-testid="projector-current"]')) === "Welcome, name tags and tea", {
        message: "back to section 1",
      });
      await projector.sendKeys(KEY.space);
      await waitFor(async () => (await text(app, '[data-testid="projector-current"]')) === second, { message: "Space moves on" });
      assert.match(await text(app, '[data-testid="projector-clock"]'), /\d/);
      assert.match(await text(app, '[data-testid="projector-remaining"]'), /^\d+:\d\d$/);
      await saveScreenshot(app, "guide-projector.png");
      await projector.sendKeys(KEY.escape);
      await app.waitForAll('[data-testid="guide-section"]');
      assert.equal((await app.findAll('[data-testid="projector"]')).length, 0, "Esc leaves the projector view");

      // Feedback for a meeting that has ended (the demo leaves some waiting).
      await click(app, '[data-testid="nav-today"]');
      const waiting = await app.waitForAll('[data-testid="awaiting-feedback"]');
      assert.ok(waiting.length >= 1, "a past meeting waits for feedback");
      const which = await waiting[0].text();
      await click(app, '[data-testid="awaiting-feedback"] [data-testid="open-feedback"]');
      await app.waitForAll('[data-testid="rating"]');
      assert.equal((await app.findAll('[data-testid="not-ended"]')).length, 0, "the meeting has ended");
      const attendance = await text(app, '[data-testid="feedback-attendance"]');
      assert.ok(attendance.length > 0, "attendance already taken is shown");
      await click(app, '[data-testid="rating-option-4"]');
      await typeInto(app, '[data-testid="reflection"]', "Pairs helped each other with loops; the projector worked first time.");
      await typeInto(app, '[data-testid="next-week-note"]', "Bring the spare laptop for newcomers.");
      await app.execute(`document.querySelector("main").scrollTo(0, 0)`);
      await saveScreenshot(app, "feedback.png");
      await click(app, '[data-testid="save-feedback"]');
      await app.waitForAll('[data-testid="feedback-saved"]');
      assert.equal(await app.execute(`return document.querySelector('[data-testid="rating-4"]').checked`), true);
      await saveScreenshot(app, "feedback-saved.png");
      // Saved for good: it is no longer waiting on Today.
      await click(app, '[data-testid="nav-today"]');
      await app.waitForAll('[data-testid="today-meeting"]');
      const still = await Promise.all((await app.findAll('[data-testid="awaiting-feedback"]')).map((e) => e.text()));
      assert.ok(!still.includes(which), `"${which}" no longer waits for feedback`);

      // Team report for this year, exported as CSV.
      await click(app, '[data-testid="nav-reports"]');
      await app.waitForAll('[data-testid="team-totals"]');
      const year = new Date().getFullYear();
      assert.equal(await app.execute(`return document.querySelector('[data-testid="report-from"]').value`), `${year}-01-01`);
      const meetingsHeld = Number(await text(app, '[data-testid="total-meetings"]'));
      assert.ok(meetingsHeld > 0, "the demo team held meetings this year");
      await click(app, '[data-testid="export-team-csv"]');
      const csvPath = await text(app, '[data-testid="team-report-path"]');
      assert.match(csvPath, /\.csv$/);
      const csv = (await readWritten(csvPath)).toString("utf8");
      const lines = csv.trim().split(/\r?\n/);
      assert.match(lines[0], /^group,name,circles_run,meetings_held/);
      const total = lines[1].split(",");
      assert.equal(total[0], "total");
      assert.equal(Number(total[3]), meetingsHeld, "the CSV's meetings held match the screen");
      console.log(`team report: ${csvPath} (${lines.length} lines)`);
      await saveScreenshot(app, "team-report.png");
      await app.execute(`document.querySelector('[data-testid="chart-months"]').scrollIntoView({ block: "start" })`);
      assert.ok((await app.findAll('[data-testid="chart-months"] rect')).length >= 1, "attendance bars by month");
      assert.ok((await app.findAll('[data-testid="by-library"] tbody tr')).length >= 1, "figures by library");
      await saveScreenshot(app, "team-report-charts.png");

      // A circle's report (the circle screen's report tab): charts and a PDF.
      await click(app, '[data-testid="circle-report-link"]');
      await app.waitForAll('[data-testid="circle-report"]');
      assert.ok((await app.findAll('[data-testid="chart-attendance"] rect')).length >= 1, "attendance per meeting bars");
      await click(app, '[data-testid="export-circle-pdf"]');
      const circlePdf = await readWritten(await text(app, '[data-testid="circle-report-path"]'));
      assert.equal(circlePdf.subarray(0, 4).toString(), "%PDF");
      await saveScreenshot(app, "circle-report.png");
    } finally {
      await e2e.closeApp(app);
    }
  });

  test("wrap up a circle whose meetings are all over: ratings are required, then saved", async () => {
    // The demo placed four months back: every circle's last meeting has ended.
    const dataDir = tempDir("wrapup");
    cli("--data-dir", dataDir, "demo", "--today", dateFromToday(-120));
    const app = await e2e.openApp(dataDir);
    try {
      await click(app, '[data-testid="nav-circles"]');
      await click(app, '[data-testid="circle-row"] .circle-name button');
      await app.waitForAll('[data-testid="circle-title"]');
      // The circle screen offers "Wrap up" once the last meeting has ended.
      const opened = await app.execute(
        `const b = [...document.querySelectorAll(".screen-header button")].find((b) => /wrap up/i.test(b.textContent));
         if (b) b.click();
         return !!b;`,
      );
      assert.ok(opened, "the circle offers Wrap up");
      await app.waitForAll('[data-testid="save-wrap-up"]');
      await typeInto(app, '[data-testid="facilitator-goal"]', "Everyone finishes one small program of their own.");
      await click(app, '[data-testid="outcome-completed"]');
      await click(app, '[data-testid="save-wrap-up"]');
      // Completed needs both ratings: the core says so next to the goal rating; the text stays.
      assert.match(await text(app, '[data-testid="error-goal_rating"]'), /required/i);
      assert.equal(
        await app.execute(`return document.querySelector('[data-testid="facilitator-goal"]').value`),
        "Everyone finishes one small program of their own.",
      );
      await click(app, '[data-testid="goal-option-4"]');
      await click(app, '[data-testid="course-option-5"]');
      await typeInto(app, '[data-testid="course-reason"]', "Short videos and exercises that work well in a group.");
      await click(app, '[data-testid="save-wrap-up"]');
      await app.waitForAll('[data-testid="wrap-up-saved"]');
      await app.execute(`window.scrollTo(0, 0); document.querySelector("main").scrollTo(0, 0)`);
      await saveScreenshot(app, "wrap-up.png");
    } finally {
      await e2e.closeApp(app);
    }
  });
});
