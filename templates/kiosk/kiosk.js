// The kiosk page's only script (the page also works without it, less smoothly):
// - the on-screen keypad types into the code field, shown in groups of four digits;
// - forms are sent with fetch and the answer replaces the page, so the browser's history
//   never grows (Back cannot bring a previous patron's screen back);
// - while printing, the page asks for fresh progress every second;
// - idle: a warning with a button to stay, then the screen is cleared; input tells the
//   station the patron is still there.
"use strict";
(() => {
  const data = () => document.body.dataset;
  let warnTimer = 0, clearTimer = 0, tickTimer = 0, pollTimer = 0, pingTimer = 0, lastPing = 0, focusBeforeWarning = null;
  // Forms sent so far: an answer (a poll's or a form's) that arrives after a later form was
  // sent is dropped, so a slow poll cannot bring back the screen the patron just left.
  let sent = 0;

  const grouped = (value) => value.replace(/\D/g, "").slice(0, 18).replace(/(\d{4})(?=\d)/g, "$1 ");

  async function replacePage(response, current) {
    const html = await response.text();
    if (!current()) return;
    const doc = new DOMParser().parseFromString(html, "text/html");
    // DOMParser parses without scripting, so a <noscript> holds real elements there: its
    // <meta http-equiv="refresh"> would reload the page every few seconds once adopted.
    doc.querySelectorAll("noscript").forEach((n) => n.remove());
    document.title = doc.title;
    document.documentElement.lang = doc.documentElement.lang;
    document.body.replaceWith(document.adoptNode(doc.body));
    start();
  }

  async function send(fields) {
    stopTimers();
    const mine = ++sent;
    try {
      const response = await fetch("/", { method: "POST", body: new URLSearchParams(fields), credentials: "same-origin", cache: "no-store" });
      await replacePage(response, () => mine === sent);
    } catch {
      if (mine === sent) setTimeout(() => location.replace("/"), 2000);
    }
  }

  async function poll() {
    const before = sent;
    try {
      await replacePage(await fetch("/", { cache: "no-store" }), () => before === sent);
    } catch {
      if (before === sent) pollTimer = setTimeout(poll, 2000);
    }
  }

  function stopTimers() {
    [warnTimer, clearTimer, tickTimer, pollTimer, pingTimer].forEach(clearTimeout);
    clearInterval(tickTimer);
    pingTimer = 0;
  }

  // Something of the patron is on screen: a notice, a typed code, or any screen but the start.
  const holdsSomething = () =>
    data().screen !== "start" || document.getElementById("notice") || (document.getElementById("code")?.value ?? "") !== "";

  function armIdle() {
    clearTimeout(warnTimer);
    clearTimeout(clearTimer);
    clearInterval(tickTimer);
    document.getElementById("idle")?.setAttribute("hidden", "");
    const idle = Number(data().idle || 0), warn = Number(data().warn || 0);
    if (!idle || !holdsSomething()) return;
    warnTimer = setTimeout(showWarning, (idle - warn) * 1000);
  }

  function showWarning() {
    const box = document.getElementById("idle");
    if (!box) return;
    let left = Number(data().warn);
    const seconds = document.getElementById("idle-seconds");
    seconds.textContent = left;
    focusBeforeWarning = document.activeElement;
    box.removeAttribute("hidden");
    document.getElementById("stay").focus();
    tickTimer = setInterval(() => { left = Math.max(0, left - 1); seconds.textContent = left; }, 1000);
    clearTimer = setTimeout(() => send({ csrf: data().csrf, do: "reset" }), left * 1000);
  }

  // The patron is active: restart the idle clock here, and (at most every 5 s) at the station
  // whenever it would clear the screen too (anything but an empty start screen: also a code
  // typed under a "wrong code" notice). The station waits these 5 s longer than this page
  // before it clears on its own (ACTIVITY_REPORTED_EVERY in src/station/kiosk/mod.rs).
  function activity() {
    if (!document.getElementById("idle")?.hasAttribute("hidden")) return;
    armIdle();
    if (holdsSomething() && !pingTimer && Date.now() - lastPing > 5000) {
      // Half a second later, and not at all when a form is sent first (the click on a button
      // is input too): the form tells the station itself, and a form that starts a new
      // session would leave this ping with a stale token.
      pingTimer = setTimeout(() => {
        pingTimer = 0;
        lastPing = Date.now();
        fetch("/", { method: "POST", body: new URLSearchParams({ csrf: data().csrf, do: "stay" }), cache: "no-store" }).catch(() => {});
      }, 500);
    }
  }

  function start() {
    stopTimers();
    document.querySelector(".keypad")?.removeAttribute("hidden");
    const focus = document.querySelector("[autofocus]") || document.querySelector("h1");
    focus?.focus();
    if (data().poll) pollTimer = setTimeout(poll, Number(data().poll));
    armIdle();
  }

  document.addEventListener("click", (e) => {
    const key = e.target.closest("[data-key]");
    if (key) {
      const code = document.getElementById("code");
      const k = key.dataset.key;
      const digits = code.value.replace(/\D/g, "");
      code.value = grouped(k === "clear" ? "" : k === "back" ? digits.slice(0, -1) : digits + k);
      activity();
      return;
    }
    if (e.target.closest("#stay")) {
      lastPing = 0;
      document.getElementById("idle").setAttribute("hidden", "");
      // Back where the patron was: the hidden button would leave the keyboard focus nowhere.
      if (focusBeforeWarning?.isConnected) focusBeforeWarning.focus();
      else document.querySelector("h1")?.focus();
      activity();
    }
  });

  document.addEventListener("input", (e) => {
    if (e.target.id === "code") {
      const at = e.target.selectionStart === e.target.value.length;
      e.target.value = grouped(e.target.value);
      if (at) e.target.setSelectionRange(e.target.value.length, e.target.value.length);
    }
    activity();
  });
  ["keydown", "pointerdown", "change"].forEach((type) => document.addEventListener(type, activity));

  document.addEventListener("submit", (e) => {
    e.preventDefault();
    const fields = new FormData(e.target, e.submitter);
    send(fields);
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
