// Start-up to the Today screen on the demo data, for scripts/release-figures.sh
// (not a test: no `.test.mjs`, so scripts/test.sh's e2e run leaves it out).
// Opens the app RUNS times (default 5) on a demo data folder made by the CLI;
// each time from the WebDriver session's start (tauri-driver and
// WebKitWebDriver start the app process) to Today's meetings on screen. The
// first run is the coldest: nothing of this binary was mapped before it.
// Prints one JSON line: {"runs":[ms...],"first_ms":..,"median_ms":..,"best_ms":..}.
//
// Environment: as harness.mjs (CIRCLES_APP, CIRCLES_CLI, a display); RUNS.

import fs from "node:fs";
import path from "node:path";

import { cli, driverForFile, outDir, saveScreenshot, tempDir } from "./harness.mjs";

const runs = Number(process.env.RUNS ?? 5);
const e2e = driverForFile("startup-figures");
await e2e.start();
try {
  const dataDir = tempDir("startup-figures");
  cli("--data-dir", dataDir, "demo");
  const timings = [];
  for (let i = 0; i < runs; i++) {
    const started = Date.now();
    const app = await e2e.openApp(dataDir);
    await app.waitForAll('[data-testid="today-meeting"]');
    timings.push(Date.now() - started);
    if (i === 0) await saveScreenshot(app, "startup-figures-today.png");
    await e2e.closeApp(app);
  }
  const sorted = [...timings].sort((a, b) => a - b);
  const summary = { runs: timings, first_ms: timings[0], median_ms: sorted[Math.floor(sorted.length / 2)], best_ms: sorted[0] };
  fs.writeFileSync(path.join(outDir, "startup-figures.json"), JSON.stringify(summary, null, 2));
  console.log(JSON.stringify(summary));
} finally {
  await e2e.stop();
}
