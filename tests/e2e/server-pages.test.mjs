// The pages circles-server serves to people (join from an invitation, a team's
// join link for its email domain, ask for a password reset, choose the new
// password), in the app's real webview driven by
// WebDriver: a real circles-server makes an invitation through its API and a
// reset message into a folder (file:// mail), the webview opens each link, fills
// and posts the forms as a person would, and axe-core checks every page (WCAG 2
// A and AA tags) in English and Spanish, in the window and at a phone's width.
// The public pages too: a circle published from the circles CLI and synced,
// its team's listing (and the embeddable one), the circle's page and signup
// form (with errors, then signed up; the CLI then pulls the learner), and
// that learner's signed links (an RSVP and its done page, withdraw, a forged one).
// Screenshots: test-output/e2e/pages-*.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import {
  PASSWORD, click, dateFromToday, driverForFile, outDir, repo, saveScreenshot, startSyncServer, tempDir, typeInto, waitFor,
} from "./harness.mjs";

const AXE = fs.readFileSync(path.join(repo, "ui", "node_modules", "axe-core", "axe.min.js"), "utf8");
const PUBLIC = "https://circles.example.org";
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

/** Run axe on the current page; returns the violations (rule, impact, where). */
async function axe(session) {
  const loaded = await session.execute("return typeof window.axe !== 'undefined'");
  if (!loaded) await session.execute(`${AXE}; return true;`);
  return session.executeAsync(
    `const done = arguments[arguments.length - 1];
     window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
       .then((r) => done(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
         nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary.split("\\n").slice(0, 2).join(" ")) }))))
       .catch((e) => done([{ id: "axe-error", impact: "critical", help: String(e), nodes: [] }]));`,
  );
}

