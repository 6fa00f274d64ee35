// The staff desk in Debian's headless Chromium, for tests/admin_desk.rs. At a phone's (390 x 844)
// and a laptop's (1280 x 800) size, as the staff account: look a patron up by part of the
// address (the "lookup" screen), press "Send a new code" (the "confirm" screen), and then
// - on the phone: "No, go back", and open the outcome page by its URL;
// - on the laptop: "Yes, send a new code" (the "done" screen, after the redirect).
// Each screen: sideways scrolling, axe-core violations, a screenshot (SHOTS_DIR/desk-*.png).
// Prints one JSON line. Environment: ADMIN_URL, DESK_USER, DESK_PASSWORD, OTHER (the address
// looked up and sent a new code), SHOTS_DIR, CHROMIUM.
import { axeViolations, env, launch, watchCsp } from "./lib.mjs";

const url = env("ADMIN_URL");
const shots = env("SHOTS_DIR");
const other = env("OTHER");
const browser = await launch();
const result = { screens: { lookup: {}, confirm: {}, done: {} } };
const violations = [];

const look = async (page, screen, size) => {
  const width = await page.evaluate(() => ({ scroll_width: document.documentElement.scrollWidth, inner_width: window.innerWidth }));
  result.screens[screen][size] = { ...width, violations: await axeViolations(page) };
  await page.screenshot({ path: `${shots}/desk-${screen}-${size}.png`, fullPage: true });
};

try {
  for (const [w, h] of [[390, 844], [1280, 800]]) {
    const size = `${w}x${h}`;
    const context = await browser.newContext({ viewport: { width: w, height: h } });
    const page = await context.newPage();
    watchCsp(page, violations);
    await page.goto(`${url}/login`);
    await page.fill("input[name=user]", env("DESK_USER"));
    await page.fill("input[name=password]", env("DESK_PASSWORD"));
    await Promise.all([page.waitForURL(`${url}/`), page.click("#login")]);
    await Promise.all([page.waitForURL(`${url}/desk`), page.click("nav a[href='/desk']")]);
    await page.getByLabel("Patron's email address, or part of it").fill(other);
    await Promise.all([page.waitForURL(/\/desk\?sender=/), page.getByRole("button", { name: "Find", exact: true }).click()]);
    await look(page, "lookup", size);
    await Promise.all([page.waitForURL(/\/resend$/), page.getByRole("button", { name: /^Send a new code/ }).click()]);
    result.resent_to = (await page.textContent("#facts tr:first-child td")).trim();
    await look(page, "confirm", size);
    if (w < 1000) {
      await Promise.all([page.waitForURL(/\/desk\?sender=/), page.getByRole("link", { name: "No, go back" }).click()]);
      await page.goto(`${page.url()}&done=resent`);
    } else {
      await Promise.all([page.waitForURL(/done=resent/), page.getByRole("button", { name: "Yes, send a new code" }).click()]);
      result.done_text = (await page.textContent("#done")).trim();
    }
    await look(page, "done", size);
    await context.close();
  }
} finally {
  await browser.close();
}
result.csp_violations = violations;
console.log(JSON.stringify(result));
