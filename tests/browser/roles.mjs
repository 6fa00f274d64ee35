// Console roles in Debian's headless Chromium, for tests/admin_roles.rs:
//
// 1. Staff: log in; read the menu's links (only the staff pages may be there); open /queues and
//    read the 403 page.
// 2. Admin (in another browser context, so the staff session stays open): the menu links the
//    accounts page; on it, disable the staff account and reset its password (typed twice); the
//    staff browser's next page is the login form.
//
// Prints one JSON line with what it saw; screenshots go to SHOTS_DIR (roles-*.png).
// Environment: ADMIN_URL, ADMIN_USER, ADMIN_PASSWORD, STAFF_USER, STAFF_PASSWORD,
// NEW_STAFF_PASSWORD, SHOTS_DIR, CHROMIUM.
import { env, launch, watchCsp } from "./lib.mjs";

const url = env("ADMIN_URL");
const shots = env("SHOTS_DIR");
const staffUser = env("STAFF_USER");
const browser = await launch();
const result = {};
const violations = [];

const login = async (page, user, password) => {
  await page.goto(`${url}/login`);
  await page.fill("input[name=user]", user);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL(`${url}/`), page.click("#login")]);
};

const navLinks = (page) => page.$$eval("nav a", (links) => links.map((a) => a.getAttribute("href")));

try {
  const staffContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const staff = await staffContext.newPage();
  watchCsp(staff, violations);
  await login(staff, staffUser, env("STAFF_PASSWORD"));
  result.staff_nav = await navLinks(staff);
  await staff.screenshot({ path: `${shots}/roles-staff-dashboard.png`, fullPage: true });
  const refused = await staff.goto(`${url}/queues`);
  result.staff_queues_status = refused.status();
  result.staff_queues_text = (await staff.textContent("main")).includes("This page is for administrators.");
  await staff.screenshot({ path: `${shots}/roles-staff-denied.png`, fullPage: true });

  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const admin = await adminContext.newPage();
  watchCsp(admin, violations);
  await login(admin, env("ADMIN_USER"), env("ADMIN_PASSWORD"));
  result.admin_nav_has_accounts = (await navLinks(admin)).includes("/accounts");
  await Promise.all([admin.waitForURL(`${url}/accounts`), admin.click("nav a[href='/accounts']")]);
  await admin.screenshot({ path: `${shots}/roles-accounts.png`, fullPage: true });
  const desk = () => admin.locator(`section[data-account="${staffUser}"]`);
  await Promise.all([admin.waitForURL(/done=disabled/), desk().locator("button.disable").click()]);
  result.disabled_notice = (await admin.textContent("#notice")).trim();
  result.state_after = (await desk().locator(".state").textContent()).trim();
  await desk().locator("input[name=password]").fill(env("NEW_STAFF_PASSWORD"));
  await desk().locator("input[name=confirm]").fill(env("NEW_STAFF_PASSWORD"));
  await Promise.all([admin.waitForURL(/done=password/), desk().locator("button.reset-password").click()]);
  result.password_notice = (await admin.textContent("#notice")).trim();
  await admin.screenshot({ path: `${shots}/roles-accounts-disabled.png`, fullPage: true });

  await staff.goto(`${url}/jobs`);
  result.staff_after = staff.url();
} finally {
  await browser.close();
}
result.csp_violations = violations;
console.log(JSON.stringify(result));
