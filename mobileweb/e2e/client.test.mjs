// The client app as a new client meets it (issue 10): words are never
// lost, the thread stays in view, and the app is calm, clear and private.
// Each test checks what a person sees: positions on screen, not only the
// DOM; the screenshots land in TAIWA_SHOTS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, phone, signIn, counselor, liveAs, seedConversation, shot, freezableProxy } from "./helpers.mjs";

let env;
before(async () => { env = await setup(); });
after(async () => { await env?.close(); });

const synced = (page) => page.waitForFunction(() => document.getElementById("net").hidden && !document.getElementById("chat-view").hidden);
const box = async (page, sel) => {
  const b = await page.locator(sel).boundingBox();
  assert.ok(b, `${sel} is not on screen`);
  return b;
};
const messagesWith = async (cred, body) => {
  const conv = (await env.admin("GET", "/api/v1/conversations")).find((c) => c.client_id === cred.account.id);
  const page = await env.admin("GET", `/api/v1/conversations/${conv.id}/messages?limit=500`);
  return page.messages.filter((m) => m.body === body);
};
const conversationOf = async (cred) => (await env.admin("GET", "/api/v1/conversations")).find((c) => c.client_id === cred.account.id);
async function until(what, cond, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function inMenu(page) {
  if (await page.isHidden("#menu")) await page.click("#menu-toggle");
  await page.waitForSelector("#menu:not([hidden])");
}

// --- words are never lost ---------------------------------------------

test("offline: reopening keeps the session and the outbox, which is sent once back online", async () => {
  const cred = await env.newClient("ひなた");
  const { ctx, page, errors } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  await page.evaluate(async () => navigator.serviceWorker.ready);

  await ctx.setOffline(true);
  await page.waitForSelector("#net:not([hidden]) >> text=オフライン");
  await page.fill("#text", "電車の中で書きました");
  await page.click("#send");
  await page.waitForSelector("li.pending >> text=電車の中で書きました");

  // Reopened while offline: the conversation and the unsent message are
  // there, still signed in, nothing wiped.
  await page.reload();
  await page.waitForSelector("#chat-view:not([hidden])");
  assert.equal(await page.isHidden("#login-view"), true);
  await page.waitForSelector("li.pending >> text=電車の中で書きました");
  await page.waitForSelector("#net:not([hidden]) >> text=オフライン");
  assert.ok((await page.evaluate(() => indexedDB.databases())).some((d) => d.name === "taiwa"));
  await shot(page, "pwa-offline-reopen.png");

  await ctx.setOffline(false);
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=電車の中で書きました", { timeout: 30000 });
  await synced(page);
  assert.equal((await messagesWith(cred, "電車の中で書きました")).length, 1);
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to load resource/.test(String(e))), []);
  await ctx.close();
});

test("a server error keeps the session and retries; only the server's own 401 ends it", async () => {
  const cred = await env.newClient("みなと");
  const { ctx, page } = await phone(env);
  let failing = true;
  let refused = 0;
  // The server answers 503 to "who am I" and refuses the live connection.
  await ctx.route("**/api/v1/me", (route) => {
    if (!failing) return route.continue();
    refused++;
    return route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "unavailable", message: "down" } }) });
  });
  await page.routeWebSocket("**/api/v1/live", (ws) => { if (failing) ws.close(); else ws.connectToServer(); });
  failing = false;
  await signIn(env, page, cred);
  await page.fill("#text", "最初のメッセージ");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=最初のメッセージ");

  failing = true;
  await page.reload();
  await page.waitForSelector("#net:not([hidden]) >> text=オフライン");
  await until("the app to ask who it is", () => refused > 0);
  assert.equal(await page.isHidden("#chat-view"), false);
  await page.waitForSelector("li.msg.mine >> text=最初のメッセージ");
  await page.fill("#text", "サーバーが落ちている間に");
  await page.click("#send");
  await page.waitForSelector("li.pending >> text=サーバーが落ちている間に");
  await shot(page, "pwa-server-error.png");

  failing = false;
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=サーバーが落ちている間に", { timeout: 40000 });
  assert.equal((await messagesWith(cred, "サーバーが落ちている間に")).length, 1);

  // The session ends while the app is closed: the next opening learns it
  // from the server's 401 and wipes the device.
  await page.close();
  await env.admin("POST", `/api/v1/accounts/${cred.account.id}/logout`);
  const again = await ctx.newPage();
  await again.routeWebSocket("**/api/v1/live", (ws) => ws.connectToServer());
  await again.goto(env.url + "/");
  await again.waitForSelector("#login-view:not([hidden]) >> text=ログアウトしました");
  assert.equal((await again.evaluate(() => indexedDB.databases())).some((d) => d.name === "taiwa"), false);
  assert.equal(await again.locator("text=最初のメッセージ").count(), 0);
  await ctx.close();
});

// The send frames of messages containing marker are given a control
// character on their way, as an app that does not clean them would send.
async function corruptSends(page, marker) {
  await page.routeWebSocket("**/api/v1/live", (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      const f = JSON.parse(m);
      if (f.type === "send" && f.body.includes(marker)) f.body += "\u0007";
      server.send(JSON.stringify(f));
    });
  });
}

