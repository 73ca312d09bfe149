// End-to-end: "Remove this computer's data" on a shared laptop (issue 16,
// item 2). With changes that never reached a server, the confirm button
// stays disabled until the person ticks that they may be lost; then every
// Circles file goes (no file in the folder holds a learner's email), the
// person's own file stays, and the window starts over on the welcome screen.
// Screenshot: remove-data-confirm.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

import { cli, click, filesHolding, dateFromToday, driverForFile, saveScreenshot, sleep, tempDir, waitFor } from "./harness.mjs";

const EMAIL = "ana.shared@example.org";

describe("removing this computer's data (real window)", () => {
  const e2e = driverForFile("remove-data");
  before(e2e.start);
  after(e2e.stop);

  test("asks once more, will not lose waiting changes unticked, then leaves no learner data", async () => {
    const laptop = tempDir("remove-data");
    const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Reading Circle", "--time-zone", "America/Chicago",
      "--start-time", "18:00", "--duration", "90", "--first-date", dateFromToday(-7), "--meetings", "4").trim();
    cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Ana Souza", "--email", EMAIL);
    fs.writeFileSync(path.join(laptop, "my notes.txt"), "mine");
    // The store is encrypted (no file shows the email); the CLI reads it through its key.
    const before = JSON.parse(cli("--data-dir", laptop, "learner", "list", "--circle", circleId, "--json"));
    assert.ok(before.some((l) => l.email === EMAIL), "the store holds the learner");

    const app = await e2e.openApp(laptop);
    await click(app, '[data-testid="nav-sync"]');
    await click(app, '[data-testid="remove-data-start"]');
    await app.waitForAll('[data-testid="remove-waiting"]');
    const confirm = (await app.findAll('[data-testid="remove-data-confirm"]'))[0];
    assert.equal(await confirm.attribute("disabled"), "true", "disabled while the waiting changes are not given up");
    await click(app, '[data-testid="remove-discard"]');
    await waitFor(async () => (await confirm.attribute("disabled")) === null, { message: "the confirm button enabled" });
    await sleep(500);
    await saveScreenshot(app, "remove-data-confirm.png");
    await click(app, '[data-testid="remove-data-confirm"]');
    await app.waitForAll('[data-testid="welcome"]');

    assert.deepEqual(filesHolding(laptop, EMAIL), [], "no file holds the learner's email");
    const left = fs.readdirSync(laptop).filter((name) => !name.startsWith("circles.sqlite"));
    assert.deepEqual(left, ["my notes.txt"], "only the person's own file stays beside the new, empty store");
    const circles = JSON.parse(cli("--data-dir", laptop, "--json", "circle", "list"));
    assert.equal(circles.length, 0);
    await e2e.closeApp(app);
  });
});
