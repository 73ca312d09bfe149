// Accessibility in the real window: axe-core (WCAG 2 A and AA rules: contrast,
// labels, names, roles, landmarks) run on every main screen with the demo data,
// in English and in Spanish, and every control reachable by the Tab key shows a
// visible focus ring. Screenshots: test-output/e2e/a11y-*.png.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

import { axe, cli, click, driverForFile, repo, saveScreenshot, tempDir, typeInto, waitFor } from "./harness.mjs";

describe("accessibility (real window)", () => {
  const e2e = driverForFile("accessibility");
  before(e2e.start);
  after(e2e.stop);

  test("every main screen passes the WCAG 2 AA rules of axe-core, in English and Spanish", async () => {
    const dataDir = tempDir("a11y");
    cli("--data-dir", dataDir, "demo");
    const app = await e2e.openApp(dataDir);
    const found = [];
    const check = async (name) => {
      await waitFor(async () => (await app.findAll("[role=status]")).filter(Boolean).length >= 0, { message: name });
      await new Promise((r) => setTimeout(r, 400));
      const violations = await axe(app);
      for (const v of violations) found.push({ screen: name, ...v });
    };
    try {
      await app.waitForAll('[data-testid="today-meeting"]');
      // The checker itself works: a grey-on-white text and an unlabelled field are caught.
      await app.execute(`const d = document.createElement("div"); d.id = "axe-probe";
        d.innerHTML = '<p style="color:#bbb;background:#fff">faint</p><input type="text">';
        document.querySelector("main").appendChild(d); return true;`);
      const probe = (await axe(app)).map((v) => v.id);
      assert.ok(probe.includes("color-contrast") && probe.includes("label"), `axe catches known faults: ${probe}`);
      await app.execute(`document.getElementById("axe-probe").remove(); return true;`);
      await check("today");
      await click(app, '[data-testid="nav-circles"]');
      await app.waitForAll('[data-testid="circle-row"]');
      await check("circles");
      await click(app, '[data-testid="circle-row"] button.link');
      await app.waitForAll('[data-testid="meeting-row"]');
      await check("circle-meetings");
      for (const tab of ["learners", "attendance", "feedback", "messages", "report"]) {
        await click(app, `[data-testid="tab-${tab}"]`);
        await new Promise((r) => setTimeout(r, 600));
        await check(`circle-${tab}`);
      }
      await click(app, '[data-testid="nav-today"]');
      await click(app, '[data-testid="open-attendance"]');
      await app.waitForAll('[data-testid="roster-row"]');
      await check("attendance");
      await click(app, '[data-testid="nav-today"]');
      await click(app, '[data-testid="open-guide"]');
      await new Promise((r) => setTimeout(r, 600));
      await check("guide");
      for (const screen of ["courses", "teams", "reports", "sync", "settings"]) {
        await click(app, `[data-testid="nav-${screen}"]`);
        await new Promise((r) => setTimeout(r, 600));
        await check(screen);
      }
      await click(app, '[data-testid="nav-circles"]');
      await click(app, '[data-testid="new-circle"]');
      await app.waitForAll('[data-testid="circle-form"]');
      await check("circle-new");

      // Spanish: the same screens, translated, stay accessible.
      await click(app, '[data-testid="nav-settings"]');
      await typeInto(app, '[data-testid="ui-language"]', "es");
      await click(app, '[data-testid="save-settings"]');
      await click(app, '[data-testid="nav-today"]');
      await waitFor(async () => /Hoy/.test(await (await app.find("h1")).text()), { message: "the Spanish interface" });
      assert.equal(await app.execute("return document.documentElement.lang"), "es");
      await check("today-es");
      await saveScreenshot(app, "a11y-today-es.png");
      await click(app, '[data-testid="open-attendance"]');
      await app.waitForAll('[data-testid="roster-row"]');
      await check("attendance-es");
      await saveScreenshot(app, "a11y-attendance-es.png");
    } finally {
      await e2e.closeApp(app);
    }
    fs.writeFileSync(path.join(process.env.E2E_OUTPUT_DIR ?? path.join(repo, "test-output", "e2e"), "a11y-violations.json"), JSON.stringify(found, null, 2));
    assert.deepEqual(found, [], `axe-core found WCAG violations:\n${JSON.stringify(found, null, 2)}`);
  });

  test("Tab reaches the controls of the attendance screen, each with a visible focus ring", async () => {
    const dataDir = tempDir("a11y-focus");
    cli("--data-dir", dataDir, "demo");
    const app = await e2e.openApp(dataDir);
    try {
      await click(app, '[data-testid="open-attendance"]');
      await app.waitForAll('[data-testid="roster-row"]');
      // Walk the focus order with real Tab presses from the top of the page.
      await app.execute("document.activeElement?.blur(); window.scrollTo(0, 0); return true;");
      const stops = [];
      for (let i = 0; i < 60; i++) {
        await app.pressKeys("\uE004");
        const stop = await app.execute(`
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          const style = getComputedStyle(el);
          const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
          const shadow = style.boxShadow && style.boxShadow !== "none";
          return { tag: el.tagName, id: el.dataset.testid || el.id || "", text: (el.innerText || el.value || el.getAttribute("aria-label") || "").slice(0, 40), visible: ring || !!shadow };`);
        if (!stop) break;
        if (stops.length > 0 && stops[0].tag === stop.tag && stops[0].text === stop.text && stops[0].id === stop.id) break;
        stops.push(stop);
      }
      console.log(`Tab stops on the attendance screen: ${stops.length}`);
      assert.ok(stops.length > 10, "the screen has keyboard stops");
      const bad = stops.filter((s) => !s.visible);
      assert.deepEqual(bad, [], "every stop takes the focus and shows it");
    } finally {
      await e2e.closeApp(app);
    }
  });
});
