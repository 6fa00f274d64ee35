// The queue form in Debian's headless Chromium, for tests/admin_validation.rs. MODE says what
// to do; prints one JSON line with what it saw; screenshots go to SHOTS_DIR (validation-*.png).
//
// MODE=bad    CASES (JSON: [{set: {field: value, ...}, field}]): for each case, open /queues,
//             type the values into queue QUEUE's form as a librarian would (an unknown site is
//             added to the select first: the page offers only real ones), save, and read the
//             answer's status, the field's aria-invalid and aria-describedby, the message next
//             to it and every typed value. Also lists every input without a label.
// MODE=save   type NEW_TAG and NEW_REJECT into QUEUE's form and save; read the notice and each
//             field's "differs from the config file" note.
// MODE=reset  press QUEUE's "Reset to the config file"; read the notice, what still differs,
//             the values shown; then read the audit page.
//
// Environment: ADMIN_URL, ADMIN_USER, ADMIN_PASSWORD, MODE, QUEUE, CASES, NEW_TAG, NEW_REJECT,
// SHOTS_DIR, CHROMIUM (default /usr/bin/chromium).
import { env, launch, watchCsp } from "./lib.mjs";

const url = env("ADMIN_URL");
const shots = env("SHOTS_DIR");
const queue = env("QUEUE");
const mode = env("MODE");
const browser = await launch();
const result = { mode };
const violations = [];

// The current value of a form field as the page shows it (select: the selected option).
const valueOf = (form, name) =>
  form.locator(`[name=${name}]`).evaluate((el) => (el.type === "checkbox" ? (el.checked ? "1" : "") : el.value));

// Every visible form control with no label pointing at it.
const unlabeled = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => el.type !== "hidden" && el.labels.length === 0)
      .map((el) => `${el.form?.id}/${el.name}`));

// Saves `form` and returns the status of the POST's answer.
const save = async (page, form) => {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().startsWith(`${url}/queues/`)),
    form.locator("button").click(),
  ]);
  await page.waitForLoadState();
  return response.status();
};

const badCase = async (page, c, i) => {
  await page.goto(`${url}/queues`);
  const form = page.locator(`#queue-${queue}`);
  for (const [name, value] of Object.entries(c.set)) {
    if (name === "site") {
      await form.locator("select[name=site]").evaluate((s, v) => {
        if (![...s.options].some((o) => o.value === v)) s.add(new Option(v, v));
        s.value = v;
      }, value);
    } else {
      await form.locator(`[name=${name}]`).fill(value);
    }
  }
  const status = await save(page, form);
  await page.screenshot({ path: `${shots}/validation-bad-${i}.png`, fullPage: true });
  const after = page.locator(`#queue-${queue}`);
  const field = after.locator(`[name=${c.field}]`);
  const id = await field.getAttribute("id");
  const error = page.locator(`[id="${id}-error"]`);
  const kept = {};
  for (const name of Object.keys(c.set)) kept[name] = await valueOf(after, name);
  return {
    status,
    id,
    invalid: await field.getAttribute("aria-invalid"),
    describedby: await field.getAttribute("aria-describedby"),
    error: (await error.count()) === 1 ? (await error.textContent()).trim() : null,
    error_tag: (await error.count()) === 1 ? await error.evaluate((e) => e.tagName) : null,
    invalid_fields: await after.locator("[aria-invalid=true]").evaluateAll((els) => els.map((e) => e.name)),
    summary: (await page.locator(`#queue-${queue}-summary`).count()) === 1,
    notice: await page.locator("#notice").count(),
    kept,
  };
};

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watchCsp(page, violations);
  await page.goto(`${url}/login`);
  await page.fill("input[name=user]", env("ADMIN_USER"));
  await page.fill("input[name=password]", env("ADMIN_PASSWORD"));
  await Promise.all([page.waitForURL(`${url}/`), page.click("#login")]);
  await page.goto(`${url}/queues`);
  result.unlabeled = await unlabeled(page);

  if (mode === "bad") {
    const cases = JSON.parse(env("CASES"));
    result.cases = [];
    for (const [i, c] of cases.entries()) result.cases.push(await badCase(page, c, i));
  } else if (mode === "save") {
    const form = page.locator(`#queue-${queue}`);
    await form.locator("[name=spam_tag_score]").fill(env("NEW_TAG"));
    await form.locator("[name=spam_reject_score]").fill(env("NEW_REJECT"));
    result.status = await save(page, form);
    result.url = page.url();
    result.notice = (await page.textContent("#notice")).trim();
    result.differs = await page.locator(`#queue-${queue} .differs`).evaluateAll((ps) =>
      Object.fromEntries(ps.map((p) => [p.id, p.textContent.trim()])));
    result.reset_buttons = await page.locator(`form[action$="/reset"] button`).count();
    result.unlabeled_after = await unlabeled(page);
    await page.screenshot({ path: `${shots}/validation-saved.png`, fullPage: true });
  } else if (mode === "reset") {
    await Promise.all([page.waitForURL(/\/queues\?reset=/), page.locator(`#reset-${queue} button`).click()]);
    result.notice = (await page.textContent("#notice")).trim();
    result.differs = await page.locator(`#queue-${queue} .differs`).count();
    result.reset_buttons = await page.locator(`form[action$="/reset"] button`).count();
    const form = page.locator(`#queue-${queue}`);
    result.tag = await valueOf(form, "spam_tag_score");
    result.reject = await valueOf(form, "spam_reject_score");
    await page.screenshot({ path: `${shots}/validation-reset.png`, fullPage: true });
    await page.click("nav a[href='/audit']");
    await page.waitForURL(`${url}/audit`);
    result.audit = await page.locator("#audit tr.event").evaluateAll((rows) =>
      rows.map((r) => ({ kind: r.dataset.kind, cells: [...r.cells].map((c) => c.innerText.trim()) })));
    await page.screenshot({ path: `${shots}/audit.png`, fullPage: true });
  }
} finally {
  await browser.close();
}
result.csp_violations = violations;
console.log(JSON.stringify(result));
