// The web console's browser test, run by tests/tests/console.rs (which starts the platforms
// and the console on an injected clock and answers this script's steps on its stdin).
// Prints "STEP <name>" when the test must act and waits for "GO"; prints "FIGURE ..." lines;
// exits 1 on the first page that is wrong. Screenshots go to $SCREENSHOTS.
import { chromium } from "playwright-core";
import readline from "node:readline";
import path from "node:path";

const base = process.env.CONSOLE;
const password = process.env.PASSWORD;
const caseNo = process.env.CASE_NO;
const holidayCaseNo = process.env.HOLIDAY_CASE_NO;
const queryCode = process.env.QUERY_CODE;
const personal = (process.env.PERSONAL || "").split(",").filter(Boolean);
const shots = process.env.SCREENSHOTS;
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const patience = 15000;

function check(ok, what) {
  if (!ok) throw new Error("wrong page: " + what);
}
async function step(name) {
  console.log("STEP " + name);
  const { value } = await lines.next();
  check(value === "GO", "the test answers GO to " + name);
}
async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  // launch() gives the browser a fresh profile directory of its own (--user-data-dir is
  // Playwright's to set) and removes it when the browser closes.
});

async function signIn(context, name) {
  const page = await context.newPage();
  page.setDefaultTimeout(patience);
  await page.goto(base + "/signin");
  await page.fill("#name", name);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("form.signin button")]);
  return page;
}

async function signOut(page) {
  await Promise.all([page.waitForNavigation(), page.click("form[action='/signout'] button")]);
  check(page.url().endsWith("/signin"), "signing out leads to the sign-in page");
}

