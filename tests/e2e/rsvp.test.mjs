// End-to-end: learners' answers to a meeting's reminder reach the attendance
// screen (issue 15, item 4). A circle with tonight's meeting and two learners
// is made on a laptop and synced by the app; the server makes each learner's
// signed RSVP link (`circles-server link make`, the link their reminder
// carries); opening a link (GET, as a mail scanner would) changes nothing,
// its button (POST) records the answer. After the app syncs, the attendance
// screen shows "said they're coming" and "said they can't come" beside them.
// Screenshot: rsvp-attendance.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";

import { cli, click, dateFromToday, driverForFile, saveScreenshot, signInApp, sleep, startSyncServer, syncAppUntil, tempDir, waitFor } from "./harness.mjs";

const PUBLIC = "https://circles.example.org";

function admin(server, db, ...args) {
  const r = spawnSync(server, ["--db", db, ...args], { encoding: "utf8", env: { ...process.env, RUST_LOG: "warn" } });
  assert.equal(r.status, 0, `circles-server ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Each roster row: [name, its answer tag's data-rsvp or "", the tag's words or ""]. */
const rosterAnswers = (session) =>
  session.execute(
    `return [...document.querySelectorAll('[data-testid="roster-row"]')].map((r) => {
       const tag = r.querySelector('[data-testid="rsvp"]');
       return [r.querySelector('.learner-name').childNodes[0].textContent.trim(), tag ? tag.dataset.rsvp : "", tag ? tag.textContent.trim() : ""];
     });`,
  );

describe("learners' answers on the attendance screen (real window)", () => {
  const e2e = driverForFile("rsvp");
  before(e2e.start);
  after(e2e.stop);

  test("an RSVP made from a learner's link shows on the attendance screen after the app syncs", async () => {
    const work = tempDir("rsvp");
    const server = await startSyncServer(work, "rsvp", ["--public-url", PUBLIC]);
    const serverBin = process.env.CIRCLES_SERVER;
    const laptop = path.join(work, "laptop");
    // Tonight's meeting, so the app's Today screen opens its attendance.
    const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Reading Circle", "--time-zone", "America/Chicago",
      "--start-time", "18:00", "--duration", "90", "--first-date", dateFromToday(0), "--meetings", "1").trim();
    const lena = cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Lena Okafor", "--email", "lena@example.org").trim();
    const omar = cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Omar Haddad", "--email", "omar@example.org").trim();
    cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Pia Santos");
    const meeting = JSON.parse(cli("--data-dir", laptop, "schedule", "list", "--circle", circleId, "--json"))[0].id;

    const app = await e2e.openApp(laptop);
    const openAttendance = async () => {
      await click(app, '[data-testid="nav-today"]');
      await click(app, '[data-testid="open-attendance"]');
      await waitFor(async () => (await rosterAnswers(app)).length === 3, { message: "3 learners on the roster" });
    };
    try {
      await signInApp(app, server.url);
      await openAttendance();
      assert.deepEqual((await rosterAnswers(app)).map(([, rsvp]) => rsvp), ["", "", ""], "no answers yet");

      // Lena says yes, Omar says no, each from their own link.
      const answer = async (learner, purpose, says) => {
        const url = admin(serverBin, server.db, "link", "make", "--purpose", purpose, "--learner", learner, "--meeting", meeting, "--public-url", PUBLIC);
        assert.ok(url.startsWith(`${PUBLIC}/l/`), url);
        const local = url.replace(PUBLIC, server.url);
        const shown = await fetch(local, { headers: { "accept-language": "en" } });
        assert.equal(shown.status, 200);
        assert.match(await shown.text(), /method="post"/, "opening the link only shows its button");
        const done = await fetch(local, { method: "POST", headers: { "accept-language": "en" } });
        assert.equal(done.status, 200);
        assert.match(await done.text(), says);
      };
      await answer(lena, "rsvp_yes", /you're coming to Reading Circle/);
      await answer(omar, "rsvp_no", /you can't come to Reading Circle/);

      await click(app, '[data-testid="nav-sync"]');
      await syncAppUntil(
        app,
        async () => {
          const answered = await app.executeAsync(
            `const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke("roster", { meetingId: arguments[0] })
               .then((v) => done(v.entries.filter((e) => e.rsvp).length)).catch(() => done(0));`,
            [meeting],
          );
          return answered === 2;
        },
        "the answers pulled by the app",
      );
      await openAttendance();
      await waitFor(async () => (await rosterAnswers(app)).filter(([, rsvp]) => rsvp).length === 2, { message: "the answers on the roster" });
      assert.deepEqual(await rosterAnswers(app), [
        ["Lena Okafor", "yes", "said they're coming"],
        ["Omar Haddad", "no", "said they can't come"],
        ["Pia Santos", "", ""],
      ]);
      await sleep(1000);
      await saveScreenshot(app, "rsvp-attendance.png");
    } finally {
      await e2e.closeApp(app);
      await server.stop();
    }
  });
});
