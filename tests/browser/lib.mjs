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
