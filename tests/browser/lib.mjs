// Shared by the console's browser scripts: Debian's Chromium, launched headless and quiet (no
// network of its own, no first-run, no component updates), and a watch on the console for
// Content-Security-Policy violations.
import { chromium } from "playwright-core";

export const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

export const launch = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });

// Collects every console message of `page` (all its frames) that reports a
// Content-Security-Policy violation into `into`.
export const watchCsp = (page, into) => {
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) into.push(m.text());
  });
};

// axe-core's WCAG 2.0/2.1/2.2 A and AA violations on `page` (id, impact, first nodes).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export const axeViolations = async (page) => {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  });
};
