// The dashboard with data in it, in Debian's headless Chromium, for tests/admin_dashboard.rs.
// At 360 x 740, 390 x 844 and 1280 x 800, with the tables of numbers opened: whether the page
// scrolls sideways, axe-core's WCAG 2.0/2.1/2.2 A and AA violations, the charts' accessible
// names, how many stacked segments the hours chart draws and how wide it is, and a screenshot
// (SHOTS_DIR/dashboard-<w>x<h>.png). At the laptop's size it then follows the virus row's link
// and counts the messages listed. Prints one JSON line; the Rust test decides what fails.
// Environment: ADMIN_URL, ADMIN_USER, ADMIN_PASSWORD, SHOTS_DIR, CHROMIUM.
import { axeViolations, env, launch, watchCsp } from "./lib.mjs";

const url = env("ADMIN_URL");
const shots = env("SHOTS_DIR");
const browser = await launch();
const result = { sizes: {} };
const violations = [];

try {
  for (const [w, h] of [[360, 740], [390, 844], [1280, 800]]) {
    const size = `${w}x${h}`;
    const context = await browser.newContext({ viewport: { width: w, height: h } });
    const page = await context.newPage();
    watchCsp(page, violations);
    await page.goto(`${url}/login`);
    await page.fill("input[name=user]", env("ADMIN_USER"));
    await page.fill("input[name=password]", env("ADMIN_PASSWORD"));
    await Promise.all([page.waitForURL(`${url}/`), page.click("#login")]);
    for (const summary of await page.locator("details > summary").all()) await summary.click();
    const seen = await page.evaluate(() => {
      const charts = [...document.querySelectorAll("svg.chart[role=img]")];
      const name = (svg) => (svg.getAttribute("aria-labelledby") || "").split(" ").map((id) => document.getElementById(id)?.textContent ?? "");
      return {
        scroll_width: document.documentElement.scrollWidth,
        inner_width: window.innerWidth,
        charts: charts.map((c) => name(c)[0]),
        descriptions: charts.map((c) => name(c)[1]),
        segments: document.querySelectorAll("#per-hour-chart rect.seg").length,
        chart_width: document.getElementById("per-hour-chart").getBoundingClientRect().width,
      };
    });
    result.sizes[size] = { ...seen, violations: await axeViolations(page) };
    await page.screenshot({ path: `${shots}/dashboard-${size}.png`, fullPage: true });
    if (w > 1000) {
      await Promise.all([page.waitForURL(/\/trace\?category=virus/), page.click("#reason-virus a")]);
      result.virus_listed = await page.locator("section.trace").count();
      await page.screenshot({ path: `${shots}/dashboard-virus-list.png`, fullPage: true });
    }
    await context.close();
  }
} finally {
  await browser.close();
}
result.csp_violations = violations;
console.log(JSON.stringify(result));
