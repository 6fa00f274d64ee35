// Drives the station's kiosk page (`printgate station kiosk`) in Debian's headless Chromium for
// tests/kiosk.rs. One scenario per run (SCENARIO); prints JSON lines: `{"checkpoint":true,…}`
// where the test looks at printers and the server before the script goes on (it waits for a
// line on stdin), and a last line with everything it saw. Content-Security-Policy violations
// and script errors of the page are collected in `problems`.
//
// Environment: KIOSK_URL, SCENARIO (print, offline, failover, a11y, idle), CODE, SHOTS_DIR,
// CHROMIUM; for print: VIA (keypad or keyboard), UNTICK (part of a document's name).
import { env, launch, watchCsp } from "./lib.mjs";
import { checkpoint, enterCode, holdingPolls, inspect, open, screen, sessionText, shot, swapped, tabTo, text, waitScreen } from "./kiosk_lib.mjs";

const url = env("KIOSK_URL");
const scenario = env("SCENARIO");
const code = env("CODE");
const shots = env("SHOTS_DIR");
// A hung page must not hang the test.
setTimeout(() => {
  console.error(`kiosk.mjs ${scenario}: still running after 170 s`);
  process.exit(3);
}, 170_000).unref();

// The documents screen as a patron sees it.
const documents = (page) =>
  page.evaluate(() => ({
    names: [...document.querySelectorAll("label.docname")].map((l) => l.textContent.trim()),
    printers: [...document.querySelectorAll("label.printer")].map((l) => ({
      name: l.querySelector(".pname").textContent.trim(),
      state: l.querySelector(".state").textContent.trim(),
      disabled: l.querySelector("input").disabled,
      checked: l.querySelector("input").checked,
    })),
    notice: document.getElementById("notice")?.textContent.trim() ?? null,
  }));

