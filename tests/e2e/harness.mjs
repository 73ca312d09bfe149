// What every end-to-end test file shares: the binaries (checked loudly), the CLI,
// temporary data folders, tauri-driver, opening the app window on a data folder,
// and screenshots. Nothing is skipped: a missing binary, driver or display fails.
//
// Environment:
//   CIRCLES_APP     the circles-app binary (built with the embedded UI)   [required]
//   CIRCLES_CLI     the circles CLI binary                                 [required]
//   CIRCLES_SERVER  the circles-server binary                              [sync journeys]
//   TAURI_DRIVER    tauri-driver (default: on PATH, else ~/.cargo/bin/tauri-driver)
//   E2E_OUTPUT_DIR  where screenshots and logs go (default: test-output/e2e)

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Session, sleep, waitFor, waitForServer } from "./webdriver.mjs";

export { sleep, waitFor };

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const outDir = path.resolve(process.env.E2E_OUTPUT_DIR ?? path.join(repo, "test-output", "e2e"));

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

export function requireFile(label, p, hint) {
  if (!p || !fs.existsSync(p)) {
    throw new Error(`${label} not found${p ? ` at ${p}` : ""}. ${hint}`);
  }
  return path.resolve(p);
}

export function freePort() {
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

export const APP = requireFile(
  "circles-app binary (CIRCLES_APP)",
  process.env.CIRCLES_APP,
  "Build it with `cargo build -p circles-app` (after building ui/) and set CIRCLES_APP.",
);
export const CLI = requireFile(
  "circles CLI binary (CIRCLES_CLI)",
  process.env.CIRCLES_CLI,
  "Build it with `cargo build -p circles-cli` and set CIRCLES_CLI.",
);
const DRIVER = requireFile(
  "tauri-driver",
  process.env.TAURI_DRIVER ?? which("tauri-driver") ?? path.join(os.homedir(), ".cargo", "bin", "tauri-driver"),
  "Install it with `cargo install tauri-driver --locked --version '^2'` (scripts/setup.sh does).",
);
requireFile("WebKitWebDriver", which("WebKitWebDriver"), "Install the Debian package webkit2gtk-driver (scripts/setup.sh does).");
if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  throw new Error("No display: run this test under `xvfb-run -a -s '-screen 0 1280x800x24'` (scripts/test.sh does).");
}
fs.mkdirSync(outDir, { recursive: true });

/** Run the real CLI; returns stdout. Throws with its stderr on failure. */
export function cli(...args) {
  const r = spawnSync(CLI, args, { encoding: "utf8", env: { ...process.env, RUST_LOG: "warn" } });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`circles ${args.join(" ")} exited with ${r.status}:\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/** YYYY-MM-DD, `days` from today (local). */
export function dateFromToday(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function tempDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `circles-e2e-${name}-`));
}

/**
 * tauri-driver for one test file: `const e2e = driverForFile("journeys")` at the
 * top level of a describe, then `before(e2e.start)` and `after(e2e.stop)`.
 */
export function driverForFile(name) {
  let driver;
  let base;
  const sessions = [];
  return {
    async start() {
      const port = await freePort();
      let nativePort = await freePort();
      while (nativePort === port) nativePort = await freePort();
      base = `http://127.0.0.1:${port}`;
      const logFile = path.join(outDir, `tauri-driver-${name}.log`);
      const log = fs.openSync(logFile, "w");
      driver = spawn(DRIVER, ["--port", String(port), "--native-port", String(nativePort)], {
        stdio: ["ignore", log, log],
        env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" },
      });
      driver.on("exit", (code, signal) => {
        if (code !== null && code !== 0) console.error(`tauri-driver exited with ${code} (see ${logFile})`);
        if (signal && signal !== "SIGTERM") console.error(`tauri-driver killed by ${signal}`);
      });
      await waitForServer(base, 30_000);
    },
    async stop() {
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
    },
    /**
     * Open the app window on a data folder (`null`: no --data-dir, so the
     * per-user folder a person gets from the menu); resolves once the UI has
     * rendered: the app shell, or the welcome screen of an empty store
     * (`answerWelcome` below goes on from it).
     */
    async openApp(dataDir) {
      const args = dataDir === null ? [] : ["--data-dir", dataDir];
      const session = await Session.create(base, {
        "tauri:options": { application: APP, args },
      });
      sessions.push(session);
      await waitFor(async () => (await session.findAll('.shell, [data-testid="welcome"], [data-testid="lock-screen"]')).length > 0, {
        message: "the app shell, the welcome screen or the lock screen to render",
      });
      await waitFor(async () => (await session.findAll("[role=status]")).length === 0 || (await session.findAll(".screen-header")).length > 0, {
        message: "the first screen to finish loading",
      });
      return session;
    },
    async closeApp(session) {
      await session.delete();
      sessions.splice(sessions.indexOf(session), 1);
      // WebKitWebDriver closes the browser on session delete; give it a moment.
      await sleep(300);
    },
  };
}

