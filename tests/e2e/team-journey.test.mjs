// A library runs Circles for real, end to end, against a real circles-server and
// a real SMTP server (aiosmtpd from scripts/setup.sh's venv):
//   1. the organizer (Ana, in the app) invites a facilitator from the Teams screen;
//   2. the invitation email arrives at the SMTP server; the invitee (Bea) follows
//      its link and sets her name and password on the server's page (HTTP requests
//      that follow the form);
//   3. Bea signs in from the app, creates a circle (on her team, the form's default)
//      with a learner, and adds a co-facilitator (Carlos) from the team;
//   4. Carlos's laptop (the CLI) sees the circle after a sync, and adds a learner
//      offline;
//   5. the organizer's team report counts the circle, with its "synced up to" line;
//   6. Bea removes Carlos; at his next sync his laptop removes the circle's
//      learners, and his offline learner is kept in his refused changes.
// Screenshots: test-output/e2e/team-journey-*.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import {
  PASSWORD,
  click,
  dateFromToday,
  driverForFile,
  loginCli,
  saveScreenshot,
  startSmtp,
  startSyncServer,
  tempDir,
  text,
  typeInto,
  waitFor,
} from "./harness.mjs";

const PUBLIC = "https://circles.example.org";
const BEA_PASSWORD = "bea's long password";
const CARLOS_PASSWORD = "carlos's long password";
const CLI = process.env.CIRCLES_CLI;

