// Every page of the admin console at a phone's and a laptop's size, for tests/admin_layout.rs
// (and at 360 px, the narrowest phone it is made for, whether it scrolls sideways):
// for each page and size it records the answer's status, whether the page scrolls sideways
// (document.documentElement.scrollWidth against the viewport), axe-core's WCAG 2.0/2.1/2.2 A
// and AA violations, controls smaller than 24 x 24 px (WCAG 2.2 2.5.8), the page's structure
// (lang, title, one h1, headings in order, a main landmark) and a screenshot
// (SHOTS_DIR/layout-<page>-<w>x<h>.png). On the dashboard it also tabs through the first
// controls and records whether each shows a focus outline. Prints one JSON line; the Rust test
// decides what fails.
//
// axe-core is injected with page.evaluate: the console's CSP allows no script at all, and a
// script tag would be a violation of its own (which watchCsp would report).
//
// Environment: ADMIN_URL, ADMIN_USER, ADMIN_PASSWORD, SENDER, TRACE_ID, SHOTS_DIR, CHROMIUM.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { env, launch, watchCsp } from "./lib.mjs";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
const SIZES = [
  [390, 844],
  [1280, 800],
];

const url = env("ADMIN_URL");
const shots = env("SHOTS_DIR");
const PAGES = [
  ["dashboard", "/"],
  ["desk", `/desk?sender=${encodeURIComponent(env("SENDER"))}`],
  ["senders", `/senders?queue=bw&sender=${encodeURIComponent(env("SENDER"))}`],
  ["queues", "/queues"],
  ["tuning", "/tuning"],
  ["tuning-apply", "/tuning?queue=bw&tag=5&reject=6&confirm=1"],
  ["trace", `/trace?sender=${encodeURIComponent(env("SENDER"))}`],
  ["trace-detail", `/trace/${encodeURIComponent(env("TRACE_ID"))}`],
  ["jobs", "/jobs"],
  ["audit", "/audit"],
  ["accounts", "/accounts"],
  ["404", "/no-such-page"],
  ["400", "/tuning?days=abc"],
  ["405", "/queues/bw"],
];

async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  return page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  }, WCAG_TAGS);
}

// Sideways scrolling, small controls and the page's structure.
const measure = (page) =>
  page.evaluate(() => {
    const shown = (e) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden";
    };
    const name = (e) => `${e.tagName.toLowerCase()}${e.name ? `[name=${e.name}]` : ""} "${(e.textContent || e.value || "").trim().slice(0, 30)}"`;
    const controls = [...document.querySelectorAll("button, select, input:not([type=hidden]), nav a, summary")].filter(shown);
    const small = controls
      .filter((e) => !e.classList.contains("skip"))
      .map((e) => [e, e.getBoundingClientRect()])
      .filter(([, r]) => r.width < 24 || r.height < 24)
      .map(([e, r]) => `${name(e)} ${Math.round(r.width)}x${Math.round(r.height)}`);
    const levels = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].map((h) => Number(h.tagName[1]));
    const skipped = levels.some((l, i) => i > 0 && l > levels[i - 1] + 1) || levels[0] !== 1;
    return {
      scroll_width: document.documentElement.scrollWidth,
      inner_width: window.innerWidth,
      small_targets: small,
      lang: document.documentElement.lang,
      title: document.title,
      h1s: levels.filter((l) => l === 1).length,
      headings_in_order: !skipped,
      main: document.querySelectorAll("main").length,
      h1: (document.querySelector("h1")?.textContent || "").trim(),
    };
  });

async function visit(page, name, path, into) {
  into[name] = {};
  // The narrowest phone the console is made for: only whether it scrolls sideways.
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(`${url}${path}`, { waitUntil: "load" });
  into[name]["360x740"] = await measure(page);
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    const response = await page.goto(`${url}${path}`, { waitUntil: "load" });
    const found = await measure(page);
    found.status = response.status();
    found.violations = await axe(page);
    await page.screenshot({ path: `${shots}/layout-${name}-${width}x${height}.png`, fullPage: true });
    into[name][`${width}x${height}`] = found;
  }
}

// Tabs from the top of the page through up to `count` controls (until focus leaves the page):
// each must show an outline.
async function focusRing(page, count) {
  const seen = [];
  await page.evaluate(() => document.activeElement?.blur());
  for (let i = 0; i < count; i++) {
    await page.keyboard.press("Tab");
    const step = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const s = getComputedStyle(e);
      return { element: `${e.tagName.toLowerCase()} ${(e.textContent || "").trim().slice(0, 20)}`, outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2 };
    });
    if (!step) break;
    seen.push(step);
  }
  return seen;
}

const browser = await launch();
const result = { pages: {} };
const violations = [];
try {
  const page = await browser.newPage();
  watchCsp(page, violations);
  await visit(page, "login", "/login", result.pages);
  await page.fill("input[name=user]", env("ADMIN_USER"));
  await page.fill("input[name=password]", env("ADMIN_PASSWORD"));
  await Promise.all([page.waitForURL(`${url}/`), page.click("#login")]);
  for (const [name, path] of PAGES) await visit(page, name, path, result.pages);
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    await page.goto(`${url}/`);
    result[`focus_${width}x${height}`] = await focusRing(page, 12);
  }
  // The menu on a phone: every link and the logout button inside the menu's band, none cut off.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${url}/`);
  result.menu_390 = await page.evaluate(() => {
    const band = document.querySelector("header").getBoundingClientRect();
    return [...document.querySelectorAll("nav a, nav button")].map((e) => {
      const r = e.getBoundingClientRect();
      return { name: e.textContent.trim(), inside: r.left >= band.left && r.right <= band.right && r.top >= band.top && r.bottom <= band.bottom };
    });
  });
} finally {
  await browser.close();
}
result.csp_violations = violations;
console.log(JSON.stringify(result));