test("pasted control characters are cleaned; a message refused for its content keeps its words", async () => {
  const cred = await env.newClient("しずく");
  const { ctx, page } = await phone(env);
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: env.url });
  await corruptSends(page, "壊れた");
  await signIn(env, page, cred);

  // A vertical tab and a NUL from an editor: cleaned before sending.
  await page.evaluate(() => { const t = document.getElementById("text"); t.value = "一行目\v二行目\u0000\r\n三行目"; t.dispatchEvent(new Event("input")); });
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=三行目");
  assert.equal((await messagesWith(cred, "一行目\n二行目\n三行目")).length, 1);

  // Refused by the server: the bubble says why and offers what to do.
  await page.fill("#text", "壊れた文字のある大事な話");
  await page.click("#send");
  const failed = page.locator("li.failed", { hasText: "壊れた文字のある大事な話" });
  await failed.locator("text=送れませんでした").waitFor();
  for (const name of ["edit", "copy", "remove"]) assert.equal(await failed.locator(`button[data-action=${name}]`).isVisible(), true);
  const b = await failed.boundingBox();
  const compose = await box(page, "#compose");
  assert.ok(b.y + b.height <= compose.y + 1, "the refused bubble hides under the input bar");
  await shot(page, "pwa-refused.png");

  // Reopened: still there, not resent.
  await page.reload();
  await failed.locator("text=送れませんでした").waitFor();
  await synced(page);
  assert.equal((await messagesWith(cred, "壊れた文字のある大事な話")).length, 0);

  await failed.locator("button[data-action=copy]").click();
  await failed.locator("text=コピーしました").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "壊れた文字のある大事な話");
  await failed.locator("button[data-action=edit]").click();
  await failed.waitFor({ state: "detached" });
  assert.equal(await page.inputValue("#text"), "壊れた文字のある大事な話");

  // Deleting takes two taps.
  await page.click("#send");
  await failed.locator("text=送れませんでした").waitFor();
  await failed.locator("button[data-action=remove]").click();
  assert.equal(await failed.count(), 1);
  await failed.locator("button[data-action=remove]").click();
  await failed.waitFor({ state: "detached" });
  await page.reload();
  await synced(page);
  assert.equal(await page.locator("text=壊れた文字のある大事な話").count(), 0);
  await ctx.close();
});

test("while sending is blocked, the text stays with the reason and the reopening time", async () => {
  const cred = await env.newClient("こはる");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  const until_ = new Date(Date.now() + 3 * 3600 * 1000).toISOString();
  await env.admin("PATCH", "/api/v1/org/settings", { closed_behavior: "block", pause: { on: true, until: until_ } });
  try {
    await page.waitForSelector("#banner:not([hidden]) >> text=休止");
    await page.fill("#text", "夜中に書いた相談");
    await page.click("#send");
    await page.waitForSelector("#compose-error:not([hidden]) >> text=受付を休止しているため、今は送れません");
    assert.match(await page.textContent("#compose-error"), /から送れます/);
    assert.equal(await page.inputValue("#text"), "夜中に書いた相談");
    await shot(page, "pwa-blocked.png");
    // The draft survives a reload.
    await page.waitForTimeout(400); // the draft is saved a moment after typing
    await page.reload();
    await synced(page);
    assert.equal(await page.inputValue("#text"), "夜中に書いた相談");

    // Written offline while it looked open, refused when it arrives:
    // kept as "not sent", with the reason.
    await page.fill("#text", "");
    await env.admin("PATCH", "/api/v1/org/settings", { pause: { on: false } });
    await page.waitForSelector("#banner", { state: "hidden" });
    await ctx.setOffline(true);
    await page.waitForSelector("#net:not([hidden])");
    await page.fill("#text", "電波がないときに書いた");
    await page.click("#send");
    await page.waitForSelector("li.pending >> text=電波がないときに書いた");
    await env.admin("PATCH", "/api/v1/org/settings", { pause: { on: true, until: until_ } });
    await ctx.setOffline(false);
    const failed = page.locator("li.failed", { hasText: "電波がないときに書いた" });
    await failed.locator("text=受付を休止しているため送れませんでした").waitFor({ timeout: 30000 });
    assert.equal((await messagesWith(cred, "電波がないときに書いた")).length, 0);

    await env.admin("PATCH", "/api/v1/org/settings", { pause: { on: false } });
    await page.waitForSelector("#banner", { state: "hidden" });
    await failed.locator("button[data-action=retry]").click();
    await page.waitForSelector("li.msg.mine:not(.pending):not(.failed) >> text=電波がないときに書いた");
    assert.equal((await messagesWith(cred, "電波がないときに書いた")).length, 1);
  } finally {
    await env.admin("PATCH", "/api/v1/org/settings", { closed_behavior: "accept", pause: { on: false } });
  }
  await ctx.close();
});

test("a stalled link is noticed without the browser's help, and the app reconnects", async () => {
  const proxy = await freezableProxy(env.url);
  const cred = await env.newClient("あさひ");
  const { ctx, page } = await phone(env);
  try {
    await signIn({ ...env, url: proxy.url }, page, cred);
    await synced(page);
    const frozenAt = Date.now();
    proxy.freeze(); // the sockets stay open; nothing passes either way
    await page.waitForSelector("#net:not([hidden]) >> text=オフライン", { timeout: 20000 });
    console.log(`stalled link noticed after ${Date.now() - frozenAt} ms`);
    await page.fill("#text", "止まっている間に書いた");
    await page.click("#send");
    await page.waitForSelector("li.pending >> text=止まっている間に書いた");
    await shot(page, "pwa-stalled.png");
    proxy.thaw();
    await page.waitForSelector("li.msg.mine:not(.pending) >> text=止まっている間に書いた", { timeout: 40000 });
    assert.equal((await messagesWith(cred, "止まっている間に書いた")).length, 1);
  } finally {
    proxy.close();
    await ctx.close();
  }
});

// --- the thread stays in view ---------------------------------------------

