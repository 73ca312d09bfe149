// End-to-end: a learner's journey, against a real `circles-server`, a real
// SMTP server (aiosmtpd) and the real app window (issue 15's "Done when"):
//
// 1. Lena signs up on the circle's public page (one place); Omar, too late,
//    goes on its waitlist. The facilitator's app shows both after a sync.
// 2. In the app, offline, the facilitator writes her words for the first
//    meeting's reminder; the app syncs them.
// 3. The server's clock is set to 47 hours before that meeting
//    (`circles-server reminders run --now`): Lena's reminder reaches the SMTP
//    server with the meeting's local time, the words, RSVP links and a valid
//    .ics at the right instant; the Messages tab then lists it as sent to her.
// 4. Lena follows "Yes, I'm coming": after a sync the attendance screen
//    says she is coming.
// 5. Lena follows her withdraw link: she is withdrawn, Omar gets the place
//    and a mail saying so; the app shows both after a sync.
// 6. A meeting moved across the spring clock change (from Thursday 11 March
//    2027 to Thursday 18 March) sends Omar a notice with its new local time
//    (18:30, 23:30 UTC in the .ics).
// Screenshots: learner-journey-signups.png, learner-journey-words.png,
// learner-journey-sent.png, learner-journey-coming.png, learner-journey-withdrawn.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";

import {
  cli,
  click,
  dateFromToday,
  driverForFile,
  loginCli,
  saveScreenshot,
  sleep,
  startSmtp,
  startSyncServer,
  syncAppUntil,
  tempDir,
  text,
  typeInto,
  waitFor,
} from "./harness.mjs";

const PUBLIC = "https://circles.example.org";

