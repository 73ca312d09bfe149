// End-to-end: a laptop is never stopped by what it pulls (issue 13 item 2).
// The server's database is written behind its back (as a database restored
// from a machine whose clock ran a day fast would be): one course change
// stamped a day ahead, one sound change beside it. The app, signed in to
// the real circles-server, pulls both: the sound one applies, the one dated
// in the future is kept aside and listed on the Sync screen in plain words,
// and sync goes on with no error. Screenshot: test-output/e2e/kept-aside.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";

import { cli, click, driverForFile, saveScreenshot, signInApp, startSyncServer, tempDir, text, typeInto, waitFor } from "./harness.mjs";

/** The server's text form of a clock: 15 digits of milliseconds, '-', 10 of counter. */
const hlcText = (millis) => `${String(millis).padStart(15, "0")}-${"0".padStart(10, "0")}`;

/** Append course changes to the stopped server's log, as its own account's (Ana's) changes. */
function writeBehindTheServersBack(db, changes) {
  const script = `
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
user = con.execute("SELECT id FROM users WHERE email = 'ana@example.org'").fetchone()[0]
for c in json.loads(sys.argv[2]):
    con.execute(
        "INSERT INTO changes (change_id, table_name, row_id, field, value, hlc, device_id, base_seq, user_id, scope_circle, received_at)"
        " VALUES (?, 'courses', ?, ?, ?, ?, 'restored-laptop', NULL, ?, NULL, '2026-12-01T00:00:00Z')",
        (c["change_id"], c["row_id"], c["field"], json.dumps(c["value"]), c["hlc"], user))
    con.execute("INSERT INTO seen_changes (change_id) VALUES (?)", (c["change_id"],))
con.commit()
`;
  const r = spawnSync("python3", ["-c", script, db, JSON.stringify(changes)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

describe("a change this laptop cannot apply (real window)", () => {
  const e2e = driverForFile("kept-aside");
  before(e2e.start);
  after(e2e.stop);

  test("is kept aside and listed on the Sync screen, while the rest of the page applies and sync goes on", async () => {
    const work = tempDir("kept-aside");
    const server = await startSyncServer(work, "kept-aside");
    const laptop = path.join(work, "laptop");
    cli("--data-dir", laptop, "course", "create", "--title", "Intro to Python");
    // A circle, so the app opens on its screens rather than the first-run welcome.
    cli("--data-dir", laptop, "circle", "create", "--name", "Reading Circle", "--time-zone", "America/Chicago",
      "--start-time", "18:00", "--duration", "90");

    const app = await e2e.openApp(laptop);
    try {
      // Plain http:// to another computer: the person is warned, and nothing
      // is sent until they tick that they accept it (core's Rule::PlainHttp).
      await click(app, '[data-testid="nav-sync"]');
      await typeInto(app, '[data-testid="server-url"]', "http://192.0.2.10:8080");
      await typeInto(app, '[data-testid="sign-in-email"]', "ana@example.org");
      await typeInto(app, '[data-testid="sign-in-password"]', "a password never sent");
      await click(app, '[data-testid="sign-in"]');
      const warning = await text(app, '[data-testid="plain-http-warning"]');
      assert.match(warning, /Not encrypted\. http:\/\/192\.0\.2\.10:8080 is a plain http:\/\/ address on another computer/);
      const [signIn] = await app.findAll('[data-testid="sign-in"]');
      assert.equal(await signIn.attribute("disabled"), "true", "signing in waits for the person's yes");
      await app.settle();
      await saveScreenshot(app, "plain-http-warning.png");
      await signInApp(app, server.url);
      await server.stop();
      const now = Date.now();
      writeBehindTheServersBack(server.db, [
        { change_id: "0193a000-0000-7000-8000-00000000f001", row_id: "course-from-the-future", field: "title", value: "Dated tomorrow", hlc: hlcText(now + 24 * 3600 * 1000) },
        { change_id: "0193a000-0000-7000-8000-00000000f002", row_id: "course-sound", field: "title", value: "Spanish Conversation", hlc: hlcText(now) },
        // A row is live once a change says it is not deleted.
        { change_id: "0193a000-0000-7000-8000-00000000f003", row_id: "course-sound", field: "deleted", value: 0, hlc: hlcText(now) },
      ]);
      await server.start();

      await click(app, '[data-testid="nav-sync"]');
      await click(app, '[data-testid="sync-now"]');
      const listed = await waitFor(async () => {
        const rows = await app.findAll('[data-testid="kept-aside-change"]');
        return rows.length > 0 && rows;
      }, { message: "the change kept aside on the Sync screen", timeoutMs: 30_000 });
      const all = (await Promise.all(listed.map((r) => r.text()))).join("\n");
      assert.equal(listed.length, 1, `one change kept aside: ${all}`);
      const words = await listed[0].text();
      assert.match(words, /Dated in the future/, words);
      assert.equal(await text(app, '[data-testid="sync-kept-aside"]'), "1");
      assert.doesNotMatch(await text(app, '[data-testid="sync-badge"]'), /problem/i, "no sync error");
      await new Promise((r) => setTimeout(r, 1000));
      await saveScreenshot(app, "kept-aside.png");

      const titles = JSON.parse(cli("--data-dir", laptop, "course", "list", "--json")).map((c) => c.title);
      assert.ok(titles.includes("Spanish Conversation"), `the sound change applied: ${titles}`);
      assert.ok(!titles.includes("Dated tomorrow"), `the change dated tomorrow did not: ${titles}`);
      const status = cli("--data-dir", laptop, "status");
      assert.match(status, /last error:\s+none/, status);
      assert.match(status, /kept aside/i, status);
    } finally {
      await e2e.closeApp(app);
      await server.stop();
    }
  });
});
