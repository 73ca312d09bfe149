// End-to-end: delete against edit (issue 13 item 7). A learner deleted on one
// laptop while marked present on another is shown, on the laptop whose mark
// became invisible, as a conflict in plain words; "restore" brings the learner
// back with the mark, and the other laptop gets the learner back on its next
// sync; "leave it deleted" (a second time round) keeps her gone on both. The app is signed in to a real circles-server; the CLI is the other
// laptop of the same account. Screenshots: test-output/e2e/delete-against-edit-*.png.
//
// Ordering without timing: the CLI deletes the learner but does not sync yet,
// so the app cannot have pulled the deletion when it marks the learner
// present; the deletion is stamped before the mark, so whichever of the two
// reaches the server first, the app's pull of the deletion finds a mark the
// deleting laptop never saw.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";

import { cli, click, dateFromToday, driverForFile, loginCli, saveScreenshot, signInApp, sleep, startSyncServer, syncAppUntil, tempDir, text, waitFor } from "./harness.mjs";

const rosterMarks = (session) =>
  session.execute(
    `return [...document.querySelectorAll('[data-testid="roster-row"]')].map(r => [r.querySelector('.learner-name').innerText.trim(), r.dataset.mark]);`,
  );

/** Today → tonight's attendance, once `learners` rows are on its roster. */
async function openTonightsAttendance(app, learners) {
  await click(app, '[data-testid="nav-today"]');
  await click(app, '[data-testid="open-attendance"]');
  await waitFor(async () => (await rosterMarks(app)).length === learners, { message: `${learners} learners on the roster` });
}

/** Click `mark` on the roster row of `name`, and wait until the row shows it. */
async function markOnApp(app, name, mark) {
  await app.execute(
    `[...document.querySelectorAll('[data-testid="roster-row"]')].find(r => r.innerText.includes(arguments[0])).querySelector(\`[data-testid="mark-\${arguments[1]}"]\`).click(); return true;`,
    [name, mark],
  );
  await waitFor(async () => (await rosterMarks(app)).some(([n, m]) => n === name && m === mark), { message: `${name} marked ${mark}` });
}

describe("a learner deleted elsewhere while marked here (real window)", () => {
  const e2e = driverForFile("delete-against-edit");
  before(e2e.start);
  after(e2e.stop);

  test("the Sync screen shows the conflict in plain words; restoring brings the learner and the mark back everywhere; leaving it deleted keeps her gone", async () => {
    const work = tempDir("delete-against-edit");
    const server = await startSyncServer(work, "delete-against-edit");
    const laptop = path.join(work, "laptop");
    const other = path.join(work, "other");
    // Tonight's meeting, so the app's Today screen opens its attendance.
    const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Reading Circle", "--time-zone", "America/Chicago",
      "--start-time", "18:00", "--duration", "90", "--first-date", dateFromToday(0), "--meetings", "1").trim();
    const anaId = cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Ana Souza").trim();
    cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Bruno Lima");
    const learnersOn = (dataDir) => JSON.parse(cli("--data-dir", dataDir, "learner", "list", "--circle", circleId, "--json")).map((l) => l.name).sort();

    const app = await e2e.openApp(laptop);
    try {
      await signInApp(app, server.url);
      loginCli(other, server.url);
      cli("--data-dir", other, "sync");
      assert.deepEqual(learnersOn(other), ["Ana Souza", "Bruno Lima"], "the other laptop has the circle and both learners");

      // The other laptop deletes Ana, not yet synced: the app cannot see it.
      cli("--data-dir", other, "learner", "delete", anaId);
      assert.deepEqual(learnersOn(other), ["Bruno Lima"]);

      // The app marks Ana present at tonight's meeting.
      await openTonightsAttendance(app, 2);
      await markOnApp(app, "Ana Souza", "present");

      // Now the other laptop's deletion reaches the server, then the app syncs.
      cli("--data-dir", other, "sync");
      await click(app, '[data-testid="nav-sync"]');
      await syncAppUntil(app, async () => (await app.findAll('[data-testid="conflict"]')).length > 0, "the delete-against-edit conflict on the Sync screen");
      const conflicts = await app.findAll('[data-testid="conflict"]');
      assert.equal(conflicts.length, 1, "one conflict: Ana");
      const words = await conflicts[0].text();
      assert.match(words, /Ana Souza/);
      assert.match(words, /deleted on another computer/);
      assert.match(words, /Leave it deleted/);
      assert.match(words, /Restore/);
      await sleep(1000);
      await saveScreenshot(app, "delete-against-edit-conflict.png");

      // Restore: Ana is back on the roster, still marked present.
      await click(app, '[data-testid="conflict"] [data-testid="keep-lost"]');
      await waitFor(async () => (await app.findAll('[data-testid="conflict"]')).length === 0, { message: "the conflict resolved" });
      assert.equal((await app.findAll('[data-testid="no-conflicts"]')).length, 1);
      await openTonightsAttendance(app, 2);
      assert.deepEqual(await rosterMarks(app), [["Ana Souza", "present"], ["Bruno Lima", ""]], "Ana is back, marked present");
      await sleep(1000);
      await saveScreenshot(app, "delete-against-edit-restored.png");

      // The restore reaches the other laptop: after the app's and its own syncs, the CLI lists Ana again.
      await click(app, '[data-testid="nav-sync"]');
      await syncAppUntil(app, async () => {
        cli("--data-dir", other, "sync");
        return learnersOn(other).length === 2;
      }, "the other laptop to have Ana again");
      assert.deepEqual(learnersOn(other), ["Ana Souza", "Bruno Lima"]);
      const exported = JSON.parse(cli("--data-dir", other, "export", "all")).circles[0];
      const marks = (exported.attendance ?? exported.marks ?? []).filter((a) => a.learner_id === anaId);
      assert.deepEqual(marks.map((a) => a.mark), ["present"], "and her mark");
      assert.equal(await text(app, '[data-testid="no-conflicts"]'), "No conflicts.");

      // Once more, and this time the deletion is accepted: Ana stays gone on both laptops.
      cli("--data-dir", other, "learner", "delete", anaId);
      await openTonightsAttendance(app, 2);
      await markOnApp(app, "Ana Souza", "late");
      cli("--data-dir", other, "sync");
      await click(app, '[data-testid="nav-sync"]');
      await syncAppUntil(app, async () => (await app.findAll('[data-testid="conflict"]')).length > 0, "the second conflict");
      assert.match(await text(app, '[data-testid="conflict"]'), /Ana Souza/);
      await click(app, '[data-testid="conflict"] [data-testid="keep-won"]');
      await waitFor(async () => (await app.findAll('[data-testid="no-conflicts"]')).length === 1, { message: "the second conflict resolved" });
      await openTonightsAttendance(app, 1);
      assert.deepEqual(await rosterMarks(app), [["Bruno Lima", ""]], "Ana left deleted");
      cli("--data-dir", other, "sync");
      assert.deepEqual(learnersOn(other), ["Bruno Lima"], "and still deleted on the other laptop");
    } finally {
      await e2e.closeApp(app);
      await server.stop();
    }
  });
});
