// A tiny W3C WebDriver client over fetch (Node 20+), enough to drive the Circles
// window through tauri-driver -> WebKitWebDriver. No npm dependencies on purpose:
// the e2e test needs nothing but node, tauri-driver and WebKitWebDriver.

const ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriverError extends Error {
  constructor(method, path, status, body) {
    const v = body && body.value;
    const detail = v && typeof v === "object" ? `${v.error}: ${v.message}` : JSON.stringify(body);
    super(`WebDriver ${method} ${path} -> HTTP ${status}: ${detail}`);
    this.name = "WebDriverError";
    this.status = status;
    this.error = v && v.error;
  }
}

async function request(base, method, path, body, timeoutMs = 60_000) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json; charset=utf-8" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { value: { error: "invalid json", message: text.slice(0, 500) } };
  }
  if (!res.ok) throw new WebDriverError(method, path, res.status, json);
  return json.value;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` until it returns a truthy value, or throw `message` after `timeoutMs`. */
export async function waitFor(probe, { timeoutMs = 20_000, intervalMs = 150, message = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** Wait until the WebDriver server at `base` answers /status. */
export async function waitForServer(base, timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const res = await fetch(base + "/status", { signal: AbortSignal.timeout(2_000) });
      return res.ok;
    },
    { timeoutMs, message: `WebDriver server at ${base}` },
  );
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  /** Start a session; for Tauri, `capabilities` holds `tauri:options`. */
  static async create(base, capabilities) {
    const value = await request(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } }, 90_000);
    return new Session(base, value.sessionId);
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  async findAll(css) {
    const els = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return els.map((e) => new Element(this, e[ELEMENT_KEY]));
  }

  async find(css) {
    const e = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return new Element(this, e[ELEMENT_KEY]);
  }

  /** Wait until at least one element matches `css`; returns all matches. */
  waitForAll(css, timeoutMs = 20_000) {
    return waitFor(
      async () => {
        const els = await this.findAll(css);
        return els.length > 0 ? els : null;
      },
      { timeoutMs, message: `an element matching ${css}` },
    );
  }

  execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  executeAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  /** Press keys on the keyboard (WebDriver actions), e.g. "\uE004" for Tab. */
  async pressKeys(...keys) {
    const actions = keys.flatMap((value) => [{ type: "keyDown", value }, { type: "keyUp", value }]);
    await this.cmd("POST", "/actions", { actions: [{ type: "key", id: "keyboard", actions }] });
  }

  /** Resolve after the page has painted twice (pending DOM changes are on screen). */
  settle() {
    return this.executeAsync(
      "const done = arguments[arguments.length - 1];" +
        "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
    );
  }

  title() {
    return this.cmd("GET", "/title");
  }

  /** PNG screenshot of the webview, as a Buffer. */
  async screenshot() {
    return Buffer.from(await this.cmd("GET", "/screenshot"), "base64");
  }

  /**
   * A screenshot of what the DOM shows now. Under Xvfb, WebKitGTK can hand out the
   * previous frame right after a DOM change, so wait for paints, then take shots
   * until two in a row are identical.
   */
  async stableScreenshot({ attempts = 12, intervalMs = 250 } = {}) {
    await this.settle();
    let previous = await this.screenshot();
    for (let i = 0; i < attempts; i++) {
      await sleep(intervalMs);
      await this.settle();
      const shot = await this.screenshot();
      if (shot.equals(previous)) return shot;
      previous = shot;
    }
    throw new Error(`the window kept changing: no two identical screenshots in ${attempts} tries`);
  }

  async delete() {
    try {
      await this.cmd("DELETE", "");
    } catch {
      // The app may already be gone; nothing to clean up then.
    }
  }
}

export class Element {
  constructor(session, id) {
    this.session = session;
    this.id = id;
  }

  text() {
    return this.session.cmd("GET", `/element/${this.id}/text`);
  }

  attribute(name) {
    return this.session.cmd("GET", `/element/${this.id}/attribute/${encodeURIComponent(name)}`);
  }

  click() {
    return this.session.cmd("POST", `/element/${this.id}/click`, {});
  }

  /** Type real key presses into the element (focusing it first). */
  sendKeys(text) {
    return this.session.cmd("POST", `/element/${this.id}/value`, { text });
  }
}
