// End-to-end: messages to learners, written offline (issue 15, item 3). A
// published circle with a meeting five days ahead and two learners (one who
// agreed to be contacted by email): the circle's Messages tab says when that
// meeting's reminder goes out (weekday and time, from the core's plan) and
// to whom; a message with no subject is refused in place and nothing is
// saved; a message to all learners is kept and "goes out at the next sync";
// the meeting's reminder words are written in its guide, saved, and still
// there after the window is opened again (and in `circles message list`);
// with reminders off and the circle a draft again, the tab says reminders
// are off and a message is refused, in words.
// No server. Screenshots: messages-tab.png, messages-refused.png,
// messages-written.png, reminder-words.png, messages-draft.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { axe, cli, click, dateFromToday, driverForFile, saveScreenshot, tempDir, text, typeInto, waitFor } from "./harness.mjs";

/** "Tuesday, December 8" for a calendar date, as the app writes it in English. */
function dayAndDate(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat("en", { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** "6:30 PM" for "18:30", as the app writes it in English. */
function clock(hhmm) {
  const [h, min] = hhmm.split(":").map(Number);
  return new Intl.DateTimeFormat("en", { hour: "numeric", minute: "2-digit", timeZone: "UTC" }).format(new Date(Date.UTC(2000, 0, 1, h, min)));
}

describe("messages to learners (real window)", () => {
  const e2e = driverForFile("messages");
  before(e2e.start);
  after(e2e.stop);

  test("planned reminders, a message to all learners, and a meeting's reminder words", async () => {
    const laptop = tempDir("messages");
    const zone = "America/Chicago";
    const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Spreadsheets for Work", "--time-zone", zone,
      "--start-time", "18:30", "--duration", "90", "--first-date", dateFromToday(5), "--meetings", "3",
      "--venue-name", "Harbor Street Library").trim();
    cli("--data-dir", laptop, "circle", "edit", circleId, "--publish");
    cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Ana Souza", "--email", "ana@example.org", "--consent");
    cli("--data-dir", laptop, "learner", "add", "--circle", circleId, "--name", "Ben Okafor");
    const list = () => JSON.parse(cli("--data-dir", laptop, "--json", "message", "list", circleId));
    const plan = list().planned;
    assert.equal(plan.length, 3, JSON.stringify(plan));
    const first = plan[0];
    // 48 hours before a 18:30 meeting: two days earlier (an hour off only across a clock change).
    const twoDaysBefore = new Date(Date.parse(`${first.meeting_date}T00:00:00Z`) - 2 * 86_400_000).toISOString().slice(0, 10);
    assert.equal(first.send_date, twoDaysBefore);
    const expected = `The reminder for ${dayAndDate(first.meeting_date)} goes out ${dayAndDate(first.send_date)} at ${clock(first.send_time)}`;
    const otherZone = Intl.DateTimeFormat().resolvedOptions().timeZone !== zone;

    let app = await e2e.openApp(laptop);
    try {
      await click(app, '[data-testid="nav-circles"]');
      await click(app, `[data-circle-id="${circleId}"] button.link`);
      await click(app, '[data-testid="tab-messages"]');

      // (a) When each reminder goes out, and to whom.
      const line = await text(app, '[data-testid="planned-reminder"] [data-testid="goes-out"]');
      assert.ok(line.startsWith(expected), `${line} should start with ${expected}`);
      assert.equal(line.includes("(circle's time zone)"), otherZone, line);
      assert.equal(await text(app, '[data-testid="planned-reminder"] [data-testid="audience"]'), "To 1 learner by email.");
      assert.equal((await app.findAll('[data-testid="planned-reminder"]')).length, 3);
      assert.match(await text(app, '[data-testid="no-messages"]'), /No messages to the circle yet/);
      assert.match(await text(app, '[data-testid="nothing-sent"]'), /Nothing sent yet/);
      await saveScreenshot(app, "messages-tab.png");
      assert.deepEqual(await axe(app), [], "the Messages tab passes axe-core's WCAG 2 AA rules");

      // (b) No subject: refused in place, by the field; nothing saved.
      await typeInto(app, '[data-testid="message-body"]', "Bring a laptop if you have one.");
      await click(app, '[data-testid="send-message"]');
      assert.equal(await text(app, '[data-testid="error-subject"]'), "This is required.");
      assert.equal(await app.execute(`return document.getElementById("msg-subject").getAttribute("aria-invalid")`), "true");
      assert.equal(list().messages.length, 0, "nothing saved");
      await app.execute(`document.querySelector('[data-testid="message-form"]').scrollIntoView()`);
      await saveScreenshot(app, "messages-refused.png");
      assert.deepEqual(await axe(app), [], "the refused form passes axe-core's WCAG 2 AA rules");

      // A message to all learners: kept, and it goes out at the next sync.
      await typeInto(app, '[data-testid="message-subject"]', "Next week: bring a laptop");
      await click(app, '[data-testid="send-message"]');
      await text(app, '[data-testid="message-saved"]');
      assert.equal((await app.findAll('[data-testid="error-subject"]')).length, 0);
      assert.match(await text(app, '[data-testid="circle-message"]'), /Next week: bring a laptop/);
      assert.equal(await text(app, '[data-testid="circle-message"] [data-testid="message-state"]'), "Goes out at the next sync");
      const messages = list().messages;
      assert.equal(messages.length, 1);
      assert.equal(messages[0].subject, "Next week: bring a laptop");
      assert.equal(messages[0].body, "Bring a laptop if you have one.");
      assert.equal(messages[0].waiting_for_sync, true);
      await app.execute(`document.querySelector('[data-testid="circle-message"]').scrollIntoView()`);
      await saveScreenshot(app, "messages-written.png");

      // The meeting's reminder words, in its guide (Today opens the next meeting's guide).
      await click(app, '[data-testid="nav-today"]');
      await click(app, `[data-testid="today-meeting"][data-meeting-id="${first.meeting_id}"] [data-testid="open-guide"]`);
      const hint = await waitFor(async () => {
        const shown = await text(app, '[data-testid="reminder-words-hint"]');
        return shown.includes("goes out") && shown;
      }, { message: "the reminder's time under the words" });
      assert.ok(hint.includes(expected), hint);
      await typeInto(app, '[data-testid="reminder-words"]', "We meet in room 2 this week.");
      await click(app, '[data-testid="save-reminder-words"]');
      await text(app, '[data-testid="reminder-words-saved"]');
      assert.equal(list().planned[0].message, "We meet in room 2 this week.");
    } finally {
      await e2e.closeApp(app);
    }

    // Opened again: the words are kept.
    app = await e2e.openApp(laptop);
    try {
      await click(app, `[data-testid="today-meeting"][data-meeting-id="${first.meeting_id}"] [data-testid="open-guide"]`);
      await waitFor(async () => (await app.execute(`return document.querySelector('[data-testid="reminder-words"]')?.value ?? ""`)) === "We meet in room 2 this week.", {
        message: "the saved reminder words",
      });
      await saveScreenshot(app, "reminder-words.png");
      assert.deepEqual(await axe(app), [], "the guide with its reminder words passes axe-core's WCAG 2 AA rules");

      // Reminders turned off and the circle back to a draft: the tab says so, and a message is refused by its circle.
      cli("--data-dir", laptop, "circle", "edit", circleId, "--reminder-hours", "0", "--publish=no");
      await click(app, '[data-testid="nav-circles"]');
      await click(app, `[data-circle-id="${circleId}"] button.link`);
      await click(app, '[data-testid="tab-messages"]');
      assert.match(await text(app, '[data-testid="reminders-off"]'), /Reminders are off for this circle/);
      assert.equal((await app.findAll('[data-testid="planned-reminder"]')).length, 0);
      await typeInto(app, '[data-testid="message-subject"]', "Hello");
      await typeInto(app, '[data-testid="message-body"]', "See you soon.");
      await click(app, '[data-testid="send-message"]');
      assert.equal(await text(app, '[data-testid="error-circle_id"]'), "This circle is a draft: publish it before writing to its learners.");
      assert.equal(list().messages.length, 1, "nothing more saved");
      await saveScreenshot(app, "messages-draft.png");
    } finally {
      await e2e.closeApp(app);
    }
  });
});