/** Save a screenshot (once the frame is stable) under the output folder. A
 *  window that never settles (a blinking caret, an animation) still gets its
 *  picture, said so: screenshots are for people to look at, the tests assert
 *  on the DOM. */
export async function saveScreenshot(session, name) {
  await sleep(500);
  let png;
  try {
    png = await session.stableScreenshot();
  } catch (e) {
    console.log(`screenshot ${name}: ${e.message}; saving the last frame`);
    png = await session.screenshot();
  }
  assert.ok(png.subarray(1, 4).toString() === "PNG", "screenshot is a PNG");
  const file = path.join(outDir, name);
  fs.writeFileSync(file, png);
  console.log(`screenshot: ${path.relative(repo, file)} (${png.length} bytes)`);
  return file;
}

/** Every file under a folder that holds `needle` in its bytes (what an erase
 *  or a removal must leave nowhere). */
export function filesHolding(dir, needle) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesHolding(p, needle));
    else if (fs.readFileSync(p).includes(needle)) found.push(p);
  }
  return found;
}

/** The text of the first element matching `css`, once it is there. */
export async function text(session, css) {
  const [el] = await session.waitForAll(css);
  return el.text();
}

/** Click the element matching `css` (waiting for it). */
export async function click(session, css) {
  const [el] = await session.waitForAll(css);
  await el.click();
  return el;
}

/** Type into an input: clears it first through the DOM (fires input events). */
export async function typeInto(session, css, text) {
  await session.waitForAll(css);
  await session.execute(
    `const el = document.querySelector(arguments[0]);
     el.focus();
     const proto = el.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : el.tagName === "SELECT" ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
     Object.getOwnPropertyDescriptor(proto, "value").set.call(el, arguments[1]);
     el.dispatchEvent(new Event("input", { bubbles: true }));
     el.dispatchEvent(new Event("change", { bubbles: true }));`,
    [css, text],
  );
}

/** An empty store opens on the welcome screen: choose "Start without an account" and wait for the app. */
export async function answerWelcome(session) {
  await click(session, '[data-testid="welcome-offline"]');
  await waitFor(async () => (await session.findAll(".shell")).length > 0, { message: "the app after the welcome" });
  await waitFor(async () => (await session.findAll(".screen-header")).length > 0, { message: "the first screen" });
}

// --- Sync journeys: a real circles-server, the app signed in to it, the CLI as a second laptop.

/** The password of the one account every sync journey's server has (ana@example.org). */
export const PASSWORD = "correct horse battery";

/**
 * Start a real circles-server (CIRCLES_SERVER) on a free port, with a fresh
 * database in `work` holding one account, ana@example.org. Its log goes to
 * `<name>-server.log` in the output folder; `serveArgs` are more `serve`
 * options. `stop()` ends it.
 */
/** aiosmtpd (scripts/setup.sh's venv) on a free port, storing messages in a maildir. */
export async function startSmtp(work, name) {
  const venv = process.env.CIRCLES_AIOSMTPD_VENV ?? path.join(os.homedir(), ".cache", "circles", "aiosmtpd-1.4.6");
  const python = path.join(venv, "bin", "python");
  assert.ok(fs.existsSync(python), `the SMTP test server is missing (${python}): run scripts/setup.sh`);
  const port = await freePort();
  const maildir = path.join(work, "maildir");
  const log = fs.openSync(path.join(outDir, `${name}-smtp.log`), "w");
  const child = spawn(python, ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${port}`, "-c", "aiosmtpd.handlers.Mailbox", maildir], {
    stdio: ["ignore", log, log],
  });
  await waitFor(() => fs.existsSync(path.join(maildir, "new")), { message: "the SMTP server to start" });
  await new Promise((r) => setTimeout(r, 300));
  const raw = () =>
    ["new", "cur"].flatMap((sub) => {
      const dir = path.join(maildir, sub);
      return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), "utf8")) : [];
    });
  return {
    url: `smtp://127.0.0.1:${port}`,
    /** Every message received so far, raw, soft line breaks joined (for reading bodies). */
    messages: () => raw().map((m) => m.replace(/=\r?\n/g, "")),
    /** Every message received so far, exactly as received (for headers and attachments). */
    raw,
    stop: () => child.kill("SIGTERM"),
  };
}