try {
  // Sign-in page: Chinese by default, cookies as they must be, a strict CSP.
  const context = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
  const first = await context.newPage();
  first.setDefaultTimeout(patience);
  const answer = await first.goto(base + "/signin");
  check((await first.textContent("h1")).includes("登录"), "the sign-in page is in Chinese");
  const csp = answer.headers()["content-security-policy"] || "";
  check(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), "a strict CSP: " + csp);
  const session = (await context.cookies()).find((c) => c.name === "egov_session");
  check(session && session.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly, SameSite=Strict");
  await shot(first, "01-signin");
  await first.fill("#name", "xihu");
  await first.fill("#password", "a wrong password");
  await Promise.all([first.waitForNavigation(), first.click("form.signin button")]);
  check(await first.isVisible("#signin-error"), "a wrong password is refused");
  // A form without its CSRF token is refused.
  const forged = await first.evaluate(async () => {
    const r = await fetch("/signin", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "csrf=00&name=xihu&password=x" });
    return r.status;
  });
  check(forged === 403, "a form without its CSRF token is refused: " + forged);
  await first.close();

  // The supervision office's board, live.
  const board = await signIn(context, "xihu");
  check(board.url().endsWith("/board"), "a supervisor starts on the board: " + board.url());
  check(await board.isVisible("tr[data-dept='market']"), "the board lists the market department");
  await board.waitForSelector("#live-status.on");
  await shot(board, "02-board");
  await step("board-live");
  const t0 = Date.now();
  const live = await board.waitForSelector(`#live li.level-yellow_card[data-state='state-raised']:has-text("${caseNo}")`);
  const liveMs = Date.now() - t0;
  console.log(`FIGURE live_warning_ms=${liveMs}`);
  const warningId = await live.getAttribute("data-id");
  check((await board.textContent("tr[data-dept='market'] td.n.yellow")).trim() === "1", "the market's yellow count went to 1");
  check(await board.isVisible("tr[data-dept='market'] .light.yellow"), "the market's light turned yellow");
  check((await board.textContent("tr[data-dept='market'] .light-text")).includes("黄灯"), "its label says so");
  await shot(board, "03-board-live-warning");
  await signOut(board);

  // The department acknowledges and answers; it is not offered closing.
  const dept = await signIn(context, "clerk");
  check(dept.url().endsWith("/department"), "a department's staff start on its page");
  const card = `#card-${warningId}`;
  await shot(dept, "04-department");
  check(await dept.isVisible(card), "the department sees the card " + warningId + ": " + (await dept.textContent("main")).slice(0, 600));
  check((await dept.locator(`${card} form.act-close`).count()) === 0, "the department is not offered closing");
  check((await dept.locator("#cases tbody tr").count()) >= 1, "the department's open cases are listed");
  await dept.fill(`${card} form.act-acknowledge input[name=reason]`, "收到，马上处理");
  await Promise.all([dept.waitForNavigation(), dept.click(`${card} form.act-acknowledge button`)]);
  check((await dept.getAttribute(card, "data-state")) === "state-acknowledged", "acknowledged");
  await dept.fill(`${card} form.act-answer input[name=reason]`, "已补办，见附件");
  await dept.fill(`${card} form.act-answer textarea[name=attachments]`, "doc-17");
  await Promise.all([dept.waitForNavigation(), dept.click(`${card} form.act-answer button`)]);
  check((await dept.getAttribute(card, "data-state")) === "state-answered", "answered");
  await shot(dept, "05-department-answered");
  await signOut(dept);

  // Another district's office may not close it: the platform refuses, and the page says so.
  const other = await signIn(context, "binjiang");
  const refused = await other.evaluate(async (id) => {
    const csrf = document.querySelector("input[name=csrf]").value;
    const r = await fetch(`/warnings/${id}/close`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ csrf, reason: "不属本辖区" }) });
    return { status: r.status, body: await r.text() };
  }, warningId);
  check(refused.status === 403 && refused.body.includes('id="refusal"') && refused.body.includes("PermissionDenied"), "closing outside the office's subtree is refused: " + refused.status);
  await other.setContent(refused.body.replace('<link rel="stylesheet" href="/static/app.css">', ""));
  await shot(other, "06-refused");
  await other.goto(base + "/board");
  await signOut(other);

  // The office closes it from its inbox.
  const office = await signIn(context, "xihu");
  await office.goto(base + "/inbox");
  check(await office.isVisible(`${card} form.act-close`), "the office is offered closing the answered card");
  check((await office.locator(`${card} form.act-acknowledge`).count()) === 0, "the office is not offered acknowledging");
  await shot(office, "07-inbox");
  // The case page, reached from the card by the keyboard: every clock explained, on its
  // calendar, in Chinese and then in English.
  const caseLink = office.locator(`${card} a[href='/case/${encodeURIComponent(caseNo)}']`);
  await caseLink.focus();
  await Promise.all([office.waitForNavigation(), office.keyboard.press("Enter")]);
  check(office.url().endsWith("/case/" + encodeURIComponent(caseNo)), "the card links to its case: " + office.url());
  check((await office.textContent("#clock-1-h")).includes("承诺期限"), "the promised clock, in Chinese");
  const explainedZh = await office.textContent("#clock-1 .explanation");
  check(explainedZh.includes("2026-03-02 受理；受理当日不计入") && explainedZh.includes("截止时间：2026-03-03 24:00。"),
    "the promised clock's explanation in Chinese: " + explainedZh);
  check(await office.isVisible("#clock-1 table.cal td.due"), "its calendar marks the last day");
  check((await office.locator("#timeline tbody tr").count()) === 2, "the timeline has both records");
  await shot(office, "11-case-zh");
  await Promise.all([office.waitForNavigation(), office.click("a[lang=en]")]);
  check((await office.textContent("#clock-1-h")).includes("promised"), "the promised clock, in English");
  const explainedEn = await office.textContent("#clock-1 .explanation");
  check(explainedEn.includes("Accepted on 2026-03-02; that day is not counted") && explainedEn.includes("Due 2026-03-03 24:00."),
    "the promised clock's explanation in English: " + explainedEn);
  await shot(office, "12-case-en");
  // A case that ran through National Day 2025 with a special procedure: its calendars mark
  // the holidays, the adjusted working days and the suspended days.
  await office.goto(base + "/case/" + encodeURIComponent(holidayCaseNo));
  const statutoryEn = await office.textContent("#clock-2 .explanation");
  check(statutoryEn.includes("8 public holidays skipped: National Day 10-01 to 10-05, Mid-autumn Festival 10-06, National Day 10-07 to 10-08") && statutoryEn.includes("2 working days in special procedures"),
    "the statutory clock's explanation names the holidays and the suspension: " + statutoryEn);
  check(await office.isVisible("#clock-2 table.cal td.holiday") && await office.isVisible("#clock-2 table.cal td.adjusted")
    && await office.isVisible("#clock-2 table.cal td.suspended"), "its calendar marks holidays, adjusted working days and suspended days");
  await shot(office, "13-case-holidays-en");
  await Promise.all([office.waitForNavigation(), office.click("a[lang=zh-CN]")]);
  const statutoryZh = await office.textContent("#clock-2 .explanation");
  check(statutoryZh.includes("跳过法定节假日 8 天：国庆节 10-01 至 10-05、中秋节 10-06、国庆节 10-07 至 10-08") && statutoryZh.includes("期间的 2 个工作日不计入时限"),
    "the statutory clock's explanation in Chinese: " + statutoryZh);
  await shot(office, "14-case-holidays-zh");
  await office.goto(base + "/inbox");
  await office.fill(`${card} form.act-close input[name=reason]`, "整改到位");
  await Promise.all([office.waitForNavigation(), office.click(`${card} form.act-close button`)]);
  check((await office.locator(card).count()) === 0, "the closed card left the inbox");
  await signOut(office);
  await context.close();

  // The public: no sign-in, no personal data; both languages.
  const pub = await browser.newContext({ locale: "zh-CN" });
  const look = await pub.newPage();
  look.setDefaultTimeout(patience);
  await look.goto(base + `/public?case_no=${encodeURIComponent(caseNo)}&code=${queryCode}`);
  check((await look.textContent("#case-state")).includes("已受理"), "the case's state in Chinese");
  check((await look.textContent("#promised-due")).includes("2026-03-03 24:00"), "the promised due date, local");
  check((await look.locator("#stages li").count()) === 2, "two stages: received, accepted");
  const html = await look.content();
  for (const p of personal) check(!html.includes(p), "no personal data on the public page: " + p);
  await shot(look, "08-public-zh");
  await Promise.all([look.waitForNavigation(), look.click("a[lang=en]")]);
  check((await look.textContent("h1")).includes("Look up an application"), "English on request");
  await look.goto(base + `/public?case_no=${encodeURIComponent(caseNo)}&code=${queryCode}`);
  check((await look.textContent("#case-state")).includes("accepted"), "the case's state in English");
  await shot(look, "09-public-en");
  const wrong = await look.goto(base + `/public?case_no=${encodeURIComponent(caseNo)}&code=000000000000`);
  check(wrong.status() === 404 && (await look.isVisible("#not-found")), "a wrong code finds nothing");
  await pub.close();

  // The board over many open warnings: its weight and time to first render.
  await step("board-load");
  const heavy = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
  const big = await signIn(heavy, "xihu");
  await big.goto(base + "/signin");
  const started = Date.now();
  await big.goto(base + "/board", { waitUntil: "load" });
  const loadedMs = Date.now() - started;
  const timing = await big.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const resources = performance.getEntriesByType("resource");
    return {
      ttfb: nav.responseStart - nav.startTime,
      fcp: paint ? paint.startTime : -1,
      html: nav.encodedBodySize,
      weight: nav.encodedBodySize + resources.reduce((s, r) => s + r.encodedBodySize, 0),
      open: document.querySelector(".summary").textContent,
    };
  });
  console.log(`FIGURE board ${timing.open} html_bytes=${timing.html} page_weight_bytes=${timing.weight} ttfb_ms=${Math.round(timing.ttfb)} first_contentful_paint_ms=${Math.round(timing.fcp)} load_ms=${loadedMs}`);
  await shot(big, "10-board-loaded");
  await heavy.close();
  await browser.close();
  process.exit(0);
} catch (e) {
  console.log("FAILED " + (e && e.stack ? e.stack : e));
  await browser.close();
  process.exit(1);
}