function admin(server, db, ...args) {
  const r = spawnSync(server, ["--db", db, ...args], { encoding: "utf8", env: { ...process.env, RUST_LOG: "warn" } });
  assert.equal(r.status, 0, `circles-server ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A header's value with RFC 2047 encoded words (lettre's non-ASCII subjects) decoded. */
function header(raw, name) {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  if (!line) return null;
  return line
    .slice(name.length + 1)
    .trim()
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?utf-8\?b\?([^?]*)\?=/gi, (_, b64) => Buffer.from(b64, "base64").toString("utf8"));
}

/** The decoded text of a message's attachment named `name` (base64, quoted-printable or plain). */
function attachment(message, name) {
  const raw = message.replace(/\r\n/g, "\n");
  const at = raw.indexOf(`filename="${name}"`);
  assert.ok(at >= 0, `no ${name} in: ${raw}`);
  const partStart = raw.lastIndexOf("\n--", at);
  const start = raw.indexOf("\n\n", at) + 2;
  const end = raw.indexOf("\n--", start);
  const headers = raw.slice(partStart, start).toLowerCase();
  const body = raw.slice(start, end);
  if (headers.includes("base64")) return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (headers.includes("quoted-printable")) {
    const bytes = body.replace(/=\n/g, "").replace(/\n/g, "\r\n").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, "latin1").toString("utf8");
  }
  return body.replace(/\n/g, "\r\n");
}

/** The links of a message (plain text part), by what they say before them. */
function linkAfter(raw, words) {
  const text = raw.replace(/=\r?\n/g, "").replace(/=3D/g, "=");
  const at = text.indexOf(words);
  assert.ok(at >= 0, `"${words}" in: ${text}`);
  return text.slice(at).match(/https:\/\/circles\.example\.org\/l\/[A-Za-z0-9_-]+/)[0];
}

describe("a learner's journey: signup, reminder, RSVP, withdrawal, notice (real window)", () => {
  const e2e = driverForFile("learner-journey");
  before(e2e.start);
  after(e2e.stop);

  test("everything a learner receives is written on the laptop and sent by the server", async () => {
    const work = tempDir("learner-journey");
    const smtp = await startSmtp(work, "learner-journey");
    const server = await startSyncServer(work, "learner-journey", [
      "--public-url", PUBLIC, "--mail-url", smtp.url, "--mail-from", "circles@example.org", "--mail-poll-ms", "200",
    ]);
    const serverBin = process.env.CIRCLES_SERVER;
    const team = admin(serverBin, server.db, "team", "add", "Riverbend Public Library");
    admin(serverBin, server.db, "team", "organizer", "--team", team, "--email", "ana@example.org");
    const follow = async (link, says) => {
      const local = link.replace(PUBLIC, server.url);
      const shown = await fetch(local, { headers: { "accept-language": "en" } });
      assert.equal(shown.status, 200, `${link} opens`);
      const done = await fetch(local, { method: "POST", headers: { "accept-language": "en" } });
      assert.equal(done.status, 200, `${link} works`);
      assert.match(await done.text(), says);
    };
    const mailsTo = (address) => smtp.raw().filter((m) => header(m, "To") === address);

    const laptop = path.join(work, "laptop");
    loginCli(laptop, server.url);
    cli("--data-dir", laptop, "sync");
    const circleId = cli("--data-dir", laptop, "circle", "create", "--name", "Public Speaking", "--time-zone", "America/Chicago",
      "--start-time", "18:30", "--duration", "90", "--first-date", dateFromToday(10), "--meetings", "2", "--team", team,
      "--venue-name", "Riverbend Library, room 2", "--signup-limit", "1", "--publish").trim().split(/\s+/).pop();
    cli("--data-dir", laptop, "sync");
    const meetings = JSON.parse(cli("--data-dir", laptop, "schedule", "list", "--circle", circleId, "--json"));
    const first = meetings[0];

    // 1. Two signups on the public page: the place, then the waitlist.
    const listingPath = admin(serverBin, server.db, "team", "public-link", team);
    const listing = await (await fetch(server.url + listingPath)).text();
    const circlePath = listing.match(/\/circles\/[0-9a-f]{16}/)?.[0];
    assert.ok(circlePath, `the circle is listed: ${listing}`);
    const signUp = async (name, email) => {
      const body = new URLSearchParams({ name, email, consent: "1", website: "" });
      const res = await fetch(server.url + circlePath, { method: "POST", body, headers: { "accept-language": "en" } });
      assert.equal(res.status, 200, name);
      return res.text();
    };
    assert.match(await signUp("Lena Okafor", "lena@example.org"), /You are signed up/);
    assert.match(await signUp("Omar Haddad", "omar@example.org"), /You are on the waitlist/);
    await waitFor(() => mailsTo("lena@example.org").length === 1 && mailsTo("omar@example.org").length === 1, {
      message: "the two confirmations",
      timeoutMs: 30_000,
    });

    const app = await e2e.openApp(laptop);
    const statusOf = (name) =>
      app.execute(
        `const row = [...document.querySelectorAll('[data-testid="learner-row"]')].find((r) => r.textContent.includes(arguments[0]));
         const cell = row && row.querySelector('[data-testid="learner-status"]');
         return cell ? cell.textContent.trim() : null;`,
        [name],
      );
    const openLearners = async () => {
      await click(app, '[data-testid="nav-circles"]');
      await click(app, `[data-circle-id="${circleId}"] button.link`);
      await click(app, '[data-testid="tab-learners"]');
    };
    const learnersOf = () =>
      app.executeAsync(
        `const done = arguments[arguments.length - 1];
         window.__TAURI_INTERNALS__.invoke("learners", { circleId: arguments[0] }).then(done).catch(() => done([]));`,
        [circleId],
      );
    try {
      await syncAppUntil(app, async () => (await learnersOf()).length === 2, "the two signups pulled by the app");
      await openLearners();
      await waitFor(async () => (await statusOf("Omar Haddad")) !== null, { message: "Omar's row" });
      assert.equal(await statusOf("Lena Okafor"), "Signed up online");
      assert.equal(await statusOf("Omar Haddad"), "Signed up online · waitlist (#1)");
      await saveScreenshot(app, "learner-journey-signups.png");

      // 2. The facilitator's words for the first meeting, written in the app and synced.
      await click(app, '[data-testid="nav-today"]');
      await click(app, `[data-testid="today-meeting"][data-meeting-id="${first.id}"] [data-testid="open-guide"]`);
      await typeInto(app, '[data-testid="reminder-words"]', "Bring a two-minute story about a pet.");
      await click(app, '[data-testid="save-reminder-words"]');
      await text(app, '[data-testid="reminder-words-saved"]');
      await sleep(1000);
      await saveScreenshot(app, "learner-journey-words.png");
      const pushed = () =>
        app.executeAsync(
          `const done = arguments[arguments.length - 1];
           window.__TAURI_INTERNALS__.invoke("sync_state").then((s) => done(s.pending)).catch(() => done(-1));`,
        );
      await syncAppUntil(app, async () => (await pushed()) === 0, "the words sent to the server");

      // 3. The server's clock at 47 hours before the meeting: the reminder goes out.
      const start = new Date(first.starts_at);
      const queued = admin(serverBin, server.db, "reminders", "run", "--now", new Date(start.getTime() - 47 * 3600_000).toISOString(), "--public-url", PUBLIC);
      assert.match(queued, /^1 reminder/, "only Lena holds a place");
      await waitFor(() => mailsTo("lena@example.org").length === 2, { message: "Lena's reminder", timeoutMs: 30_000 });
      const reminder = mailsTo("lena@example.org").find((m) => header(m, "Subject").startsWith("Reminder"));
      const localDate = first.local_date;
      assert.match(header(reminder, "Subject"), new RegExp(`^Reminder: Public Speaking, \\w+ ${localDate}, 18:30–20:00$`));
      assert.match(reminder.replace(/=\r?\n/g, ""), /Bring a two-minute story about a pet\./, "the facilitator's words");
      const ics = attachment(reminder, "meeting.ics");
      assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
      assert.match(ics, /END:VCALENDAR\r\n$/);
      const utc = start.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
      assert.ok(ics.includes(`DTSTART:${utc}`), `the .ics at the meeting's instant ${utc}: ${ics}`);
      assert.ok(ics.includes(`UID:${first.id}@circles`), ics);

      // What was sent, per learner, comes back to the laptop: the Messages tab.
      const deliveries = () =>
        app.executeAsync(
          `const done = arguments[arguments.length - 1];
           window.__TAURI_INTERNALS__.invoke("circle_messages", { circleId: arguments[0] })
             .then((v) => done(v.deliveries.filter((d) => d.kind === "reminder").length)).catch(() => done(0));`,
          [circleId],
        );
      await syncAppUntil(app, async () => (await deliveries()) === 1, "the reminder's delivery pulled by the app");
      const planned = await app.executeAsync(
        `const done = arguments[arguments.length - 1];
         window.__TAURI_INTERNALS__.invoke("circle_messages", { circleId: arguments[0] })
           .then((v) => done(v.planned.map((p) => p.meeting_id))).catch(() => done(null));`,
        [circleId],
      );
      assert.deepEqual(planned, [meetings[1].id], "a sent reminder is no longer listed as to come");
      await click(app, '[data-testid="nav-circles"]');
      await click(app, `[data-circle-id="${circleId}"] button.link`);
      await click(app, '[data-testid="tab-messages"]');
      await waitFor(async () => (await app.findAll('[data-testid="delivery"]')).length === 1, { message: "the delivery row" });
      const row = await app.execute(`return document.querySelector('[data-testid="delivery"]').textContent.replace(/\s+/g, " ").trim();`);
      assert.match(row, /Lena Okafor/);
      assert.ok(!(await app.findAll('[data-testid="failures"]')).length, "no failure");
      await sleep(1000);
      await saveScreenshot(app, "learner-journey-sent.png");

      // 4. Lena says yes; the attendance screen shows it after a sync.
      await follow(linkAfter(reminder, "Yes, I'm coming:"), /you're coming to Public Speaking/);
      const answered = () =>
        app.executeAsync(
          `const done = arguments[arguments.length - 1];
           window.__TAURI_INTERNALS__.invoke("roster", { meetingId: arguments[0] })
             .then((v) => done(v.entries.filter((e) => e.rsvp === "yes").map((e) => e.learner.name))).catch(() => done([]));`,
          [first.id],
        );
      await syncAppUntil(app, async () => (await answered()).includes("Lena Okafor"), "Lena's answer pulled by the app");
      await click(app, '[data-testid="nav-today"]');
      await click(app, `[data-testid="today-meeting"][data-meeting-id="${first.id}"] [data-testid="open-attendance"]`);
      const tagOf = (name) =>
        app.execute(
          `const row = [...document.querySelectorAll('[data-testid="roster-row"]')].find((r) => r.textContent.includes(arguments[0]));
           const tag = row && row.querySelector('[data-testid="rsvp"]');
           return tag ? tag.textContent.trim() : null;`,
          [name],
        );
      await waitFor(async () => (await tagOf("Lena Okafor")) === "said they're coming", { message: "Lena's answer on the roster" });
      await sleep(1000);
      await saveScreenshot(app, "learner-journey-coming.png");

      // 5. Lena withdraws from her link: Omar gets the place, and a mail.
      await follow(linkAfter(reminder, "To leave the circle"), /withdrawn|no longer|left/i);
      await waitFor(() => mailsTo("omar@example.org").length === 2, { message: "Omar's place mail", timeoutMs: 30_000 });
      const place = mailsTo("omar@example.org").map((m) => header(m, "Subject")).find((s) => !/waitlist/i.test(s));
      assert.ok(place, "Omar is told he has a place");
      await syncAppUntil(
        app,
        async () => {
          const all = await learnersOf();
          const lena = all.find((l) => l.name === "Lena Okafor");
          const omar = all.find((l) => l.name === "Omar Haddad");
          return lena?.withdrawn === true && omar?.waitlisted_at === "";
        },
        "the withdrawal and the place pulled by the app",
      );
      await openLearners();
      await waitFor(async () => (await statusOf("Omar Haddad")) === "Signed up online", { message: "Omar enrolled" });
      assert.equal(await statusOf("Lena Okafor"), null, "a withdrawn learner is hidden until asked for");
      await app.execute(`document.querySelector('label.check-inline input[type="checkbox"]').click(); return true;`);
      await waitFor(async () => /withdrawn/i.test((await statusOf("Lena Okafor")) ?? ""), { message: "Lena shown as withdrawn" });
      await sleep(1000);
      await saveScreenshot(app, "learner-journey-withdrawn.png");

      // 6. A meeting moved across the spring clock change: Omar gets a notice.
      const dst = cli("--data-dir", laptop, "meeting", "add", "--circle", circleId, "--date", "2027-03-11").trim().split(/\s+/).pop();
      cli("--data-dir", laptop, "sync");
      cli("--data-dir", laptop, "meeting", "move", dst, "--date", "2027-03-18");
      cli("--data-dir", laptop, "sync");
      await waitFor(() => mailsTo("omar@example.org").length === 3, { message: "Omar's notice", timeoutMs: 30_000 });
      const notice = mailsTo("omar@example.org").find((m) => header(m, "Subject").startsWith("New time"));
      assert.equal(header(notice, "Subject"), "New time: Public Speaking, Thursday 2027-03-18, 18:30–20:00");
      assert.ok(attachment(notice, "meeting.ics").includes("DTSTART:20270318T233000Z"), "18:30 in Chicago's summer time");
      assert.equal(mailsTo("lena@example.org").length, 2, "Lena, withdrawn, hears nothing more");
    } finally {
      await e2e.closeApp(app);
      await server.stop();
      smtp.stop();
    }
  });
});