function admin(server, db, args, input) {
  const r = spawnSync(server, ["--db", db, ...args], { encoding: "utf8", input, env: { ...process.env, RUST_LOG: "warn" } });
  assert.equal(r.status, 0, `circles-server ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

function circles(dataDir, args, env = {}) {
  const r = spawnSync(CLI, ["--data-dir", dataDir, ...args], { encoding: "utf8", env: { ...process.env, RUST_LOG: "warn", ...env } });
  assert.equal(r.status, 0, `circles ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Sign the app in from the Sync screen as someone, and wait for the first sync. */
async function signInAs(app, url, email, password) {
  await click(app, '[data-testid="nav-sync"]');
  await typeInto(app, '[data-testid="server-url"]', url);
  await typeInto(app, '[data-testid="sign-in-email"]', email);
  await typeInto(app, '[data-testid="sign-in-password"]', password);
  await click(app, '[data-testid="sign-in"]');
  await waitFor(async () => (await text(app, '[data-testid="sync-screen-pending"]')) === "Nothing waiting", {
    message: `${email}'s first sync`,
    timeoutMs: 30_000,
  });
}

/** Sync the app now and wait until nothing waits to be sent. */
async function syncApp(app) {
  await click(app, '[data-testid="nav-sync"]');
  await click(app, '[data-testid="sync-now"]');
  await waitFor(async () => (await text(app, '[data-testid="sync-screen-pending"]')) === "Nothing waiting", {
    message: "the app's sync",
    timeoutMs: 30_000,
  });
  await new Promise((r) => setTimeout(r, 1500));
}

describe("a library's team, end to end (real window, real server, real SMTP)", () => {
  const e2e = driverForFile("team-journey");
  before(e2e.start);
  after(e2e.stop);

  test("invite, join, sign in, circle on the team, co-facilitator added then removed", async () => {
    const work = tempDir("team-journey");
    const smtp = await startSmtp(work, "team-journey");
    const server = await startSyncServer(work, "team-journey", [
      "--public-url", PUBLIC, "--mail-url", smtp.url, "--mail-from", "circles@example.org",
    ]);
    const serverBin = process.env.CIRCLES_SERVER;
    try {
      // The library's first team, Ana its organizer; Carlos a member with an account.
      const team = admin(serverBin, server.db, ["team", "add", "Riverbend"]);
      admin(serverBin, server.db, ["team", "member", "add", team, "ana@example.org", "--organizer"]);
      admin(serverBin, server.db, ["user", "add", "--email", "carlos@example.org", "--name", "Carlos"], CARLOS_PASSWORD);
      admin(serverBin, server.db, ["team", "member", "add", team, "carlos@example.org"]);

      // 1. Ana, in the app, invites Bea from the Teams screen.
      const anaDir = tempDir("team-journey-ana");
      let app = await e2e.openApp(anaDir);
      await click(app, '[data-testid="welcome-offline"]');
      await app.waitForAll(".shell");
      await signInAs(app, server.url, "ana@example.org", PASSWORD);
      await click(app, '[data-testid="nav-teams"]');
      await app.waitForAll('[data-testid="members-online"]');
      await typeInto(app, '[data-testid="invite-email"]', "not an email");
      await click(app, '[data-testid="invite"]');
      assert.match(await text(app, '[data-testid="team-error"]'), /email/i, "a bad address is refused in place");
      await typeInto(app, '[data-testid="invite-email"]', "bea@example.org");
      await click(app, '[data-testid="invite"]');
      await waitFor(async () => /Invited bea@example\.org/.test(await text(app, '[data-testid="teams-message"]')), { message: "the invitation" });
      await waitFor(async () => (await app.findAll('[data-testid="invitation"]')).length === 1, { message: "the pending invitation listed" });
      // Whose laptop is behind is core's rule (a week), asked through the command: Carlos never synced, Ana just did.
      const lastSyncs = await app.execute(
        `return [...document.querySelectorAll('[data-testid="member"]')].map((row) => row.textContent.replace(/\\s+/g, " "));`,
      );
      assert.ok(lastSyncs.some((row) => row.includes("Carlos") && row.includes("not synced for more than 7 days")), lastSyncs.join(" | "));
      assert.ok(lastSyncs.some((row) => row.includes("Ana") && !row.includes("not synced")), lastSyncs.join(" | "));
      await saveScreenshot(app, "team-journey-1-teams.png");
      await e2e.closeApp(app);

      // 2. The email arrives at the SMTP server; Bea follows its link and sets a password.
      const joinPath = await waitFor(
        () => {
          const mail = smtp.messages().find((m) => /bea@example\.org/.test(m) && /\/join\//.test(m));
          return mail ? mail.match(/\/join\/([A-Za-z0-9_-]{16,})/)[0] : null;
        },
        { message: "the invitation email at the SMTP server", timeoutMs: 30_000 },
      );
      const page = await fetch(server.url + joinPath);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Riverbend/);
      const joined = await fetch(server.url + joinPath, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ name: "Bea", password: BEA_PASSWORD, confirm: BEA_PASSWORD }).toString(),
      });
      assert.equal(joined.status, 200, await joined.clone().text());
      const again = await fetch(server.url + joinPath);
      assert.equal(again.status, 410, "the link is single use");

      // 3. Bea signs in from the app and makes a circle on the team, with a learner.
      const beaDir = tempDir("team-journey-bea");
      app = await e2e.openApp(beaDir);
      await click(app, '[data-testid="welcome-offline"]');
      await app.waitForAll(".shell");
      await signInAs(app, server.url, "bea@example.org", BEA_PASSWORD);
      await click(app, '[data-testid="nav-circles"]');
      await click(app, '[data-testid="new-circle"]');
      await typeInto(app, '[data-testid="circle-name"]', "Spanish Conversation");
      await typeInto(app, '[data-testid="venue-name"]', "Riverbend Library");
      await typeInto(app, '[data-testid="first-date"]', dateFromToday(-7));
      await waitFor(
        async () => (await app.execute(`const s = document.querySelector('[data-testid="circle-team"]'); return s.options[s.selectedIndex].textContent;`)) === "Riverbend",
        { message: "the circle form to start on Bea's only team" },
      );
      await saveScreenshot(app, "team-journey-2-circle-form.png");
      await click(app, '[data-testid="save-circle"]');
      await waitFor(async () => (await text(app, '[data-testid="circle-title"]')) === "Spanish Conversation", { message: "the new circle" });
      const beaCircles = JSON.parse(circles(beaDir, ["--json", "circle", "list"]));
      const circleId = beaCircles[0].id;
      circles(beaDir, ["learner", "add", "--circle", circleId, "--name", "Lena", "--email", "lena@example.org"]);

      // Carlos is in the team: Bea adds him as co-facilitator.
      await click(app, '[data-testid="manage-facilitators"]');
      const carlos = await waitFor(
        () => app.execute(`return [...document.querySelectorAll('[data-testid="co-facilitator-pick"] option')].find((o) => o.textContent.includes("Carlos"))?.value ?? null;`),
        { message: "Carlos offered from the team" },
      );
      await typeInto(app, '[data-testid="co-facilitator-pick"]', carlos);
      await click(app, '[data-testid="add-facilitator"]');
      await waitFor(async () => (await text(app, '[data-testid="facilitator-names"]')).includes("Carlos"), { message: "Carlos listed" });
      await saveScreenshot(app, "team-journey-3-co-facilitator.png");
      await syncApp(app);

      // 4. Carlos's laptop sees the circle and its learner; he adds one offline.
      const carlosDir = tempDir("team-journey-carlos");
      circles(carlosDir, ["login", "--server", server.url, "--email", "carlos@example.org"], { CIRCLES_PASSWORD: CARLOS_PASSWORD });
      circles(carlosDir, ["sync"]);
      const seen = JSON.parse(circles(carlosDir, ["--json", "circle", "list"]));
      assert.deepEqual(seen.map((c) => c.name), ["Spanish Conversation"]);
      const learners = JSON.parse(circles(carlosDir, ["--json", "learner", "list", "--circle", circleId]));
      assert.deepEqual(learners.map((l) => l.fields?.name ?? l.name), ["Lena"]);
      circles(carlosDir, ["learner", "add", "--circle", circleId, "--name", "Walk-in Wanda"]);

      // 5. The organizer's team report counts it, with how fresh it is.
      const anaLaptop = tempDir("team-journey-ana-cli");
      loginCli(anaLaptop, server.url);
      circles(anaLaptop, ["sync"]);
      const report = circles(anaLaptop, ["report", "team", team, "--from", dateFromToday(-30), "--to", dateFromToday(60)]);
      assert.match(report, /Includes changes synced up to /);
      const json = JSON.parse(circles(anaLaptop, ["--json", "report", "team", team, "--from", dateFromToday(-30), "--to", dateFromToday(60)]));
      assert.ok(json.circles.some((c) => c.name === "Spanish Conversation"), JSON.stringify(json.circles));
      assert.ok(json.synced_up_to, "the report says when this laptop last synced");
      // And whose laptops are behind, as the server says (Ana organizes the team).
      assert.ok(json.laptops.checked_at, `the server was asked about laptops: ${JSON.stringify(json.laptops)}`);
      assert.match(report, /Every member's laptop synced in the last 7 days\.|Laptops not synced for more than 7 days: /);
      const csvOut = path.join(anaLaptop, "team.csv");
      circles(anaLaptop, ["report", "team", team, "--from", dateFromToday(-30), "--to", dateFromToday(60), "--format", "csv", "--out", csvOut]);
      assert.match(fs.readFileSync(csvOut, "utf8"), /\nlaptops_not_synced_7_days,[^\n]*,20\d\d-/);

      // 6. Bea removes Carlos; his next sync removes the circle, keeping his offline learner aside.
      await click(app, '[data-testid="nav-circles"]');
      // The list loads after the screen: wait for the row, then open it.
      await waitFor(
        () =>
          app.execute(
            `const b = [...document.querySelectorAll('[data-testid="circle-row"] button.link')].find((b) => b.textContent.includes("Spanish"));
             if (!b) return false;
             b.click();
             return true;`,
          ),
        { message: "the Spanish circle in the Circles list" },
      );
      await click(app, '[data-testid="manage-facilitators"]');
      await waitFor(
        () =>
          app.execute(
            `const li = [...document.querySelectorAll('[data-testid="facilitator"]')].find((li) => li.textContent.includes("Carlos"));
             if (!li) return false;
             li.querySelector('[data-testid="remove-facilitator"]').click();
             return true;`,
          ),
        { message: "Carlos in the facilitators panel" },
      );
      await waitFor(async () => !(await text(app, '[data-testid="facilitator-names"]')).includes("Carlos"), { message: "Carlos removed" });
      await syncApp(app);
      await e2e.closeApp(app);

      const out = circles(carlosDir, ["sync"]);
      assert.match(out, /1 circles you no longer have access to were removed from this computer/);
      assert.deepEqual(JSON.parse(circles(carlosDir, ["--json", "circle", "list"])), []);
      const refused = JSON.parse(circles(carlosDir, ["--json", "refused"]));
      assert.ok(refused.some((c) => c.entity === "learner" && c.value === "Walk-in Wanda"), JSON.stringify(refused));
      const status = JSON.parse(circles(carlosDir, ["--json", "status"]));
      assert.equal(status.pending, 0, "nothing of the lost circle waits to be sent");
      assert.equal(status.last_error, null);
    } finally {
      await server.stop();
      smtp.stop();
    }
  });
});
