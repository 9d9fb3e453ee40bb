// The guides' pictures of the client's side (issue 18), taken by
// desktop/cmd/taiwa-screenshot (make screenshot) after it has photographed
// the desktop: a phone in Debian's Chromium against the same server (the
// sign-in page at the organisation's own address, the conversation, the
// menu, the offline notice, the client guide) and the printed slips. Not
// a test: run by the screenshot tool, which passes the server, a client's
// login, the sheet and the names it expects (docs/guide.PhoneShots).
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run by taiwa-screenshot)`);
  return v;
};
const url = env("TAIWA_URL"), appPath = env("TAIWA_APP_PATH"), out = env("TAIWA_SHOTS");
const names = new Set(env("TAIWA_NAMES").split(","));

async function shot(page, name, opts = {}) {
  if (!names.has(name)) throw new Error(`${name} is not in docs/guide.PhoneShots`);
  await page.screenshot({ path: join(out, name), ...opts });
  console.log("wrote", join(out, name));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: "ja-JP", hasTouch: true });
  const page = await ctx.newPage();
  await page.goto(url + appPath);
  await page.waitForSelector("#login-view:not([hidden])");
  await page.waitForFunction(() => document.getElementById("contact").textContent !== "");
  await shot(page, "phone-login.png");

  await page.fill("#login-id", env("TAIWA_LOGIN"));
  await page.fill("#password", env("TAIWA_PASSWORD"));
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#chat-view:not([hidden])");
  await page.waitForSelector("#messages li");
  await page.waitForSelector("#net", { state: "hidden" });
  await page.waitForTimeout(1000); // the thread settles at its newest message
  await shot(page, "phone-chat.png");

  await page.click("#menu-toggle");
  await page.waitForSelector("#menu:not([hidden])");
  await shot(page, "phone-menu.png");
  await page.click("#menu-close");

  await ctx.setOffline(true);
  await page.waitForSelector("#net:not([hidden])");
  await page.fill("#text", "また明日書きます。");
  await page.click("#send");
  await page.waitForTimeout(1000);
  await shot(page, "phone-offline.png");
  await ctx.setOffline(false);

  const guide = await ctx.newPage();
  await guide.goto(url + "/guide/client");
  await shot(guide, "phone-guide.png");
  await ctx.close();

  // The sheet as printed: A4 at 96 dpi, the first client's page (the
  // slip, then the client guide).
  const paper = await browser.newContext({ viewport: { width: 794, height: 1123 }, deviceScaleFactor: 1, locale: "ja-JP" });
  const sheet = await paper.newPage();
  await sheet.emulateMedia({ media: "print" });
  await sheet.goto(pathToFileURL(env("TAIWA_SLIPS")).href);
  const first = sheet.locator(".client").first();
  if (!names.has("slips.png")) throw new Error("slips.png is not in docs/guide.PhoneShots");
  await first.screenshot({ path: join(out, "slips.png") });
  console.log("wrote", join(out, "slips.png"));
  await paper.close();
} finally {
  await browser.close();
}
