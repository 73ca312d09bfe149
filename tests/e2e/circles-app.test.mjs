// End-to-end: the real Circles desktop app in its real window (under Xvfb),
// driven through tauri-driver + WebKitWebDriver, with data made by the real CLI.
//
// Run it through scripts/test.sh, or by hand:
//   CIRCLES_APP=target/debug/circles-app CIRCLES_CLI=target/debug/circles \
//   xvfb-run -a -s '-screen 0 1280x800x24' node --test tests/e2e/
//
// Environment:
//   CIRCLES_APP    the circles-app binary (built with the embedded UI)   [required]
//   CIRCLES_CLI    the circles CLI binary                                 [required]
//   TAURI_DRIVER   tauri-driver (default: on PATH, else ~/.cargo/bin/tauri-driver)
//   E2E_OUTPUT_DIR where screenshots and logs go (default: test-output/e2e)
//
// Nothing is skipped: a missing binary, driver or display is a failure.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Session, sleep, waitFor, waitForServer } from "./webdriver.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const outDir = path.resolve(process.env.E2E_OUTPUT_DIR ?? path.join(repo, "test-output", "e2e"));

function which(cmd) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

function requireFile(label, p, hint) {
  if (!p || !fs.existsSync(p)) {
    throw new Error(`${label} not found${p ? ` at ${p}` : ""}. ${hint}`);
  }
  return path.resolve(p);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Run the real CLI; returns stdout. Throws with its stderr on failure. */
function cli(...args) {
  const r = spawnSync(CLI, args, { encoding: "utf8", env: { ...process.env, RUST_LOG: "warn" } });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`circles ${args.join(" ")} exited with ${r.status}:\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/** YYYY-MM-DD, `days` from today (so the circle always has an upcoming meeting). */
function dateFromToday(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function tempDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `circles-e2e-${name}-`));
}

// ---------------------------------------------------------------------------
// Preconditions: fail loudly, never skip.

const APP = requireFile(
  "circles-app binary (CIRCLES_APP)",
  process.env.CIRCLES_APP,
  "Build it with `cargo build -p circles-app` (after building ui/) and set CIRCLES_APP.",
);
const CLI = requireFile(
  "circles CLI binary (CIRCLES_CLI)",
  process.env.CIRCLES_CLI,
  "Build it with `cargo build -p circles-cli` and set CIRCLES_CLI.",
);
const DRIVER = requireFile(
  "tauri-driver",
  process.env.TAURI_DRIVER ?? which("tauri-driver") ?? path.join(os.homedir(), ".cargo", "bin", "tauri-driver"),
  "Install it with `cargo install tauri-driver --locked --version '^2'` (scripts/setup.sh does).",
);
requireFile(
  "WebKitWebDriver",
  which("WebKitWebDriver"),
  "Install the Debian package webkit2gtk-driver (scripts/setup.sh does).",
);
if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  throw new Error("No display: run this test under `xvfb-run -a -s '-screen 0 1280x800x24'` (scripts/test.sh does).");
}

fs.mkdirSync(outDir, { recursive: true });

// ---------------------------------------------------------------------------

describe("Circles desktop app (real window, WebDriver)", () => {
  let driver;
  let driverLog;
  let base;
  const sessions = [];

  async function openApp(dataDir) {
    const session = await Session.create(base, {
      "tauri:options": { application: APP, args: ["--data-dir", dataDir] },
    });
    sessions.push(session);
    // The page is served from the binary (tauri://localhost); wait until the
    // Svelte app has mounted and left its loading state.
    await waitFor(async () => (await session.findAll(".shell")).length > 0, {
      message: "the app shell to render",
    });
    await waitFor(async () => (await session.findAll("[role=status]")).length === 0, {
      message: "the circles list to finish loading",
    });
    return session;
  }

  async function closeApp(session) {
    await session.delete();
    // WebKitWebDriver closes the browser on session delete; give it a moment.
    await sleep(300);
  }

  async function saveScreenshot(session, name) {
    const png = await session.stableScreenshot();
    assert.ok(png.subarray(1, 4).toString() === "PNG", "screenshot is a PNG");
    const file = path.join(outDir, name);
    fs.writeFileSync(file, png);
    console.log(`screenshot: ${path.relative(repo, file)} (${png.length} bytes)`);
    return file;
  }

  before(async () => {
    const port = await freePort();
    let nativePort = await freePort();
    while (nativePort === port) nativePort = await freePort();
    base = `http://127.0.0.1:${port}`;
    driverLog = path.join(outDir, "tauri-driver.log");
    const log = fs.openSync(driverLog, "w");
    driver = spawn(DRIVER, ["--port", String(port), "--native-port", String(nativePort)], {
      stdio: ["ignore", log, log],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" },
    });
    driver.on("exit", (code, signal) => {
      if (code !== null && code !== 0) console.error(`tauri-driver exited with ${code} (see ${driverLog})`);
      if (signal && signal !== "SIGTERM") console.error(`tauri-driver killed by ${signal}`);
    });
    await waitForServer(base, 30_000);
  });

  after(async () => {
    for (const s of sessions) await s.delete();
    if (driver && driver.exitCode === null) {
      driver.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          driver.kill("SIGKILL");
          r();
        }, 5_000);
        driver.once("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    }
  });

  test("lists a circle created with the CLI", async () => {
    const dataDir = tempDir("list");
    const id = cli(
      "--data-dir", dataDir,
      "circle", "create",
      "--name", "E2E Reading Circle",
      "--time-zone", "America/Chicago",
      "--first-date", dateFromToday(8),
      "--start-time", "18:30",
      "--duration", "90",
      "--meetings", "6",
    ).trim();
    assert.ok(id.length > 0, "the CLI printed the new circle's id");

    const app = await openApp(dataDir);
    try {
      assert.equal(await app.title(), "Circles");
      const rows = await app.waitForAll('[data-testid="circle-row"]');
      assert.equal(rows.length, 1, "exactly the one circle");
      const text = await rows[0].text();
      assert.match(text, /E2E Reading Circle/);
      assert.match(text, /America\/Chicago/);
      assert.match(text, /18:30–20:00/);
      assert.doesNotMatch(text, /None scheduled/, "the next meeting is shown");
      assert.equal(await rows[0].attribute("data-circle-id"), id, "the row is the circle the CLI made");
      const shown = await (await app.find('[data-testid="sidebar-data-dir"]')).text();
      assert.equal(shown, dataDir, "the data folder in use is shown");
      await saveScreenshot(app, "circles-list.png");
    } finally {
      await closeApp(app);
    }
  });

  test("shows the empty state for a new data folder", async () => {
    const dataDir = tempDir("empty");
    const app = await openApp(dataDir);
    try {
      const empty = await app.waitForAll('[data-testid="empty-state"]');
      const text = await empty[0].text();
      assert.match(text, /No circles yet/);
      assert.match(text, /circles circle create/);
      assert.match(text, /circles demo/);
      assert.equal((await app.findAll('[data-testid="circle-row"]')).length, 0);
      await saveScreenshot(app, "empty-state.png");
    } finally {
      await closeApp(app);
    }
  });

  test("shows the demo data", async () => {
    const dataDir = tempDir("demo");
    cli("--data-dir", dataDir, "demo");
    const expected = JSON.parse(cli("--data-dir", dataDir, "circle", "list", "--json"));
    assert.ok(Array.isArray(expected) && expected.length > 0, "the demo made circles");

    const app = await openApp(dataDir);
    try {
      const rows = await app.waitForAll('[data-testid="circle-row"]');
      assert.equal(rows.length, expected.length, "one row per circle the CLI lists");
      const all = (await Promise.all(rows.map((r) => r.text()))).join("\n");
      for (const c of expected) assert.ok(all.includes(c.name), `row for ${c.name}`);
      await saveScreenshot(app, "circles-demo.png");
    } finally {
      await closeApp(app);
    }
  });

  test("a damaged database shows the error panel, is left byte-for-byte unchanged, and Refresh recovers", async () => {
    const dataDir = tempDir("damaged");
    const db = path.join(dataDir, "circles.sqlite");
    // Deterministic garbage that is not a SQLite file (no "SQLite format 3" header).
    const garbage = Buffer.alloc(8192);
    let x = 0x2545f491;
    for (let i = 0; i < garbage.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      garbage[i] = x & 0xff;
    }
    fs.writeFileSync(db, garbage);
    const filesBefore = fs.readdirSync(dataDir).sort();
    const aside = path.join(os.tmpdir(), `${path.basename(dataDir)}-circles.sqlite.damaged`);

    const app = await openApp(dataDir);
    try {
      const panel = await app.waitForAll('[data-testid="store-error"]');
      const text = await panel[0].text();
      assert.match(text, /can't open its data/);
      const message = await (await app.find('[data-testid="store-error-message"]')).text();
      assert.match(message, /circles\.sqlite/, "the message names the file");
      const shownDir = await (await app.find('[data-testid="store-error-dir"]')).text();
      assert.equal(shownDir, dataDir, "the panel shows the data folder");
      assert.equal((await app.findAll('[data-testid="circle-row"]')).length, 0);
      await saveScreenshot(app, "store-error.png");

      // Asking again (Refresh) retries the open and still leaves the file alone.
      await (await app.find("button.secondary")).click();
      await app.waitForAll('[data-testid="store-error"]');
      assert.ok(fs.readFileSync(db).equals(garbage), "circles.sqlite is byte-for-byte unchanged");
      assert.deepEqual(fs.readdirSync(dataDir).sort(), filesBefore, "no files were added next to it");

      // Once the damaged file is moved aside, Refresh opens a fresh store.
      fs.renameSync(db, aside);
      await (await app.find("button.secondary")).click();
      await app.waitForAll('[data-testid="empty-state"]');
    } finally {
      await closeApp(app);
    }
    assert.ok(fs.readFileSync(aside).equals(garbage), "the damaged file, moved aside, is still unchanged");
  });
});
