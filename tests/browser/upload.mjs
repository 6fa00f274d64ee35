// The web upload form in Chromium (tests/upload.rs): the form, the German form, a problem
// page and the results page at 360 px and desktop width; axe-core (WCAG 2.2 A/AA) on each,
// no sideways scrolling, no CSP violation; an upload through the script path (XHR with a
// progress bar) reaches the results page. Screenshots go to SHOTS_DIR.
import { env, launch, watchCsp, axeViolations } from "./lib.mjs";

const url = env("UPLOAD_URL");
const shots = env("SHOTS_DIR");
const pdf = env("PDF");
const widths = [360, 1280];

const browser = await launch();
const result = { pages: [], csp: [] };
try {
  const context = await browser.newContext({ locale: "en-GB" });
  const page = await context.newPage();
  watchCsp(page, result.csp);

  const inspect = async (name) => {
    for (const width of widths) {
      await page.setViewportSize({ width, height: 800 });
      await page.waitForTimeout(100);
      const sideways = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
      const violations = await axeViolations(page);
      await page.screenshot({ path: `${shots}/${name}-${width}.png`, fullPage: true });
      result.pages.push({ name: `${name}-${width}`, sideways, violations });
    }
  };

  await page.goto(`${url}/`);
  await inspect("form");
  await page.goto(`${url}/?lang=de`);
  result.german_heading = await page.textContent("h1");
  await inspect("form-de");

  // A page in words (what 404, 413, 422 and 429 answers look like).
  await page.goto(`${url}/upload/00000000000000000000000000000000`);
  await inspect("message");

  // A problem: the address is not one a reply can go to (the browser's own check is bypassed).
  await page.goto(`${url}/`);
  await page.fill("#email", "patron@localhost");
  await page.setInputFiles("#file", pdf);
  await page.evaluate(() => document.getElementById("upload-form").noValidate = true);
  await page.evaluate(() => HTMLFormElement.prototype.submit.call(document.getElementById("upload-form")));
  await page.waitForSelector("#problem");
  await inspect("problem");

  // Too large together: the script says so before sending anything.
  await page.goto(`${url}/`);
  await page.fill("#email", "patron@example.com");
  let posted = false;
  const spy = (r) => { if (r.method() === "POST") posted = true; };
  page.on("request", spy);
  await page.setInputFiles("#file", { name: "big.pdf", mimeType: "application/pdf", buffer: Buffer.alloc(11 * 1024 * 1024, 120) });
  await page.click("button[type=submit]");
  await page.waitForSelector("#too-large:not([hidden])");
  result.too_large_text = await page.textContent("#too-large");
  result.too_large_posted = posted;
  page.off("request", spy);

  // The script path: XHR upload with progress, then the results page.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${url}/`);
  await page.fill("#email", "patron@example.com");
  await page.setInputFiles("#file", pdf);
  await page.check("#duplex");
  page.on("request", (r) => {
    if (r.method() === "POST" && r.url().endsWith("/upload")) result.upload_via = r.resourceType();
  });
  await page.click("button[type=submit]");
  await page.waitForURL(/\/upload\/[0-9a-f]{32}/, { timeout: 60_000 });
  result.results_url = page.url();
  await page.waitForSelector("li.ready", { timeout: 120_000 });
  await inspect("results");
  result.results_text = await page.textContent("main");
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