export async function startSyncServer(work, name, serveArgs = []) {
  const server = requireFile(
    "circles-server binary (CIRCLES_SERVER)",
    process.env.CIRCLES_SERVER,
    "Build it with `cargo build -p circles-server` and set CIRCLES_SERVER.",
  );
  const db = path.join(work, "server.sqlite");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, CIRCLES_PASSWORD: PASSWORD, RUST_LOG: "warn" };
  const admin = spawnSync(server, ["--db", db, "user", "add", "--email", "ana@example.org", "--name", "Ana"], { env, encoding: "utf8" });
  assert.equal(admin.status, 0, admin.stderr);
  let child = null;
  const start = async () => {
    const log = fs.openSync(path.join(outDir, `${name}-server.log`), "a");
    child = spawn(server, ["--db", db, "serve", "--listen", `127.0.0.1:${port}`, ...serveArgs], { env, stdio: ["ignore", log, log] });
    await waitFor(async () => {
      try {
        return (await fetch(`${url}/healthz`)).ok;
      } catch {
        return false;
      }
    }, { message: "the server to answer" });
  };
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  };
  await start();
  return {
    url,
    /** The server's SQLite database file. */
    db,
    stop,
    /** Start it again after `stop`, on the same address and database. */
    start,
  };
}

/** Sign the app in to `url` as ana@example.org from the Sync screen; resolves once the first sync has sent everything. */
export async function signInApp(session, url) {
  await click(session, '[data-testid="nav-sync"]');
  await typeInto(session, '[data-testid="server-url"]', url);
  await typeInto(session, '[data-testid="sign-in-email"]', "ana@example.org");
  await typeInto(session, '[data-testid="sign-in-password"]', PASSWORD);
  await click(session, '[data-testid="sign-in"]');
  await waitFor(async () => (await text(session, '[data-testid="sync-screen-pending"]')) === "Nothing waiting", {
    message: "the first sync to send everything",
    timeoutMs: 30_000,
  });
}

/** Sign the CLI on `dataDir` in to `url` as ana@example.org: another laptop of the same account. */
export function loginCli(dataDir, url) {
  const r = spawnSync(CLI, ["--data-dir", dataDir, "login", "--server", url, "--email", "ana@example.org"], {
    encoding: "utf8",
    env: { ...process.env, CIRCLES_PASSWORD: PASSWORD, RUST_LOG: "warn" },
  });
  assert.equal(r.status, 0, `circles login exited with ${r.status}:\n${r.stderr}${r.stdout}`);
}

/**
 * Have the app sync, as its background sync would, without leaving the screen
 * (the Sync screen's button would navigate away from a form), until `arrived`
 * holds. A sync already running when asked may end before the other laptop's
 * change is on the server, so it asks again now and then.
 */
export async function syncAppUntil(session, arrived, message) {
  let polls = 0;
  await waitFor(
    async () => {
      if (polls++ % 8 === 0) await session.execute("window.__TAURI_INTERNALS__.invoke('sync_now'); return true;");
      return arrived();
    },
    { message, timeoutMs: 60_000, intervalMs: 500 },
  );
}

// --- Accessibility: axe-core's WCAG 2 A and AA rules on the page as it is.

const AXE = fs.readFileSync(path.join(repo, "ui", "node_modules", "axe-core", "axe.min.js"), "utf8");

/** Run axe on the current page; returns the violations (rule, impact, where). */
export async function axe(session) {
  const loaded = await session.execute("return typeof window.axe !== 'undefined'");
  if (!loaded) await session.execute(`${AXE}; return true;`);
  const result = await session.executeAsync(
    `const done = arguments[arguments.length - 1];
     window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
       .then((r) => done(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
         nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary.split("\\n").slice(0, 2).join(" ")) }))))
       .catch((e) => done([{ id: "axe-error", impact: "critical", help: String(e), nodes: [] }]));`,
  );
  return result;
}