test("a long conversation: the last message sits above the input, reading is marked only when seen, updates do not move the view", async () => {
  const cred = await env.newClient("ながい");
  const { conv, co } = await seedConversation(env, cred, 320);
  const { ctx, page, errors } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  await page.waitForFunction(() => document.querySelectorAll("#messages li.msg").length >= 320);

  // The newest message is fully visible, above the input bar.
  const last = await box(page, "#messages li.msg >> nth=-1");
  const compose = await box(page, "#compose");
  const scroller = await box(page, "#scroller");
  assert.ok(last.y + last.height <= compose.y, `last bubble ends at ${last.y + last.height}, input bar starts at ${compose.y}`);
  assert.ok(last.y >= scroller.y, "last bubble starts above the list");
  await shot(page, "pwa-long-bottom.png");
  let c = await until("read up to the end", async () => { const x = await conversationOf(cred); return x.client_read_seq === x.last_seq && x; });

  // Reading older messages: a reply arrives and a read receipt comes back;
  // the view stays put and a pill counts what arrived.
  await page.evaluate(() => { document.getElementById("scroller").scrollTop = 2000; });
  await page.waitForTimeout(200);
  const anchor = await page.evaluate(() => {
    const s = document.getElementById("scroller");
    const el = [...document.querySelectorAll("#messages li")].find((li) => li.getBoundingClientRect().top > s.getBoundingClientRect().top);
    return { key: el.dataset.key, top: el.getBoundingClientRect().top, scrollTop: s.scrollTop };
  });
  await co.reply(conv, "急ぎではありませんが、いのちの電話は 0120-783-556 です。");
  await co.page.evaluate(({ conv, seq }) => window.ws_.send(JSON.stringify({ type: "receipt", conversation_id: conv, delivered_seq: seq, read_seq: seq })), { conv, seq: c.last_seq });
  await page.waitForSelector("#new-pill:not([hidden]) >> text=新しいメッセージ 1件");
  const moved = await page.evaluate((key) => document.querySelector(`[data-key="${key}"]`).getBoundingClientRect().top, anchor.key);
  assert.ok(Math.abs(moved - anchor.top) < 1, `the view moved by ${moved - anchor.top}px`);
  const pill = await box(page, "#new-pill");
  assert.ok(pill.y + pill.height <= compose.y && pill.y > scroller.y, "the pill sits above the input bar");
  await shot(page, "pwa-pill.png");

  // Delivered but not read: the reply has not been on screen.
  c = await until("delivery of the reply", async () => { const x = await conversationOf(cred); return x.client_delivered_seq === x.last_seq && x; });
  await page.waitForTimeout(500);
  c = await conversationOf(cred);
  assert.ok(c.client_read_seq < c.last_seq, `marked read (${c.client_read_seq}) without being seen (${c.last_seq})`);

  await page.click("#new-pill");
  await page.waitForSelector("#new-pill", { state: "hidden" });
  const reply = await box(page, "#messages li.msg >> nth=-1");
  assert.ok(reply.y + reply.height <= compose.y && reply.y >= scroller.y, "the reply is not fully in view after the pill");
  await until("read after being seen", async () => { const x = await conversationOf(cred); return x.client_read_seq === x.last_seq; });
  assert.deepEqual(errors, []);
  await co.ctx.close();
  await ctx.close();
});

test("the closed and offline notices stay pinned under the header, in the same words as the notice", async () => {
  const cred = await env.newClient("ぴん");
  await seedConversation(env, cred, 120);
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  await env.admin("PATCH", "/api/v1/org/settings", { pause: { on: true, until: new Date(Date.now() + 7200e3).toISOString() } });
  try {
    await page.waitForSelector("#banner:not([hidden])");
    await page.fill("#text", "お休みの間に");
    await page.click("#send");
    await page.waitForSelector("li.notice");
    assert.match(await page.textContent("#banner"), /受付を休止しています/);
    assert.match(await page.locator("li.notice").last().textContent(), /受付を休止しています/);
    await ctx.setOffline(true);
    await page.waitForSelector("#net:not([hidden])");
    const header = await box(page, "header");
    for (const top of [0, 5000, 1e9]) {
      await page.evaluate((y) => { document.getElementById("scroller").scrollTop = y; }, top);
      const banner = await box(page, "#banner");
      const net = await box(page, "#net");
      const list = await box(page, "#scroller");
      assert.ok(Math.abs(banner.y - (header.y + header.height)) < 1, `banner at ${banner.y}, header ends at ${header.y + header.height}`);
      assert.ok(net.y >= banner.y + banner.height - 1 && list.y >= net.y + net.height - 1, "notices above the list");
    }
    await page.evaluate(() => { document.getElementById("scroller").scrollTop = 3000; });
    await shot(page, "pwa-pinned.png");
  } finally {
    await ctx.setOffline(false);
    await env.admin("PATCH", "/api/v1/org/settings", { pause: { on: false } });
  }
  await ctx.close();
});

// --- calm, clear, private ----------------------------------------------------

test("the header shows a neutral name unless the organisation chose to be named", async () => {
  const cred = await env.newClient("なまえ");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  assert.equal(await page.textContent("#org-name"), "対話");
  assert.equal(await page.locator("text=こころ相談室").count(), 0);
  await env.admin("PATCH", "/api/v1/org/settings", { show_org_name: true });
  try {
    await page.waitForSelector("#org-name >> text=こころ相談室");
  } finally {
    await env.admin("PATCH", "/api/v1/org/settings", { show_org_name: false });
  }
  await page.waitForSelector("#org-name >> text=対話");
  await ctx.close();
});

