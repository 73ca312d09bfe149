// End-to-end: online signups and the waitlist in the real window (issue 15,
// item 2). A circle with one place is published from a laptop (the CLI); two
// people sign up on its public page (plain HTTP posts, as a browser without
// JavaScript would): the first gets the place, the second is number 1 on the
// waitlist. After a sync the app's learners tab shows both as "signed up
// online" and the second as "waitlist (#1)"; the facilitator gives her a
// place by hand, and another laptop sees her enrolled after syncing.
// Screenshots: waitlist-marked.png, waitlist-admitted.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";

import { cli, click, dateFromToday, driverForFile, loginCli, saveScreenshot, startSyncServer, tempDir, waitFor } from "./harness.mjs";

const PUBLIC = "https://circles.example.org";

function admin(server, db, ...args) {
  const r = spawnSync(server, ["--db", db, ...args], { encoding: "utf8", env: { ...process.env, RUST_LOG: "warn" } });
  assert.equal(r.status, 0, `circles-server ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

describe("online signups and the waitlist (real window)", () => {
  const e2e = driverForFile("waitlist");
  before(e2e.start);
  after(e2e.stop);

  test("the app marks online signups and the waitlist, and the facilitator gives a waiting learner a place", async () => {
    const work = tempDir("waitlist");
    const server = await startSyncServer(work, "waitlist", ["--public-url", PUBLIC]);
    const serverBin = process.env.CIRCLES_SERVER;
    const team = admin(serverBin, server.db, "team", "add", "Riverbend Public Library");
    admin(serverBin, server.db, "team", "organizer", "--team", team, "--email", "ana@example.org");

    const laptop = path.join(work, "laptop");
    loginCli(laptop, server.url);
    cli("--data-dir", laptop, "sync");
    const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Small Circle", "--time-zone", "America/Chicago",
      "--start-time", "18:30", "--duration", "90", "--first-date", dateFromToday(7), "--meetings", "4", "--team", team,
      "--venue-name", "Riverbend Library", "--signup-limit", "1", "--publish").trim().split(/\s+/).pop();
    cli("--data-dir", laptop, "sync");

    // Two signups on the circle's public page: one place, then the waitlist.
    const listingPath = admin(serverBin, server.db, "team", "public-link", team);
    const listing = await (await fetch(server.url + listingPath)).text();
    const circlePath = listing.match(/\/circles\/[0-9a-f]{16}/)?.[0];
    assert.ok(circlePath, `the circle is listed: ${listing}`);
    const signUp = async (name, email) => {
      const body = new URLSearchParams({ name, email, goals: "Practice", consent: "1", website: "" });
      const res = await fetch(server.url + circlePath, { method: "POST", body, headers: { "accept-language": "en" } });
      assert.equal(res.status, 200, name);
      return res.text();
    };
    assert.match(await signUp("Lena Okafor", "lena@example.org"), /You are signed up/);
    assert.match(await signUp("Omar Haddad", "omar@example.org"), /You are on the waitlist/);
    cli("--data-dir", laptop, "sync");

    const app = await e2e.openApp(laptop);
    const statusOf = (name) =>
      app.execute(
        `const row = [...document.querySelectorAll('[data-testid="learner-row"]')].find((r) => r.textContent.includes(arguments[0]));
         const cell = row && row.querySelector('[data-testid="learner-status"]');
         return cell ? cell.textContent.trim() : null;`,
        [name],
      );
    try {
      await click(app, '[data-testid="nav-circles"]');
      await click(app, `[data-circle-id="${circleId}"] button.link`);
      await click(app, '[data-testid="tab-learners"]');
      await waitFor(async () => (await statusOf("Omar Haddad")) !== null, { message: "Omar's row" });
      assert.equal(await statusOf("Lena Okafor"), "Signed up online");
      assert.equal(await statusOf("Omar Haddad"), "Signed up online · waitlist (#1)");
      // Their answers are beside them (folded until opened).
      assert.ok((await app.findAll('[data-testid="learner-answers"]')).length >= 2, "the signup answers are shown");
      await saveScreenshot(app, "waitlist-marked.png");

      // Only a waiting learner has "Give a place".
      const admitted = await app.execute(
        `const buttons = [...document.querySelectorAll('[data-testid="learner-row"]')].map((r) => [r.textContent.includes("Omar"), r.querySelector('[data-testid="admit-learner"]')]);
         if (buttons.some(([omar, b]) => !omar && b)) return "an enrolled learner has the button";
         const [, button] = buttons.find(([omar]) => omar) ?? [];
         if (!button) return "no button";
         button.click();
         return "clicked";`,
      );
      assert.equal(admitted, "clicked");
      await waitFor(async () => (await statusOf("Omar Haddad")) === "Signed up online", { message: "Omar admitted" });
      assert.equal((await app.findAll('[data-testid="admit-learner"]')).length, 0);
      await saveScreenshot(app, "waitlist-admitted.png");
    } finally {
      await e2e.closeApp(app);
    }

    // The admit reaches the server (a laptop may admit) and another laptop.
    cli("--data-dir", laptop, "sync");
    const other = path.join(work, "other");
    loginCli(other, server.url);
    cli("--data-dir", other, "sync");
    const learners = JSON.parse(cli("--data-dir", other, "learner", "list", "--circle", circleId, "--json"));
    const omar = learners.find((l) => l.name === "Omar Haddad");
    assert.equal(omar.signup_source, "online");
    assert.equal(omar.waitlisted_at, "", JSON.stringify(omar));
    assert.equal(omar.waitlist_position, null);
    await server.stop();
  });
});