const scenarios = {
  // Untick one document, ask for greyscale and two-sided, print on the preselected printer.
  async print(page, result) {
    await enterCode(page, code, env("VIA"));
    result.after_code = await screen(page);
    result.before = await documents(page);
    await page.locator("tr", { hasText: env("UNTICK") }).locator("input[name=job]").uncheck();
    await page.check("input[name=greyscale]");
    await page.check("input[name=two_sided]");
    await swapped(page, () => page.click("button[value=print]"));
    result.after_print = await screen(page);
    await waitScreen(page, "done", 90_000);
    result.done_text = await text(page, ".done");
    await shot(page, shots, `print-${env("VIA")}`, "done");
  },

  // A printer that is off: shown as offline, not choosable.
  async offline(page, result) {
    await enterCode(page, code, "keyboard");
    for (let i = 0; i < 10 && !(await documents(page)).printers.some((p) => p.state === "Offline"); i++) {
      await page.waitForTimeout(1000);
      await swapped(page, () => page.click("button[value=refresh]"));
    }
    result.seen = await documents(page);
    await shot(page, shots, "offline", "documents");
    await swapped(page, () => page.click("button[value=cancel]"));
    result.after_cancel = await screen(page);
  },

  // The preselected printer fails the job: the patron is told and offered the other one.
  async failover(page, result) {
    await enterCode(page, code, "keyboard");
    result.before = await documents(page);
    await swapped(page, () => page.click("button[value=print]"));
    await waitScreen(page, "documents", 90_000);
    result.after_failure = await documents(page);
    await shot(page, shots, "failover", "failed");
    await checkpoint(result);
    await swapped(page, () => page.click("button[value=print]"));
    await waitScreen(page, "done", 90_000);
    result.done_text = await text(page, ".done");
  },

  // Every screen at both sizes: axe, sideways scrolling, touch targets, screenshots; the flow
  // from the code to "done" with the keyboard alone.
  async a11y(page, result) {
    const found = (result.found = {});
    await inspect(page, shots, "a11y", "start", found);
    for (const digit of "4821") await page.click(`.keypad button[data-key="${digit}"]`);
    result.keypad_typed = await page.inputValue("#code");
    await inspect(page, shots, "a11y", "start-keypad", found);
    await enterCode(page, "11112222", "keypad");
    result.wrong_notice = await text(page, "#notice");
    await inspect(page, shots, "a11y", "wrong-code", found);

    // Keyboard only from here: the code field has the focus after every answer.
    result.code_focused = await page.evaluate(() => document.activeElement?.id === "code");
    await page.keyboard.type(code);
    await swapped(page, () => page.keyboard.press("Enter"));
    result.documents_screen = await screen(page);
    await inspect(page, shots, "a11y", "documents", found);
    await tabTo(page, "input[name=two_sided]");
    await page.keyboard.press("Space");
    result.two_sided_ticked = await page.isChecked("input[name=two_sided]");
    await page.waitForSelector("#idle:not([hidden])", { timeout: 20_000 });
    result.idle_role = await page.getAttribute("#idle", "role");
    await inspect(page, shots, "a11y", "idle-warning", found);
    result.stay_focused = await page.evaluate(() => document.activeElement?.id === "stay");
    await page.keyboard.press("Enter");
    result.idle_hidden_after_stay = await page.evaluate(() => document.getElementById("idle").hidden);
    result.focus_after_stay = await page.evaluate(() => document.activeElement?.name || document.activeElement?.tagName);
    await holdingPolls(page, url, async () => {
      await tabTo(page, "button[value=print]");
      await swapped(page, () => page.keyboard.press("Enter"));
      result.printing_screen = await screen(page);
      await inspect(page, shots, "a11y", "printing", found);
    });
    await waitScreen(page, "done", 90_000);
    await holdingPolls(page, url, () => inspect(page, shots, "a11y", "done", found));
    result.finish_focused = await page.evaluate(() => document.activeElement?.value === "finish");
    await swapped(page, () => page.keyboard.press("Enter"));
    result.after_finish = await screen(page);

    // Wrong codes until the station is locked out.
    for (let i = 0; i < 6 && !/Too many/.test((await text(page, "#notice")) ?? ""); i++) {
      await page.keyboard.type(`9${i}9${i}9${i}9${i}`);
      await swapped(page, () => page.keyboard.press("Enter"));
    }
    result.locked_notice = await text(page, "#notice");
    await inspect(page, shots, "a11y", "locked-out", found);

    await swapped(page, () => page.click("button[lang=de]"));
    result.german = { lang: await page.evaluate(() => document.documentElement.lang), heading: await text(page, "h1") };
    await inspect(page, shots, "a11y", "german", found);
  },

  // Idle: warned, then cleared, and nothing of the patron is left; "stay" keeps the session.
  async idle(page, result) {
    await enterCode(page, code, "keyboard");
    const shown = await documents(page);
    result.names = shown.names;
    const t0 = Date.now();
    const html = () => page.evaluate(() => document.documentElement.outerHTML);
    const before = await html();
    result.names_in_dom_before = shown.names.filter((n) => before.includes(n));
    const sessionBefore = await sessionText(page);
    result.names_in_session_before = shown.names.filter((n) => sessionBefore.includes(n));
    await page.waitForSelector("#idle:not([hidden])", { timeout: 20_000 });
    result.warned_after = (Date.now() - t0) / 1000;
    result.warning = { role: await page.getAttribute("#idle", "role"), text: await text(page, "#idle") };
    await shot(page, shots, "idle", "warning");
    await waitScreen(page, "start", 20_000);
    result.cleared_after = (Date.now() - t0) / 1000;
    const after = await html();
    result.names_in_dom_after = shown.names.filter((n) => after.includes(n));
    result.history_length = await page.evaluate(() => history.length);
    const sessionAfter = await sessionText(page);
    result.session_after = JSON.parse(sessionAfter);
    result.names_in_session_after = shown.names.filter((n) => sessionAfter.includes(n));

    // Again, and this time the patron stays.
    await enterCode(page, code, "keyboard");
    const t1 = Date.now();
    await page.waitForSelector("#idle:not([hidden])", { timeout: 20_000 });
    await page.click("#stay");
    result.hidden_after_stay = await page.evaluate(() => document.getElementById("idle").hidden);
    // Past the browser's and the station's own clearing (idle + 2 s) of the first input.
    await page.waitForTimeout(Math.max(0, t1 + 19_500 - Date.now()));
    result.screen_after_stay = await screen(page);
    result.session_after_stay = JSON.parse(await sessionText(page)).screen.screen;
    result.history_length_end = await page.evaluate(() => history.length);
  },
};

const browser = await launch();
const result = { scenario, problems: [] };
let page;
try {
  page = await open(browser, url, result.problems, watchCsp);
  await scenarios[scenario](page, result);
} catch (e) {
  result.error = `${e.stack ?? e}`;
  result.error_page = await page?.evaluate(() => document.documentElement.outerHTML).catch(() => null);
  await page?.screenshot({ path: `${shots}/${scenario}-error.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(0);
