// End-to-end: the printed sign-in sheet, in the real window on the demo data:
// from the attendance screen (one page for the meeting), and on the guide
// screen with the run sheet ("include the sign-in sheet": one page more).
// The PDFs' pages are counted; their text (pdftotext, poppler-utils from scripts/setup.sh) holds
// the enrolled learners' names and not the others'; the first page is
// rendered to PNG (pdftoppm) for a person to look at.
// Screenshots: test-output/e2e/sign-in-attendance.png, sign-in-guide.png,
// and the page: sign-in-sheet-page.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { cli, click, driverForFile, outDir, saveScreenshot, tempDir, text, waitFor } from "./harness.mjs";

/** The file at `p` appears (the app wrote it) and is read whole. */
async function readWritten(p) {
  await waitFor(() => fs.existsSync(p) && fs.statSync(p).size > 0, { message: `the file ${p}` });
  return fs.readFileSync(p);
}

/** Page objects in a PDF ("/Type /Page", not "/Type /Pages"). */
function pageCount(pdf) {
  const s = pdf.toString("latin1");
  return (s.match(/\/Type \/Page\b(?!s)/g) ?? []).length;
}

describe("the printed sign-in sheet (real window)", () => {
  const e2e = driverForFile("sign-in-sheet");
  before(e2e.start);
  after(e2e.stop);

  test("print a meeting's sign-in sheet from attendance, and with the run sheet from the guide", async () => {
    const dataDir = tempDir("sign-in-sheet");
    assert.match(cli("--data-dir", dataDir, "demo"), /Loaded the demo/);

    const app = await e2e.openApp(dataDir);
    try {
      const rows = await app.waitForAll('[data-testid="today-meeting"]');
      const meetingId = await rows[0].attribute("data-meeting-id");
      const circleId = JSON.parse(cli("--data-dir", dataDir, "--json", "guide", "show", meetingId)).circle_id;
      const learners = JSON.parse(cli("--data-dir", dataDir, "--json", "learner", "list", "--circle", circleId));
      const enrolled = learners.filter((l) => !l.withdrawn && !l.waitlisted_at && !l.erased).map((l) => l.name);
      const others = learners.filter((l) => l.withdrawn || l.waitlisted_at || l.erased).map((l) => l.name);
      assert.ok(enrolled.length >= 1, "the demo circle has learners");

      // Attendance: "Print sign-in sheet" saves one page for this meeting.
      await click(app, `[data-testid="today-meeting"][data-meeting-id="${meetingId}"] [data-testid="open-attendance"]`);
      await app.waitForAll('[data-testid="roster"]');
      await click(app, '[data-testid="save-sign-in-sheet"]');
      const sheetPath = await text(app, '[data-testid="sign-in-sheet-path"]');
      assert.match(path.basename(sheetPath), /^sign-in-sheet-\d{4}-\d\d-\d\d-.*\.pdf$/);
      const sheet = await readWritten(sheetPath);
      assert.equal(sheet.subarray(0, 5).toString(), "%PDF-", `${sheetPath} is a PDF`);
      assert.equal(pageCount(sheet), 1, "one meeting, one page");
      await saveScreenshot(app, "sign-in-attendance.png");

      // poppler-utils (scripts/setup.sh) reads the sheet back and renders it.
      {
        const r = spawnSync("pdftotext", ["-layout", sheetPath, "-"], { encoding: "utf8" });
        assert.equal(r.status, 0, String(r.stderr ?? r.error));
        for (const name of enrolled) assert.ok(r.stdout.includes(name), `${name} is on the sheet:\n${r.stdout}`);
        for (const name of others) assert.ok(!r.stdout.includes(name), `${name} is not on the sheet`);
        assert.match(r.stdout, /Sign-in sheet|Hoja de asistencia|Folha de presenças/i);
      }
      {
        const prefix = path.join(outDir, "sign-in-sheet-page");
        const r = spawnSync("pdftoppm", ["-png", "-r", "70", "-singlefile", "-f", "1", "-l", "1", sheetPath, prefix]);
        assert.equal(r.status, 0, String(r.stderr ?? r.error));
        console.log(`the sheet's first page: ${prefix}.png`);
      }

      // The guide: the run sheet alone, then with the sign-in sheet ticked.
      await click(app, '[data-testid="nav-today"]');
      await app.waitForAll('[data-testid="today-meeting"]');
      await click(app, `[data-testid="today-meeting"][data-meeting-id="${meetingId}"] [data-testid="open-guide"]`);
      await app.waitForAll('[data-testid="guide-section"]');
      await click(app, '[data-testid="save-run-sheet"]');
      const plainPath = await text(app, '[data-testid="run-sheet-path"]');
      const plain = pageCount(await readWritten(plainPath));
      await click(app, '[data-testid="include-sign-in"]');
      assert.equal(await app.execute(`return document.querySelector('[data-testid="include-sign-in"]').checked`), true);
      await click(app, '[data-testid="save-run-sheet"]');
      // Saved within the same second, it has the same name: wait for its pages.
      await waitFor(
        async () => {
          const [shown] = await app.findAll('[data-testid="run-sheet-path"]');
          const p = shown ? await shown.text() : "";
          return p && fs.existsSync(p) && pageCount(fs.readFileSync(p)) === plain + 1;
        },
        { message: "the run sheet with its sign-in page (one page more)" },
      );
      await saveScreenshot(app, "sign-in-guide.png");

      // The guide's own "Print sign-in sheet": the same one page.
      await click(app, '[data-testid="save-sign-in-sheet"]');
      const again = await text(app, '[data-testid="sign-in-sheet-path"]');
      assert.equal(pageCount(await readWritten(again)), 1);
      assert.equal((await app.findAll('[data-testid="guide-error"]')).length, 0, "no error shown");
    } finally {
      await e2e.closeApp(app);
    }
  });
});
