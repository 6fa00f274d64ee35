// Helpers for the kiosk's browser script (kiosk.mjs, driven by tests/kiosk.rs): waiting for the
// page to swap its body, typing a code, axe-core's WCAG checks, layout measurements,
// screenshots, and checkpoints where the Rust test looks at printers and the server before the
// script goes on.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(import.meta.url);
// axe-core is injected with page.evaluate: the kiosk's CSP allows no inline script, and a
// script tag from elsewhere would be a violation of its own.
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const SIZES = [
  [800, 480],
  [1280, 800],
];
export const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

// Lines from the Rust test: each checkpoint waits for one.
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

// Prints what the script saw so far as one JSON line and waits until the test says go on.
export async function checkpoint(result) {
  console.log(JSON.stringify({ checkpoint: true, ...result }));
  const line = await lines.next();
  if (line.done) throw new Error("the test closed stdin at a checkpoint");
}

export const screen = (page) => page.evaluate(() => document.body.dataset.screen);

export const waitScreen = (page, name, timeout = 30000) =>
  page.waitForFunction((n) => document.body?.dataset.screen === n, name, { timeout, polling: 100 });

// Runs `action` and waits until the kiosk's script has put in a new body (a form's answer or
// a poll), so the next step sees the new screen.
export async function swapped(page, action, timeout = 30000) {
  await page.evaluate(() => {
    document.body.dataset.old = "1";
  });
  await action();
  await page.waitForFunction(() => document.body && !document.body.dataset.old && document.readyState === "complete", null, {
    timeout,
    polling: 100,
  });
}

export async function open(browser, url, violations, watchCsp, [width, height] = SIZES[1]) {
  const page = await browser.newPage({ viewport: { width, height } });
  watchCsp(page, violations);
  // Script errors and failed loads too (but the favicon Chromium asks for on its own: the
  // kiosk has none).
  page.on("console", (m) => {
    if (m.type() === "error" && !m.location().url.endsWith("/favicon.ico")) violations.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => violations.push(`page error: ${e.message}`));
  // As a kiosk browser started with the page's address: opened by the browser itself
  // (Sec-Fetch-Site: none; the kiosk refuses navigations from other pages), and the tab's
  // only history entry (a new tab's about:blank is dropped from its history).
  await page.goto(`${url}/`);
  await (await page.context().newCDPSession(page)).send("Page.resetNavigationHistory");
  await page.waitForSelector(".keypad:not([hidden])");
  return page;
}

// Types a code with the physical keyboard (into the focused code field) or the on-screen
// keypad, and sends it (Enter or the button).
export async function enterCode(page, code, via) {
  if (via === "keypad") {
    await page.click('.keypad button[data-key="clear"]');
    for (const digit of code) await page.click(`.keypad button[data-key="${digit}"]`);
    await swapped(page, () => page.click(".code-form button[type=submit]"));
  } else {
    await page.focus("#code");
    await page.keyboard.type(code);
    await swapped(page, () => page.keyboard.press("Enter"));
  }
}

// Presses Tab until the focused element matches `selector` (at most 40 times).
export async function tabTo(page, selector) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

// axe-core's WCAG 2.0/2.1/2.2 A and AA rules on the page as it is: the violations, short.
export async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  return page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  }, WCAG_TAGS);
}

// Sideways scrolling and touch targets smaller than 44 px (buttons, selects, the labels of
// check boxes and printer radios), on what is shown.
export const layout = (page) =>
  page.evaluate(() => {
    const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
    const small = [...document.querySelectorAll("button, select, label.check, label.printer")]
      .filter(shown)
      .map((e) => ({ e, r: e.getBoundingClientRect() }))
      .filter(({ r }) => r.height < 44 || r.width < 44)
      .map(({ e, r }) => `${e.tagName.toLowerCase()}.${e.className || e.id || e.textContent.trim().slice(0, 20)} ${Math.round(r.width)}x${Math.round(r.height)}`);
    return { scroll_width: document.scrollingElement.scrollWidth, inner_width: innerWidth, small_targets: small };
  });

// A screenshot of the whole page: SHOTS_DIR/<scenario>-<screen>-<w>x<h>.png.
export async function shot(page, shots, scenario, name) {
  const { width, height } = page.viewportSize();
  await page.screenshot({ path: `${shots}/${scenario}-${name}-${width}x${height}.png`, fullPage: true });
}

// axe, layout and a screenshot of the current screen at both sizes; the findings go into
// `into[name]` (only what is wrong, so an empty object means clean).
export async function inspect(page, shots, scenario, name, into) {
  const found = {};
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    const violations = await axe(page);
    const l = await layout(page);
    await shot(page, shots, scenario, name);
    const key = `${width}x${height}`;
    if (violations.length) found[`${key} axe`] = violations;
    if (l.scroll_width > l.inner_width) found[`${key} sideways`] = `${l.scroll_width} > ${l.inner_width}`;
    if (l.small_targets.length) found[`${key} small targets`] = l.small_targets;
  }
  into[name] = found;
}

// Holds the page's progress polls (GET /) while `work` runs, so a screen that changes every
// second (printing) stays put for axe and the screenshot; the held polls then go on, late.
export async function holdingPolls(page, url, work) {
  const held = [];
  let holding = true;
  const handler = (route) => {
    const r = route.request();
    if (holding && r.method() === "GET" && !r.redirectedFrom()) held.push(route);
    else route.continue();
  };
  await page.route(`${url}/`, handler);
  try {
    return await work();
  } finally {
    holding = false;
    await page.unroute(`${url}/`, handler);
    for (const route of held) await route.continue().catch(() => {});
  }
}

// What the station remembers of the session, as the page's own script could ask for it.
export const sessionText = (page) => page.evaluate(async () => (await fetch("/session", { cache: "no-store" })).text());

export const text = (page, selector) => page.evaluate((s) => document.querySelector(s)?.textContent.trim() ?? null, selector);