test("quick exit is unmistakable; reopening asks for the PIN, or on a shared device for the password", async () => {
  const cred = await env.newClient("にげる");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  const exit = await box(page, "#exit");
  const header = await box(page, "header");
  assert.ok(exit.y >= header.y && exit.y + exit.height <= header.y + header.height && exit.x + exit.width <= 390);
  assert.equal((await page.textContent("#exit")).trim(), "すぐに閉じる");
  assert.equal(await page.locator("#exit svg").isVisible(), true);

  // Set a PIN: asked twice, a mismatch is explained, the form opens in view.
  await inMenu(page);
  await page.click("#pin-toggle");
  const pinBox = await box(page, "#new-pin");
  assert.ok(pinBox.y >= 0 && pinBox.y + pinBox.height <= 844, `PIN field at ${pinBox.y}`);
  assert.match(await page.textContent("#pin-explain"), /5回/);
  await shot(page, "pwa-pin-form.png");
  await page.fill("#new-pin", "1357");
  await page.fill("#new-pin2", "1358");
  await page.click("#pin-form button[type=submit]");
  await page.waitForSelector("#pin-form-error >> text=違います");
  await page.fill("#new-pin", "1357");
  await page.fill("#new-pin2", "1357");
  await page.click("#pin-form button[type=submit]");
  await page.waitForSelector("#pin-status >> text=PINを設定しました");
  await page.click("#menu-close");

  await page.fill("#text", "誰にも見られたくない");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending)");
  await page.click("#exit");
  await page.waitForURL("about:blank");
  await page.goto(env.url + "/");
  await page.waitForSelector("#lock-view:not([hidden])");
  assert.equal(await page.isHidden("#chat-view"), true);
  assert.equal(await page.locator("text=誰にも見られたくない").count(), 0);
  // The rule and the way out are said before anything happens.
  assert.match(await page.textContent("#lock-rule"), /5回/);
  assert.equal(await page.locator("#pin-reset").isVisible(), true);
  const pin = await box(page, "#pin");
  assert.ok(pin.y + pin.height <= 844);
  await shot(page, "pwa-lock.png");
  await page.fill("#pin", "1357");
  await page.click("#lock-form button[type=submit]");
  await page.waitForSelector("li.msg.mine >> text=誰にも見られたくない");
  await ctx.close();

  // A shared device: quick exit ends the session on the server.
  const shared = await phone(env);
  await shared.page.goto(env.url + "/");
  await shared.page.fill("#login-id", cred.login_id);
  await shared.page.fill("#password", cred.password);
  await shared.page.check("#shared");
  await shared.page.click("#login-form button[type=submit]");
  await synced(shared.page);
  await shared.page.click("#exit");
  await shared.page.waitForURL("about:blank");
  await until("the shared session to end", async () => {
    const devices = await env.admin("GET", `/api/v1/accounts/${cred.account.id}/devices`);
    return devices.some((d) => !d.active && d.end_reason === "logout");
  });
  await shared.page.goto(env.url + "/");
  await shared.page.waitForSelector("#login-view:not([hidden])");
  await shared.ctx.close();
});

