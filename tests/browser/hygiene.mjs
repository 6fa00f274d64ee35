// The console's web hygiene in Debian's headless Chromium, for tests/admin.rs:
//
// 1. Framing: logged in, the browser opens a page served by this script on another port of the
//    same host (same site: the SameSite=Strict session cookie goes along) that frames the
//    console's job list, next to a control frame of its own. The control frame must show; the
//    console's must not.
// 2. Look-up by release code: the POST form finds the message, and the code is in no URL.
// 3. Back after logout: a trace page with a sender address, log out, Back: the browser refetches
//    (no-store), is sent to the login page, and the address is not shown.
//
// Prints one JSON line with what it saw; screenshots go to SHOTS_DIR (hygiene-*.png).
// Environment: ADMIN_URL, ADMIN_USER, ADMIN_PASSWORD, SENDER, CODE, SHOTS_DIR, CHROMIUM.
import http from "node:http";
import { env, launch, watchCsp } from "./lib.mjs";

const url = env("ADMIN_URL");
const shots = env("SHOTS_DIR");
const sender = env("SENDER");

// The attacker's page, on a port of its own.
const framer = http.createServer((req, res) => {
  res.setHeader("content-type", "text/html; charset=utf-8");
  if (req.url === "/control") {
    res.end("<!DOCTYPE html><p id=control>framed control page</p>");
  } else {
    res.end(`<!DOCTYPE html><h1>Win a prize</h1>
<iframe id=console name=console src="${url}/jobs" width=900 height=400></iframe>
<iframe id=control name=control src="/control" width=300 height=100></iframe>`);
  }
});
await new Promise((ok) => framer.listen(0, "127.0.0.1", ok));
const framerUrl = `http://127.0.0.1:${framer.address().port}/`;

const browser = await launch();
const result = {};
const violations = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watchCsp(page, violations);
  await page.goto(`${url}/login`);
  await page.fill("input[name=user]", env("ADMIN_USER"));
  await page.fill("input[name=password]", env("ADMIN_PASSWORD"));
  await Promise.all([page.waitForURL(`${url}/`), page.click("#login")]);
  await page.goto(`${url}/jobs`);
  result.jobs_heading_direct = (await page.content()).includes("Jobs waiting for release");

  // 1. Framing.
  await page.goto(framerUrl, { waitUntil: "load" });
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${shots}/hygiene-framed.png`, fullPage: true });
  result.frames = [];
  for (const frame of page.frames()) {
    if (frame === page.mainFrame()) continue;
    const text = await frame.content().catch((e) => `(no content: ${e.message})`);
    result.frames.push({ name: frame.name(), url: frame.url(), jobs_heading: text.includes("Jobs waiting for release"), control: text.includes("framed control page") });
  }
  const consoleFrame = result.frames.find((f) => f.name === "console");
  result.framed_jobs_heading = consoleFrame ? consoleFrame.jobs_heading : null;
  result.control_shown = result.frames.some((f) => f.name === "control" && f.control);
  result.frame_ancestors_violation = violations.some((v) => v.includes("frame-ancestors"));

  // 2. Look-up by release code, by POST.
  await page.goto(`${url}/trace`);
  result.by_code_form = (await page.locator("#by-code").count()) === 1;
  if (result.by_code_form) {
    await page.fill("#by-code input[name=code]", env("CODE"));
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#by-code button")]);
    result.by_code_traces = await page.locator("section.trace").count();
    result.by_code_url = page.url();
    await page.screenshot({ path: `${shots}/hygiene-by-code.png`, fullPage: true });
  }

  // 3. Back after logout.
  await page.goto(`${url}/trace?sender=${encodeURIComponent(sender)}`);
  result.sender_before_logout = (await page.content()).includes(sender);
  await page.screenshot({ path: `${shots}/hygiene-trace-before-logout.png`, fullPage: true });
  await Promise.all([page.waitForURL(`${url}/login`), page.click("nav form button")]);
  await page.goBack({ waitUntil: "load" });
  result.back_url = page.url();
  result.sender_after_back = (await page.content()).includes(sender);
  await page.screenshot({ path: `${shots}/hygiene-back-after-logout.png`, fullPage: true });
  // Other CSP complaints than the framing one would mean a page needs something the policy
  // forbids.
  result.other_csp_violations = violations.filter((v) => !v.includes("frame-ancestors"));
} finally {
  await browser.close();
  framer.close();
}
console.log(JSON.stringify(result));