function admin(server, db, ...args) {
  const r = spawnSync(server, ["--db", db, ...args], { encoding: "utf8", env: { ...process.env, RUST_LOG: "warn" } });
  assert.equal(r.status, 0, `circles-server ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

async function api(url, method, route, token, body) {
  const res = await fetch(url + route, {
    method,
    headers: { "content-type": "application/json", "circles-protocol": "1", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The reset link's path in the newest .eml of the mail folder, once one is there. */
async function resetPathIn(mailDir) {
  return waitFor(
    () => {
      if (!fs.existsSync(mailDir)) return null;
      for (const f of fs.readdirSync(mailDir).filter((n) => n.endsWith(".eml"))) {
        const raw = fs.readFileSync(path.join(mailDir, f), "utf8").replace(/=\r?\n/g, "");
        const m = raw.match(/\/reset\/([0-9a-f]{64})/);
        if (m) return `/reset/${m[1]}`;
      }
      return null;
    },
    { message: "the reset message in the mail folder", timeoutMs: 30_000 },
  );
}

describe("the server's pages (real webview)", () => {
  const e2e = driverForFile("server-pages");
  before(e2e.start);
  after(e2e.stop);

  test("join, team join, reset request and reset pages pass axe-core's WCAG 2 AA rules in English and Spanish, wide and narrow", async () => {
    const work = tempDir("pages");
    const mailDir = path.join(work, "mail");
    const serverBin = process.env.CIRCLES_SERVER;
    const server = await startSyncServer(work, "server-pages", [
      "--public-url", PUBLIC, "--mail-url", `file://${mailDir}`, "--mail-from", "circles@example.org",
    ]);
    const team = admin(serverBin, server.db, "team", "add", "Riverbend Public Library");
    admin(serverBin, server.db, "team", "organizer", "--team", team, "--email", "ana@example.org");
    const { token } = await api(server.url, "POST", "/v1/login", null, {
      email: "ana@example.org", password: PASSWORD, device_id: "pages-e2e", device_name: "e2e",
    });
    const invitation = await api(server.url, "POST", `/v1/teams/${team}/invitations`, token, {});
    const joinPath = invitation.link.replace(PUBLIC, "");
    assert.match(joinPath, /^\/join\/[0-9a-f]{64}$/);
    const domain = await api(server.url, "PUT", `/v1/teams/${team}/join-domain`, token, { domain: "riverbend.org" });
    const teamPath = domain.link.replace(PUBLIC, "");

    const app = await e2e.openApp(tempDir("pages-app"));
    const found = [];
    const go = async (route) => {
      await app.cmd("POST", "/url", { url: server.url + route });
      await app.waitForAll("main h1");
    };
    const check = async (name) => {
      await app.settle();
      for (const v of await axe(app)) found.push({ page: name, ...v });
      // The page is the server's, not the app's.
      assert.equal(await app.execute("return location.origin"), server.url, name);
      await saveScreenshot(app, `pages-${name}.png`);
    };
    // A phone's width: the app's window cannot be narrower than 720 px
    // (tauri.conf.json), so the page as it is now is shown again in a
    // 390 x 844 frame (its own viewport: the stylesheet's narrow rules
    // apply), and checked and photographed there. This replaces the page.
    const phone = async (name) => {
      await app.execute(`const html = document.documentElement.outerHTML;
        const frame = document.createElement("iframe");
        frame.id = "phone-frame"; frame.title = "phone";
        frame.style.cssText = "width:390px;height:844px;border:0;display:block;background:#fff";
        document.body.replaceChildren(frame);
        frame.srcdoc = "<!DOCTYPE html>" + html;
        return true;`);
      await waitFor(() => app.execute(`const d = document.getElementById("phone-frame").contentDocument;
        return !!(d && d.querySelector("main h1") && d.readyState === "complete" && d.styleSheets.length > 0);`), { message: `${name} in the phone frame` });
      const frame = await app.find("#phone-frame");
      await app.cmd("POST", "/frame", { id: { [ELEMENT]: frame.id } });
      try {
        for (const v of await axe(app)) found.push({ page: `${name}-phone`, ...v });
        const width = await app.execute("return document.documentElement.clientWidth");
        assert.equal(width, 390, "the frame is a phone's width");
        const overflow = await app.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth");
        assert.ok(overflow <= 0, `${name} scrolls sideways on a phone by ${overflow}px`);
      } finally {
        await app.cmd("POST", "/frame/parent", {});
      }
      await app.settle();
      const png = Buffer.from(await app.cmd("GET", `/element/${frame.id}/screenshot`), "base64");
      const file = path.join(outDir, `pages-${name}-phone.png`);
      fs.writeFileSync(file, png);
      console.log(`screenshot: ${path.relative(repo, file)} (${png.length} bytes)`);
    };
    try {
      // The checker works in this webview: a faint text and an unlabelled field are caught.
      await go(`${joinPath}?lang=en`);
      await app.execute(`const d = document.createElement("div"); d.id = "axe-probe";
        d.innerHTML = '<p style="color:#bbb;background:#fff">faint</p><input type="text">';
        document.querySelector("main").appendChild(d); return true;`);
      const probe = (await axe(app)).map((v) => v.id);
      assert.ok(probe.includes("label"), `axe catches known faults: ${probe}`);

      for (const lang of ["en", "es"]) {
        await go(`${joinPath}?lang=${lang}`);
        assert.equal(await app.execute("return document.documentElement.lang"), lang);
        await check(`join-${lang}`);
        await phone(`join-${lang}`);
        // Posted with errors: the summary and the fields' own errors.
        await go(`${joinPath}?lang=${lang}`);
        await typeInto(app, "#email", "not an email");
        await click(app, "button[type=submit]");
        await app.waitForAll("[role=alert]");
        await check(`join-errors-${lang}`);
        await phone(`join-errors-${lang}`);
        await go(`/reset?lang=${lang}`);
        await check(`reset-request-${lang}`);
        await phone(`reset-request-${lang}`);
        // A team's join link for everyone at its email domain, and its refusal of another domain.
        await go(`${teamPath}?lang=${lang}`);
        await check(`join-team-${lang}`);
        await phone(`join-team-${lang}`);
        await go(`${teamPath}?lang=${lang}`);
        await typeInto(app, "#email", "someone@elsewhere.org");
        await click(app, "button[type=submit]");
        await app.waitForAll("[role=alert]");
        await check(`join-team-errors-${lang}`);
      }

      // The public pages: Ana publishes a circle from the CLI and syncs it.
      const cliDir = tempDir("pages-cli");
      const circles = (...args) => {
        const r = spawnSync(process.env.CIRCLES_CLI, ["--data-dir", cliDir, ...args], {
          encoding: "utf8", env: { ...process.env, CIRCLES_PASSWORD: PASSWORD, RUST_LOG: "warn" },
        });
        assert.equal(r.status, 0, `circles ${args.join(" ")}: ${r.stderr}${r.stdout}`);
        return r.stdout.trim();
      };
      circles("login", "--server", server.url, "--email", "ana@example.org");
      circles("sync");
      const circleId = circles(
        "circle", "create", "--name", "Public Speaking", "--time-zone", "America/Chicago", "--start-time", "18:30",
        "--duration", "90", "--first-date", dateFromToday(7), "--meetings", "6", "--team", team,
        "--venue-name", "Riverbend Library", "--venue-address", "100 Main St", "--city", "Riverbend",
        "--description", "Practice speaking in front of a friendly group.",
        "--signup-question", "What would you like to speak about?", "--publish",
      ).split(/\s+/).pop();
      circles("sync");
      const listingPath = admin(serverBin, server.db, "team", "public-link", team);
      assert.match(listingPath, /^\/teams\/[0-9a-f]{16}$/);
      for (const lang of ["en", "es"]) {
        await go(`${listingPath}?lang=${lang}`);
        await check(`public-listing-${lang}`);
        await phone(`public-listing-${lang}`);
        await go(`${listingPath}/embed?lang=${lang}`);
        await check(`public-embed-${lang}`);
      }
      await go(`${listingPath}?lang=en`);
      const circlePath = await app.execute(`return document.querySelector(".circles a").getAttribute("href")`);
      assert.match(circlePath, /^\/circles\/[0-9a-f]{16}$/);
      for (const lang of ["en", "es"]) {
        await go(`${circlePath}?lang=${lang}`);
        await check(`public-circle-${lang}`);
        await phone(`public-circle-${lang}`);
        await go(`${circlePath}?lang=${lang}`);
        await click(app, "button[type=submit]");
        await app.waitForAll("[role=alert]");
        await check(`public-circle-errors-${lang}`);
        await phone(`public-circle-errors-${lang}`);
      }
      await go(`${circlePath}?lang=en`);
      await typeInto(app, "#name", "Lena Okafor");
      await typeInto(app, "#email", "lena@example.org");
      await click(app, "#consent");
      await click(app, "button[type=submit]");
      await waitFor(async () => /signed up/.test(await (await app.find("h1")).text()), { message: "the signed-up page" });
      await check("public-signed-up-en");
      await go("/circles/0000000000000000?lang=en");
      await check("public-unknown-en");
      circles("sync");
      const learners = JSON.parse(circles("--json", "learner", "list", "--circle", circleId));
      assert.deepEqual(learners.map((l) => [l.name, l.email]), [["Lena Okafor", "lena@example.org"]]);

      // Lena's links (as her reminder carries them): the button page, the done page, a forged link.
      const meetingId = JSON.parse(circles("--json", "schedule", "list", "--circle", circleId))[0].id;
      const linkPath = (purpose, ...more) =>
        admin(serverBin, server.db, "link", "make", "--purpose", purpose, "--learner", learners[0].id, "--public-url", PUBLIC, ...more)
          .replace(PUBLIC, "");
      const rsvpPath = linkPath("rsvp_yes", "--meeting", meetingId);
      for (const lang of ["en", "es"]) {
        await go(`${rsvpPath}?lang=${lang}`);
        await check(`link-rsvp-${lang}`);
        await phone(`link-rsvp-${lang}`);
      }
      await go(`${rsvpPath}?lang=en`);
      await click(app, "button[type=submit]");
      await waitFor(async () => /Done/.test(await (await app.find("h1")).text()), { message: "the RSVP's done page" });
      await check("link-rsvp-done-en");
      await go(`${linkPath("withdraw")}?lang=es`);
      await check("link-withdraw-es");
      await go(`/l/${"A".repeat(60)}?lang=en`);
      await check("link-invalid-en");

      // A reset asked for on the page, its link opened from the message.
      await go("/reset?lang=en");
      await typeInto(app, "#email", "ana@example.org");
      await click(app, "button[type=submit]");
      await waitFor(async () => /Check your email/.test(await (await app.find("h1")).text()), { message: "the answer page" });
      await check("reset-sent-en");
      const resetPath = await resetPathIn(mailDir);
      for (const lang of ["en", "es"]) {
        await go(`${resetPath}?lang=${lang}`);
        await check(`reset-${lang}`);
        await phone(`reset-${lang}`);
      }
      // Choosing the new password, with the pages' own error and success states.
      await go(`${resetPath}?lang=es`);
      await typeInto(app, "#password", "corto");
      await typeInto(app, "#confirm", "corto");
      await click(app, "button[type=submit]");
      await app.waitForAll("[role=alert]");
      await check("reset-errors-es");
      await typeInto(app, "#password", "a brand new password");
      await typeInto(app, "#confirm", "a brand new password");
      await click(app, "button[type=submit]");
      await waitFor(async () => /contraseña cambió/.test(await (await app.find("h1")).text()), { message: "the done page" });
      await check("reset-done-es");
      await go(resetPath);
      await check("reset-used-en");

      // Joining from the link, then the page says how to sign in from the app.
      await go(`${joinPath}?lang=en`);
      await typeInto(app, "#email", "bea@example.org");
      await typeInto(app, "#name", "Bea Santos");
      await typeInto(app, "#password", "bea's long password");
      await typeInto(app, "#confirm", "bea's long password");
      await click(app, "button[type=submit]");
      await waitFor(async () => /Welcome to/.test(await (await app.find("h1")).text()), { message: "the joined page" });
      await check("joined-en");
      await phone("joined-en");
      await api(server.url, "POST", "/v1/login", null, {
        email: "bea@example.org", password: "bea's long password", device_id: "pages-e2e-bea", device_name: "e2e",
      });
    } finally {
      await e2e.closeApp(app);
      await server.stop();
    }
    fs.writeFileSync(
      path.join(process.env.E2E_OUTPUT_DIR ?? path.join(repo, "test-output", "e2e"), "pages-violations.json"),
      JSON.stringify(found, null, 2),
    );
    assert.deepEqual(found, [], `axe-core found WCAG violations on the server's pages:\n${JSON.stringify(found, null, 2)}`);
  });
});
