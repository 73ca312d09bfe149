// End-to-end: a learner's data rights in the real window (issue 16, item 3).
// The facilitator exports one learner's data (a JSON file in the exports
// folder with their email and attendance), then erases them after a
// confirmation: the row reads "Erased learner", has no edit or erase action
// left, attendance counts stay, and no file of the data folder holds the
// email any more. Screenshots: learner-erase-confirm.png, learner-erased.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

import { cli, click, filesHolding, dateFromToday, driverForFile, saveScreenshot, tempDir, text, waitFor } from "./harness.mjs";

const EMAIL = "ana.souza@example.org";

describe("a learner's data rights (real window)", () => {
  const e2e = driverForFile("learner-rights");
  before(e2e.start);
  after(e2e.stop);

  test("export one learner's data, then erase them everywhere on this computer", async () => {
    const laptop = tempDir("learner-rights");
    const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Reading Circle", "--time-zone", "America/Chicago",
      "--start-time", "18:00", "--duration", "90", "--first-date", dateFromToday(-14), "--meetings", "4").trim();
    const anaId = cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Ana Souza", "--email", EMAIL).trim();
    cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Bea Lima");
    const meetingId = JSON.parse(cli("--data-dir", laptop, "export", "all")).circles[0].meetings.find((m) => m.number === 1).id;
    cli("--data-dir", laptop, "attendance", "mark", "--meeting", meetingId, "--learner", anaId, "--mark", "present");

    const app = await e2e.openApp(laptop);
    /** Click the button `testid` in the learner row whose text has `name`. */
    const inRow = (name, testid) =>
      app.execute(
        `const row = [...document.querySelectorAll('[data-testid="learner-row"]')].find((r) => r.textContent.includes(arguments[0]));
         const button = row && row.querySelector('[data-testid="' + arguments[1] + '"]');
         if (button) button.click();
         return !!button;`,
        [name, testid],
      );
    const rowTexts = async () => Promise.all((await app.findAll('[data-testid="learner-row"]')).map((r) => r.text()));
    try {
      await click(app, '[data-testid="nav-circles"]');
      await click(app, `[data-circle-id="${circleId}"] button.link`);
      await click(app, '[data-testid="tab-learners"]');
      await waitFor(async () => (await rowTexts()).some((t) => t.includes("Ana Souza")), { message: "Ana's row" });

      // Export: a JSON file with everything held about her.
      assert.ok(await inRow("Ana Souza", "export-learner"));
      const saved = await waitFor(async () => {
        const shown = await app.findAll('[data-testid="learner-export-path"]');
        return shown.length > 0 && (await shown[0].text()).trim();
      }, { message: "the export's path" });
      const exported = fs.readFileSync(saved, "utf8");
      assert.ok(exported.includes(EMAIL), "the export holds her email");
      assert.ok(exported.includes("present"), "and her attendance");
      JSON.parse(exported);
      fs.rmSync(saved);

      // Erase, after a confirmation that says what it does.
      assert.ok(await inRow("Ana Souza", "erase-learner"));
      const confirm = await text(app, '[data-testid="erase-confirm"]');
      assert.match(confirm, /Ana Souza/);
      await new Promise((r) => setTimeout(r, 1000));
      await saveScreenshot(app, "learner-erase-confirm.png");
      await click(app, '[data-testid="erase-learner-confirm"]');
      await waitFor(async () => (await app.findAll('[data-testid="erase-confirm"]')).length === 0, { message: "the confirmation closes" });
      await waitFor(async () => {
        const rows = await rowTexts();
        return !rows.some((t) => t.includes("Ana Souza")) && rows.some((t) => /Erased learner/.test(t));
      }, { message: "Ana's row erased" });
      assert.equal(await inRow("Erased learner", "erase-learner"), false, "no second erase");
      await new Promise((r) => setTimeout(r, 1000));
      await saveScreenshot(app, "learner-erased.png");

      // Her attendance still counts; her email is in no file of the data folder.
      const roster = JSON.parse(cli("--data-dir", laptop, "--json", "attendance", "roster", "--meeting", meetingId));
      assert.match(JSON.stringify(roster), /present/, JSON.stringify(roster));
      assert.deepEqual(filesHolding(laptop, EMAIL), [], "no file holds the erased email");
    } finally {
      await e2e.closeApp(app);
    }
  });
});