test("the PIN locks again when the app comes back from the background after the chosen time", async () => {
  const cred = await env.newClient("もどる");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  await inMenu(page);
  await page.click("#pin-toggle");
  await page.fill("#new-pin", "2468");
  await page.fill("#new-pin2", "2468");
  // The default: lock when the app was away for a minute or more.
  assert.equal(await page.inputValue("#lock-after"), "60000");
  await page.click("#pin-form button[type=submit]");
  await page.waitForSelector("#pin-status >> text=PINを設定しました");
  await page.click("#menu-close");
  // Another app comes to the front, then this one again; the page's clock
  // is moved on instead of waiting a minute.
  const away = (ms) => page.evaluate((ms) => {
    const set = (s) => {
      Object.defineProperty(document, "visibilityState", { value: s, configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    };
    set("hidden");
    const now = Date.now.bind(Date);
    const then = now() + ms;
    Date.now = () => Math.max(now(), then);
    set("visible");
  }, ms);
  await away(20000);
  await page.waitForTimeout(300);
  assert.equal(await page.isHidden("#lock-view"), true, "locked after 20 s away");
  await away(61000);
  await page.waitForSelector("#lock-view:not([hidden])");
  assert.equal(await page.isHidden("#chat-view"), true);
  await page.fill("#pin", "2468");
  await page.click("#lock-form button[type=submit]");
  await page.waitForSelector("#chat-view:not([hidden])");

  // Or at once, if the client chooses so.
  await inMenu(page);
  await page.click("#pin-toggle");
  await page.fill("#new-pin", "2468");
  await page.fill("#new-pin2", "2468");
  await page.selectOption("#lock-after", "0");
  await page.click("#pin-form button[type=submit]");
  await page.waitForSelector("#pin-status >> text=PINを設定しました");
  await page.click("#menu-close");
  await away(1000);
  await page.waitForSelector("#lock-view:not([hidden])");

  // Signed out by an admin while locked: wiped; the next sign-in works
  // fully (it reads, and says so).
  await env.admin("POST", `/api/v1/accounts/${cred.account.id}/logout`);
  await page.waitForSelector("#login-view:not([hidden]) >> text=ログアウトしました");
  await page.fill("#login-id", cred.login_id); // the same page, no reload
  await page.fill("#password", cred.password);
  await page.click("#login-form button[type=submit]");
  await synced(page);
  const co = await counselor(env);
  await page.fill("#text", "もう一度ログインしました");
  await page.click("#send");
  const back = await co.take(cred); // it waits in the pool until a counselor takes it
  await co.reply(back, "おかえりなさい");
  await page.waitForSelector("li.msg.theirs >> text=おかえりなさい");
  await until("the reply marked read", async () => { const c = await conversationOf(cred); return c.client_read_seq === c.last_seq; });
  await co.ctx.close();
  await ctx.close();
});

test("sign-in guidance: full-width IDs and 「ー」 work, the password can be shown, lockouts say how long, the contact is named", async () => {
  await env.admin("PATCH", "/api/v1/org/settings", { contact_text: "用紙をなくしたら、学生相談室の窓口（内線 1234）へ。" });
  try {
    const { app_path: appPath } = await env.admin("GET", "/api/v1/org");
    const cred = await env.newClient("ぜんかく");
    const { ctx, page } = await phone(env);
    await page.goto(env.url + appPath);
    await page.waitForSelector("#login-view:not([hidden])");
    assert.equal(await page.textContent("#contact"), "用紙をなくしたら、学生相談室の窓口（内線 1234）へ。");
    // Typed on a Japanese keyboard: full width, 「ー」 for the dash.
    const wide = (s) => s.replace(/[!-~]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)).replace(/－/g, "ー");
    await page.fill("#login-id", wide(cred.login_id.toUpperCase()));
    await page.fill("#password", "wrong-password");
    await page.check("#show-password");
    assert.equal(await page.getAttribute("#password", "type"), "text");
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#login-error >> text=正しくありません");
    assert.equal(await page.inputValue("#login-id"), cred.login_id);
    await shot(page, "pwa-signin-help.png");
    for (let i = 0; i < 6; i++) {
      await page.fill("#password", "wrong-" + i);
      await page.click("#login-form button[type=submit]");
      await page.waitForFunction((n) => document.getElementById("login-error").textContent && !document.querySelector("#login-form button[type=submit]").disabled, i);
    }
    await page.waitForSelector("#login-error >> text=/\\d+(分|秒)後/");
    await shot(page, "pwa-locked-out.png");
    await ctx.close();

    // Signing in with the full-width ID works (another ID: that one is
    // locked), after a busy server said so rather than "check your network".
    const cred2 = await env.newClient("ぜんかく2");
    const p2 = await phone(env);
    await p2.page.route("**/api/v1/login", (r) => r.fulfill({ status: 503, contentType: "application/json",
      body: JSON.stringify({ error: { code: "unavailable", message: "down for maintenance" } }) }), { times: 1 });
    await p2.page.goto(env.url + appPath);
    await p2.page.fill("#login-id", cred2.login_id);
    await p2.page.fill("#password", cred2.password);
    await p2.page.click("#login-form button[type=submit]");
    await p2.page.waitForSelector("#login-error >> text=混み合っている");
    await p2.page.fill("#login-id", wide(cred2.login_id));
    await p2.page.fill("#password", wide(cred2.password));
    await p2.page.click("#login-form button[type=submit]");
    await synced(p2.page);
    // Signing out is news, not an error.
    await inMenu(p2.page);
    await p2.page.click("#logout");
    await p2.page.waitForSelector("#login-notice:not([hidden]) >> text=ログアウトしました");
    assert.equal(await p2.page.textContent("#login-error"), "");
    const color = await p2.page.$eval("#login-notice", (el) => getComputedStyle(el).color);
    assert.notEqual(color, "rgb(164, 22, 26)");
    await p2.ctx.close();
  } finally {
    await env.admin("PATCH", "/api/v1/org/settings", { contact_text: "" });
  }
});

test("the first screen: a welcome, today's hours, when a reply comes and how long messages are kept", async () => {
  await env.admin("PATCH", "/api/v1/org/settings", {
    welcome_text: "ようこそ。ここでは安心して話してください。\n急ぎのときは下の番号へ。",
    hours: { time_zone: "Asia/Tokyo", spans: [0, 1, 2, 3, 4, 5, 6].map((day) => ({ day, start: "09:00", end: "21:00" })) },
  });
  try {
    const cred = await env.newClient("はじめて");
    const { ctx, page } = await phone(env);
    await signIn(env, page, cred);
    await synced(page);
    const intro = await box(page, "#intro");
    const compose = await box(page, "#compose");
    assert.ok(intro.y < 200 && intro.y + intro.height < compose.y, "the welcome is on the first screen");
    assert.match(await page.textContent("#intro-welcome"), /安心して話してください/);
    assert.match(await page.textContent("#intro-hours"), /今日の受付時間：09:00〜21:00/);
    assert.match(await page.textContent("#intro-reply"), /返信/);
    assert.match(await page.textContent("#intro-retention"), /7日後に自動で消去/);
    await shot(page, "pwa-welcome.png");
    await ctx.close();
  } finally {
    await env.admin("PATCH", "/api/v1/org/settings", { welcome_text: "", hours: { time_zone: "Asia/Tokyo", spans: [] } });
  }
});

test("counselors' links and phone numbers are tappable, their name shows above replies, and typing shows", async () => {
  const cred = await env.newClient("つなぐ");
  const co = await counselor(env);
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await page.fill("#text", "https://example.org/mine は私のメモです");
  await page.click("#send");
  const conv = await co.take(cred);
  const coToken = (await co.ctx.cookies()).find((c) => c.name === "taiwa_session").value;
  await env.api("PATCH", "/api/v1/me", coToken, { display_name: "みどり" });

  // A fresh connection carries the new name; typing shows, then the reply.
  const co2 = await counselor(env);
  await co2.typing(conv);
  await page.waitForSelector("#typing:not([hidden]) >> text=みどりが入力中…");
  const typing = await box(page, "#typing");
  const input = await box(page, "#text");
  assert.ok(typing.y + typing.height <= input.y, "the typing line sits above the input");
  await shot(page, "pwa-typing.png");
  await co2.reply(conv, "つらいときは #7119 か 0120-783-556 へ。詳しくは https://example.org/help をどうぞ。javascript:alert(1) http://plain.example");
  await page.waitForSelector("#typing", { state: "hidden" });
  const reply = page.locator("li.msg.theirs").last();
  await reply.locator("a[href='tel:0120783556']").waitFor();
  assert.equal(await reply.locator("a[href='tel:%237119']").count(), 1);
  const https = reply.locator("a[href='https://example.org/help']");
  assert.equal(await https.getAttribute("rel"), "noopener noreferrer");
  assert.equal(await https.getAttribute("target"), "_blank");
  assert.equal(await reply.locator("a").count(), 3, "only https and tel links");
  assert.equal(await page.locator("li.msg.mine a").count(), 0, "the client's own text stays plain");
  const who = await box(page, "li.msg.theirs >> nth=-1 >> .who");
  const body = await box(page, "li.msg.theirs >> nth=-1 >> .body");
  assert.equal(await reply.locator(".who").textContent(), "みどり");
  assert.ok(who.y + who.height <= body.y + 1, "the name sits above the reply");
  await shot(page, "pwa-links.png");

  // The client's typing reached the counselor as it wrote, rate-limited.
  await page.type("#text", "ありがとう、電話してみます", { delay: 150 });
  // The last hint may still be on its way on a busy machine: wait for it.
  const typed = await until("the client's typing at the counselor", async () => {
    const t = (await co.frames()).filter((f) => f.type === "typing" && f.sender_role === "client");
    return t.length ? t : null;
  });
  assert.ok(typed.every((f) => f.conversation_id === conv));
  for (let i = 1; i < typed.length; i++) assert.ok(typed[i].at_ - typed[i - 1].at_ >= 1900, "typing not rate-limited");
  await co.ctx.close();
  await co2.ctx.close();
  await ctx.close();
});

test("day separators, a growing input with a send hint, safe-area insets", async () => {
  const cred = await env.newClient("ひにち");
  await seedConversation(env, cred, 12);
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  // One separator per day; bubbles show the time only (no date), and the
  // message's number (#N), which a counselor's 決定 quotes.
  const days = await page.$$eval("#messages li.day", (els) => els.map((e) => e.textContent));
  assert.deepEqual(days, ["今日"]);
  const metas = await page.$$eval("#messages li.msg .meta", (els) => els.map((e) => e.textContent));
  assert.ok(metas.every((m) => /^\d{2}:\d{2}( · .+)? · #\d+$/.test(m)), metas.join(" | "));
  assert.deepEqual(metas.map((m) => Number(m.split("#").pop())), Array.from({ length: metas.length }, (_, i) => i + 1), "numbers run 1, 2, 3…");

  const h1 = (await box(page, "#text")).height;
  await page.fill("#text", "一\n二\n三\n四");
  const h4 = (await box(page, "#text")).height;
  await page.fill("#text", Array.from({ length: 20 }, (_, i) => `行${i}`).join("\n"));
  const h20 = (await box(page, "#text")).height;
  assert.ok(h4 > h1 * 1.8, `the input did not grow: ${h1} → ${h4}`);
  assert.ok(h20 < 844 / 3 && h20 >= h4, `the input grew without bound: ${h20}`);
  await page.waitForFunction(() => {
    const last = [...document.querySelectorAll("#messages li.msg")].pop().getBoundingClientRect();
    return last.bottom <= document.getElementById("compose").getBoundingClientRect().top;
  }, null, { timeout: 3000 }).catch(() => {});
  const last = await box(page, "#messages li.msg >> nth=-1");
  const compose = await box(page, "#compose");
  assert.ok(last.y + last.height <= compose.y, "the grown input covers the last message");
  await shot(page, "pwa-grown-input.png");

  const css = await page.evaluate(() => [...document.styleSheets].flatMap((s) => [...s.cssRules].map((r) => r.cssText)).join("\n"));
  assert.match(css, /safe-area-inset-top/);
  assert.match(css, /safe-area-inset-bottom/);
  await ctx.close();

  // With a keyboard and a mouse, the send shortcut is said.
  const desk = await env.browser.newContext({ viewport: { width: 800, height: 700 }, locale: "ja-JP" });
  const dp = await desk.newPage();
  await signIn(env, dp, cred);
  await dp.waitForSelector("#send-hint >> text=Ctrl+Enterで送信");
  await desk.close();
});

test("reopening the installed app takes the shell from the device, not the network", async () => {
  const cred = await env.newClient("はやい");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await page.evaluate(async () => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller);
  const fromNetwork = [];
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (u.origin === env.url && !u.pathname.startsWith("/api/") && !r.fromServiceWorker()) fromNetwork.push(u.pathname);
  });
  let shellAnswers = 0;
  page.on("response", (r) => { if (r.fromServiceWorker()) shellAnswers++; });
  await page.reload();
  await synced(page);
  assert.ok(shellAnswers >= 5, `only ${shellAnswers} answers came from the service worker`);
  assert.deepEqual(fromNetwork.filter((p) => p !== "/sw.js"), []);
  await ctx.close();
});

test("a send the server cannot store for now is sent again on its own, once", async () => {
  const cred = await env.newClient("ゆうひ");
  const { ctx, page } = await phone(env);
  // The first answer to the marked message becomes "unavailable, come
  // back in 1 s", as when the database is busy.
  let refused = false;
  await page.routeWebSocket("**/api/v1/live", (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      const f = JSON.parse(m);
      if (!refused && f.type === "ack" && f.message.body.includes("混んでいても")) {
        refused = true;
        ws.send(JSON.stringify({ type: "error", ref: f.ref, error: { code: "unavailable", message: "busy", retry_after: 1 } }));
        return;
      }
      ws.send(m);
    });
  });
  await signIn(env, page, cred);
  await synced(page);
  await page.fill("#text", "混んでいても届くはずの言葉");
  await page.click("#send");
  // No reload, no reconnection: the bubble settles by itself.
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=混んでいても届くはずの言葉", { timeout: 10000 });
  // The stored copy shows at once (its message frame); the outbox entry
  // must go too, with the retry's ack, not linger as 送信中.
  await page.locator("li.msg.pending", { hasText: "混んでいても届くはずの言葉" }).waitFor({ state: "detached", timeout: 10000 });
  assert.equal(refused, true, "the refusal was never staged: the test proves nothing");
  assert.equal((await messagesWith(cred, "混んでいても届くはずの言葉")).length, 1);
  await ctx.close();
});

