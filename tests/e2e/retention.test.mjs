// A team's retention period, in the real window against a real server:
//   1. a circle of the team that ended 100 days ago, with a learner, made on
//      another laptop of the organizer's (the CLI) and synced;
//   2. the organizer (Ana, in the app) opens the Teams screen: the setting is
//      off; 5 days is refused in place with the range, and nothing is saved;
//      90 days is saved and synced;
//   3. the operator runs `circles-server retention run`: one learner anonymized;
//   4. both laptops sync and hold the learner erased.
// And the team's privacy notice on the same screen (issue 15): 501 characters
// are refused in place with nothing saved; a link is saved, synced, and the
// public page of the team's published circle shows it beside the consent box.
// Screenshots: test-output/e2e/retention-*.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

import {
  PASSWORD,
  axe,
  cli,
  click,
  dateFromToday,
  driverForFile,
  loginCli,
  saveScreenshot,
  signInApp,
  startSyncServer,
  tempDir,
  text,
  typeInto,
  waitFor,
} from "./harness.mjs";

const EMAIL = "retained.learner@example.org";

function admin(db, args) {
  const r = spawnSync(process.env.CIRCLES_SERVER, ["--db", db, ...args], {
    encoding: "utf8",
    env: { ...process.env, CIRCLES_PASSWORD: PASSWORD, RUST_LOG: "warn" },
  });
  assert.equal(r.status, 0, `circles-server ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Have the app sync now (the Sync screen's button) and wait until nothing waits. */
async function syncApp(app) {
  await click(app, '[data-testid="nav-sync"]');
  await click(app, '[data-testid="sync-now"]');
  await waitFor(async () => (await text(app, '[data-testid="sync-screen-pending"]')) === "Nothing waiting", {
    message: "the app's sync",
    timeoutMs: 30_000,
  });
  await new Promise((r) => setTimeout(r, 1500));
}

describe("a team's retention period (real window, real server)", () => {
  const e2e = driverForFile("retention");
  before(e2e.start);
  after(e2e.stop);

  test("set on the Teams screen, out of range refused, applied by the server, reaching both laptops", async () => {
    const work = tempDir("retention");
    const server = await startSyncServer(work, "retention");
    try {
      const team = admin(server.db, ["team", "add", "Riverbend"]);
      admin(server.db, ["team", "member", "add", team, "ana@example.org", "--organizer"]);

      // 1. Another laptop of Ana's: a circle of the team that ended 100 days ago.
      const laptop = tempDir("retention-cli");
      loginCli(laptop, server.url);
      cli("--data-dir", laptop, "sync");
      const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Spring Reading", "--time-zone", "America/Chicago",
        "--start-time", "18:30", "--duration", "90", "--team", "Riverbend", "--first-date", dateFromToday(-114), "--meetings", "3").trim();
      const learnerId = cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Rita Retained", "--email", EMAIL).trim();
      // A published circle of the team, to come: its public page shows the notice.
      cli("--data-dir", laptop, "circle", "create", "--name", "Autumn Writing", "--time-zone", "America/Chicago",
        "--start-time", "18:30", "--duration", "90", "--team", "Riverbend", "--first-date", dateFromToday(7), "--meetings", "4",
        "--venue-name", "Riverbend Library", "--publish");
      cli("--data-dir", laptop, "sync");

      // 2. Ana, in the app: the Teams screen's setting.
      const anaDir = tempDir("retention-ana");
      const app = await e2e.openApp(anaDir);
      await click(app, '[data-testid="welcome-offline"]');
      await app.waitForAll(".shell");
      await signInApp(app, server.url);
      await click(app, '[data-testid="nav-teams"]');
      await app.waitForAll('[data-testid="retention-form"]');
      const on = await app.execute(`return document.querySelector('[data-testid="retention-on"]').checked;`);
      assert.equal(on, false, "off by default");
      await click(app, '[data-testid="retention-on"]');
      await typeInto(app, '[data-testid="retention-days"]', "5");
      await click(app, '[data-testid="save-retention"]');
      try {
        await waitFor(async () => /30 to 3,650/.test(await text(app, '[data-testid="retention-error"]')), { message: "the range refused in place" });
      } catch (e) {
        await saveScreenshot(app, "retention-debug.png");
        console.log(await app.execute(`return document.querySelector('[data-testid="team"]').innerText;`));
        throw e;
      }
      const invalid = await app.execute(`return document.querySelector('[data-testid="retention-days"]').getAttribute("aria-invalid");`);
      assert.equal(invalid, "true");
      await saveScreenshot(app, "retention-1-refused.png");
      const shown = JSON.parse(cli("--data-dir", laptop, "--json", "team", "retention", "Riverbend"));
      assert.equal(shown.anonymize_after_days, null, "nothing saved");
      await typeInto(app, '[data-testid="retention-days"]', "90");
      await click(app, '[data-testid="save-retention"]');
      await waitFor(async () => /90 days/.test(await text(app, '[data-testid="teams-message"]')), { message: "the period saved" });
      await saveScreenshot(app, "retention-2-saved.png");

      // The privacy notice: too long, refused in place; nothing saved.
      await app.waitForAll('[data-testid="notice-form"]');
      assert.equal(await app.execute(`return document.querySelector('[data-testid="notice-text"]').value;`), "", "no notice yet");
      await typeInto(app, '[data-testid="notice-text"]', "x".repeat(501));
      await click(app, '[data-testid="save-notice"]');
      await waitFor(async () => /501 characters long; the limit is 500/.test(await text(app, '[data-testid^="error-notice-error-"]')), {
        message: "the notice's length refused in place",
      });
      const noticeInvalid = await app.execute(`return document.querySelector('[data-testid="notice-text"]').getAttribute("aria-invalid");`);
      assert.equal(noticeInvalid, "true");
      await saveScreenshot(app, "retention-3-notice-refused.png");
      const violations = await axe(app);
      assert.deepEqual(violations, [], `axe on the organizer's Teams screen: ${JSON.stringify(violations, null, 2)}`);
      await click(app, '[data-testid="nav-sync"]');
      await click(app, '[data-testid="nav-teams"]');
      await app.waitForAll('[data-testid="notice-form"]');
      assert.equal(await app.execute(`return document.querySelector('[data-testid="notice-text"]').value;`), "", "nothing saved");
      // A link: saved, and after a sync the circle's public page shows it.
      const NOTICE = "https://library.example.org/privacy";
      await typeInto(app, '[data-testid="notice-text"]', NOTICE);
      await click(app, '[data-testid="save-notice"]');
      await waitFor(async () => /privacy notice is saved/.test(await text(app, '[data-testid="teams-message"]')), { message: "the notice saved" });
      assert.equal(await app.execute(`return document.querySelector('[data-testid="notice-text"]').value;`), NOTICE);
      await app.execute(`document.querySelector('[data-testid="notice-form"]').scrollIntoView({ block: "center" });`);
      await saveScreenshot(app, "retention-4-notice-saved.png");
      await syncApp(app);
      const listingPath = admin(server.db, ["team", "public-link", team]);
      const listing = await (await fetch(server.url + listingPath)).text();
      const circlePath = listing.match(/\/circles\/[0-9a-f]{16}/)?.[0];
      assert.ok(circlePath, `the circle is listed: ${listing}`);
      const page = await (await fetch(server.url + circlePath, { headers: { "accept-language": "en" } })).text();
      assert.match(page, /<a href="https:\/\/library\.example\.org\/privacy">Read the team(&#39;|')s privacy notice<\/a>/, page);
      assert.match(page, /id="privacy-notice"/, page);
      assert.match(page, /aria-describedby="privacy-notice"/, "beside the consent box, tied to it");

      // 3. The operator's run: the learner of the circle that ended 100 days ago.
      const run = admin(server.db, ["retention", "run"]);
      assert.match(run, /Riverbend\s+90 days\s+1 learner\(s\) anonymized/, run);

      // 4. Both laptops pull the erase.
      cli("--data-dir", laptop, "sync");
      const onCli = JSON.parse(cli("--data-dir", laptop, "--json", "learner", "show", learnerId));
      assert.equal(onCli.fields?.name ?? onCli.name, "Erased learner", JSON.stringify(onCli));
      await syncApp(app);
      await click(app, '[data-testid="nav-teams"]');
      await app.waitForAll('[data-testid="retention-form"]');
      const days = await app.execute(`return document.querySelector('[data-testid="retention-days"]').value;`);
      assert.equal(days, "90", "the setting as saved");
      await e2e.closeApp(app);
      const inApp = JSON.parse(cli("--data-dir", anaDir, "--json", "learner", "show", learnerId));
      assert.equal(inApp.fields?.name ?? inApp.name, "Erased learner", JSON.stringify(inApp));
      assert.ok(!JSON.stringify(inApp).includes(EMAIL));
    } finally {
      await server.stop();
    }
  });
});
