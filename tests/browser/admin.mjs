// Drives the admin console in Debian's headless Chromium (playwright-core) for tests/admin.rs:
// log in, read the what-if counts for proposed spam lines, move the queue's lines in the queue
// form, and take a screenshot of every page; every page runs under the console's
// Content-Security-Policy, and any violation Chromium reports is counted. Prints one JSON line
// with what it read.
//
// Environment: ADMIN_URL, ADMIN_USER, ADMIN_PASSWORD, QUEUE, NEW_TAG, NEW_REJECT, SENDER,
// SHOTS_DIR, CHROMIUM (default /usr/bin/chromium).
import { env, launch, watchCsp } from "./lib.mjs";

const url = env("ADMIN_URL");
const shots = env("SHOTS_DIR");
const browser = await launch();
const result = {};
const violations = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watchCsp(page, violations);
  await page.goto(`${url}/login`);
  // The stylesheet is the console's own file (no inline style under the CSP): applied?
  result.styled = await page.evaluate(() => getComputedStyle(document.body).fontFamily.includes("system-ui"));
  await page.screenshot({ path: `${shots}/login.png`, fullPage: true });
  await page.fill("input[name=user]", env("ADMIN_USER"));
  await page.fill("input[name=password]", env("ADMIN_PASSWORD"));
  await Promise.all([page.waitForURL(`${url}/`), page.click("#login")]);
  await page.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });
  result.dashboard_pages = (await page.textContent("#pages")).trim();

  const queue = env("QUEUE");
  await page.goto(`${url}/tuning?queue=${queue}&days=7&tag=${env("NEW_TAG")}&reject=${env("NEW_REJECT")}`);
  await page.screenshot({ path: `${shots}/tuning.png`, fullPage: true });
  for (const id of ["now-pass", "now-tagged", "now-refused", "if-pass", "if-tagged", "if-refused"]) {
    result[id] = Number((await page.textContent(`#${id}`)).trim());
  }
  result.changes = await page.locator("#changes tr").count() - 1;

  await page.goto(`${url}/queues`);
  const form = page.locator(`#queue-${queue}`);
  await form.locator("input[name=spam_tag_score]").fill(env("NEW_TAG"));
  await form.locator("input[name=spam_reject_score]").fill(env("NEW_REJECT"));
  await Promise.all([page.waitForURL(/\/queues\?saved=/), form.locator("button").click()]);
  result.notice = (await page.textContent("#notice")).trim();
  await page.screenshot({ path: `${shots}/queues.png`, fullPage: true });

  await page.goto(`${url}/trace?sender=${encodeURIComponent(env("SENDER"))}`);
  await page.screenshot({ path: `${shots}/trace.png`, fullPage: true });
  result.traces = await page.locator("section.trace").count();

  await page.goto(`${url}/jobs`);
  await page.screenshot({ path: `${shots}/jobs.png`, fullPage: true });
  result.jobs = await page.locator("#jobs tr").count() - 1;
  // The dashboard's charts are inline SVG (no style attribute): the hour with both mails is drawn.
  await page.goto(`${url}/`);
  result.tallest_column = await page.evaluate(() =>
    Math.max(0, ...[...document.querySelectorAll("#per-hour-chart rect.seg")].map((b) => b.getBoundingClientRect().height)));
} finally {
  await browser.close();
}
result.csp_violations = violations;
console.log(JSON.stringify(result));