test("a hand-over: the client is told only where the organisation wants it, and never sees staff notes", async () => {
  const cred = await env.newClient("ひきつぎ");
  const co = await counselor(env);
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await page.fill("#text", "相談したいことがあります");
  await page.click("#send");
  const conv = await co.take(cred);
  await co.reply(conv, "お話を聞かせてください");
  // A staff-only note, written where the client's words are.
  await co.page.evaluate((conv) => window.ws_.send(JSON.stringify({ type: "send", ref: "note-1", conversation_id: conv, body: "STAFF-ONLY 睡眠のことを聞く", kind: "note" })), conv);
  await page.waitForSelector("li.msg.theirs >> text=お話を聞かせてください");
  await env.admin("PATCH", "/api/v1/org/settings", { announce_handover: true });
  try {
    const other = await env.admin("POST", "/api/v1/staff", { nickname: "佐藤", role: "counselor" });
    const coToken = (await co.ctx.cookies()).find((c) => c.name === "taiwa_session").value;
    await env.api("POST", `/api/v1/conversations/${conv}/transfer`, coToken, { to: other.account.id, note: "HANDOVER-NOTE 夜に書く方です" });
    const notice = page.locator("li.msg.notice", { hasText: "担当者が変わりました" });
    await notice.waitFor();
    const n = await notice.boundingBox();
    const input = await box(page, "#text");
    const list = await box(page, "#messages");
    assert.ok(n.y + n.height <= input.y, "the notice sits above the input");
    assert.ok(Math.abs((n.x + n.width / 2) - (list.x + list.width / 2)) < 8, "the notice is centred in the thread");
    assert.equal(await page.getByText("STAFF-ONLY").count(), 0, "a staff note reached the phone");
    assert.equal(await page.getByText("HANDOVER-NOTE").count(), 0, "the hand-over note reached the phone");
    await shot(page, "pwa-handover.png");
  } finally {
    await env.admin("PATCH", "/api/v1/org/settings", { announce_handover: false });
  }
  await co.ctx.close();
  await ctx.close();
});

test("nomination: the client sees who takes nominations and asks for one; the choice comes back when nobody has the conversation", async () => {
  const cred = await env.newClient("しめい");
  const name = "みどり";
  const staff = await env.admin("POST", "/api/v1/staff", { nickname: "指名 担当", role: "counselor" });
  const login = await (await fetch(env.url + "/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login_id: staff.login_id, password: staff.password }) })).json();
  const me = (method, path, body) => env.api(method, path, login.token, body);
  await me("PATCH", "/api/v1/me", { display_name: name, intro: "夜の相談を多く受けています。\nゆっくりで大丈夫です。", accept_nominations: true });
  const { ctx, page, errors } = await phone(env);
  try {
    await signIn(env, page, cred);
    await synced(page);
    const button = page.getByRole("button", { name: `${name}さんに相談する` });
    await button.waitFor();
    assert.equal(await page.getByText("ゆっくりで大丈夫です。").count(), 1, "the introduction shows");
    const b = await button.boundingBox();
    assert.ok(b.height >= 44 && b.x >= 0 && b.x + b.width <= 390, `the button fits a thumb and the screen: ${JSON.stringify(b)}`);
    await shot(page, "pwa-nominees.png");
    await button.click();
    await page.getByText(`${name}さんを指名しました`).waitFor();
    assert.ok(await page.isHidden("#nominate"), "the choice stays after nominating");
    const conv = await until("the conversation given to the nominee", async () => {
      const c = await conversationOf(cred);
      return c.assignee_id === staff.account.id && c.nominated_at ? c : null;
    });
    await page.fill("#text", "みどりさんにお願いしたいです");
    await page.click("#send");
    await until("the nominee reads the message", async () => {
      const h = await me("GET", `/api/v1/conversations/${conv.id}/messages?limit=10`);
      return h.messages.some((m) => m.body === "みどりさんにお願いしたいです");
    });
    // Handed back to the pool by an admin: the choice returns, the client sees nothing else.
    await env.admin("POST", `/api/v1/conversations/${conv.id}/transfer`, { to: null });
    await page.locator("#nominate:not([hidden])").waitFor();
    assert.ok(await page.isHidden("#nominate-status"), "the old nomination is still named");
    assert.deepEqual(errors, []);
  } finally {
    await me("PATCH", "/api/v1/me", { accept_nominations: false });
    await ctx.close();
  }
});

test("while waiting for a first answer: the message arrived, and about how long answers take lately", async () => {
  // Five answered clients give the organisation a typical reply time.
  const co = await counselor(env);
  for (let i = 0; i < 5; i++) {
    const c = await env.newClient(`こたえ${i}`);
    const cl = await liveAs(env, c.login_id, c.password);
    await cl.send(0, ["こんにちは"]);
    const conv = await co.take(c);
    await co.reply(conv, "こんにちは、お話を聞かせてください");
    await cl.ctx.close();
  }
  const cred = await env.newClient("まつ");
  const { ctx, page, errors } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  assert.ok(await page.isHidden("#waiting"), "a waiting note before writing");
  await page.fill("#text", "聞いてほしいことがあります");
  await page.click("#send");
  const note = page.locator("#waiting");
  await note.waitFor();
  const text = await note.textContent();
  assert.match(text, /メッセージを受け付けました。最近は、お返事までおよそ\d+分です/);
  const n = await box(page, "#waiting");
  const input = await box(page, "#text");
  assert.ok(n.y + n.height <= input.y && n.y > 0, "the note sits above the input, on screen");
  await shot(page, "pwa-waiting.png");
  const conv = await co.take(cred);
  await co.reply(conv, "お待たせしました");
  await page.waitForSelector("li.msg.theirs >> text=お待たせしました");
  await page.waitForSelector("#waiting", { state: "hidden" });
  assert.deepEqual(errors, []);
  await co.ctx.close();
  await ctx.close();
});

// refuseFirstSend stands between the page and the server: the page's
// first send is answered "busy, come back in retryAfter s" without
// reaching the server, as a busy server does; everything else passes.
// It records the refs of the sends in the order the page wrote them, and
// toPhone sends a frame to the page as if from the server.
async function refuseFirstSend(page, retryAfter) {
  const busy = { sends: [], refusedRef: null, toPhone: null };
  await page.routeWebSocket("**/api/v1/live", (ws) => {
    const server = ws.connectToServer();
    busy.toPhone = (f) => ws.send(JSON.stringify(f));
    ws.onMessage((m) => {
      const f = JSON.parse(m);
      if (f.type === "send") {
        busy.sends.push(f.ref);
        if (!busy.refusedRef) {
          busy.refusedRef = f.ref;
          ws.send(JSON.stringify({ type: "error", ref: f.ref, error: { code: "unavailable", message: "the server is busy", retry_after: retryAfter } }));
          return;
        }
      }
      server.send(m);
    });
    server.onMessage((m) => ws.send(m));
  });
  return busy;
}

test("a busy server's 'not now' holds what is written meanwhile, and the words are stored in the order written", async () => {
  const cred = await env.newClient("なぎさ");
  const { ctx, page } = await phone(env);
  // The first send of the first message is answered "busy, come back in
  // 2 s" without reaching the server, as a busy server does.
  const busy = await refuseFirstSend(page, 2);
  await signIn(env, page, cred);
  await synced(page);
  await page.fill("#text", "ひとつめ");
  await page.click("#send");
  await until("the refusal", () => busy.refusedRef);
  await page.fill("#text", "ふたつめ");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=ふたつめ", { timeout: 15000 });
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=ひとつめ", { timeout: 15000 });
  // The second was not written before the first went again.
  assert.equal(busy.sends[0], busy.refusedRef);
  assert.equal(busy.sends[1], busy.refusedRef, `the second message was written during the hold: ${JSON.stringify(busy.sends)}`);
  const conv = await conversationOf(cred);
  const page2 = await env.admin("GET", `/api/v1/conversations/${conv.id}/messages?limit=50`);
  assert.deepEqual(page2.messages.filter((m) => m.sender_role === "client").map((m) => m.body), ["ひとつめ", "ふたつめ"]);
  await ctx.close();
});

test("a busy server's call-back sends what the hold keeps at once, without waiting out retry_after", async () => {
  const cred = await env.newClient("みなと");
  const { ctx, page } = await phone(env);
  // The first send is answered "busy, come back in 30 s"; the server then
  // calls the connection back (a resume frame) as soon as it has room.
  const busy = await refuseFirstSend(page, 30);
  await signIn(env, page, cred);
  await synced(page);
  await page.fill("#text", "ひとつめ");
  await page.click("#send");
  await until("the refusal", () => busy.refusedRef);
  await page.fill("#text", "ふたつめ");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine.pending >> text=ふたつめ");
  assert.deepEqual(busy.sends, [busy.refusedRef], "the second message went during the hold");
  busy.toPhone({ type: "resume" });
  // Well within the 30 s the refusal asked for.
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=ふたつめ", { timeout: 10000 });
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=ひとつめ", { timeout: 10000 });
  assert.equal(busy.sends[1], busy.refusedRef, `not in the order written: ${JSON.stringify(busy.sends)}`);
  const conv = await conversationOf(cred);
  const page2 = await env.admin("GET", `/api/v1/conversations/${conv.id}/messages?limit=50`);
  assert.deepEqual(page2.messages.filter((m) => m.sender_role === "client").map((m) => m.body), ["ひとつめ", "ふたつめ"]);
  // A call-back with nothing held changes nothing.
  busy.toPhone({ type: "resume" });
  await page.fill("#text", "みっつめ");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=みっつめ");
  await ctx.close();
});

test("text that looks like a phone number or an address is sent only if the client confirms", async () => {
  const cred = await env.newClient("ひかり");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  // An ordinary message, dates and times included, goes at once.
  await page.fill("#text", "12月3日（木）の15:00に話せますか");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=15:00に話せますか");
  assert.equal(await page.isHidden("#pii"), true);

  // A phone number: asked first, with the reason; 書き直す keeps the
  // words in the box and sends nothing.
  const secret = "電話は090-1234-5678です";
  await page.fill("#text", secret);
  await page.click("#send");
  await page.waitForSelector("#pii:not([hidden])");
  assert.match(await page.textContent("#pii-text"), /電話番号.*匿名/);
  await shot(page, "pwa-pii.png");
  await page.click("#pii-back");
  await page.waitForSelector("#pii", { state: "hidden" });
  assert.equal(await page.inputValue("#text"), secret);
  assert.equal(await page.evaluate(() => document.querySelectorAll("li.msg.mine").length), 1, "nothing was queued");

  // Sent only when the client chooses to.
  await page.click("#send");
  await page.waitForSelector("#pii:not([hidden])");
  await page.click("#pii-send");
  await page.waitForSelector(`li.msg.mine:not(.pending) >> text=${secret}`);
  assert.equal((await messagesWith(cred, secret)).length, 1);
  assert.equal(await page.inputValue("#text"), "");
  await ctx.close();
});
