// End-to-end tests of the client PWA: Debian's Chromium (driven by
// playwright-core) against the real server binary on loopback.
// TAIWA_BIN names the server binary (make test-web builds it).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { generateKeyPairSync, createECDH } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const BIN = resolve(process.env.TAIWA_BIN || "../../bin/taiwa");
const SHOTS = resolve(process.env.TAIWA_SHOTS || "../../var/screenshots");
let dir, server, url, adminToken, browser, counselorCred;

// Push is configured as an operator would, with a service account and web
// config of a Firebase project that does not exist: Google's servers are
// the one part out of reach here, and the test answers in their place.
const FIREBASE_PROJECT = "taiwa-e2e";
function writePushConfig() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "service-account.json"), JSON.stringify({
    type: "service_account", project_id: FIREBASE_PROJECT, private_key_id: "e2e",
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }),
    client_email: `push@${FIREBASE_PROJECT}.iam.gserviceaccount.com`, client_id: "1",
    token_uri: "https://oauth2.googleapis.com/token",
  }));
  const vapid = createECDH("prime256v1");
  vapid.generateKeys();
  writeFileSync(join(dir, "web-push.json"), JSON.stringify({
    apiKey: "AIzaE2E", projectId: FIREBASE_PROJECT, messagingSenderId: "1234", appId: "1:1234:web:e2e",
    vapidKey: vapid.getPublicKey().toString("base64url"),
  }));
}

function startServer(addr) {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(BIN, ["serve", "--data", dir, "--addr", addr, "--log-level", "warn",
      "--fcm-credentials", join(dir, "service-account.json"), "--fcm-web-config", join(dir, "web-push.json")], { stdio: ["ignore", "pipe", "inherit"] });
    const timer = setTimeout(() => reject(new Error("server did not start")), 20000);
    p.stdout.on("data", (d) => {
      const m = /serving on (http:\/\/\S+)/.exec(String(d));
      if (m) { clearTimeout(timer); resolvePromise({ p, url: m[1] }); }
    });
    p.on("exit", (code) => reject(new Error("server exited " + code)));
  });
}

async function api(method, path, token, body) {
  const r = await fetch(url + path, {
    method, headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function newClient(nickname) {
  return api("POST", "/api/v1/clients", adminToken, { nickname });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "taiwa-e2e-"));
  const out = execFileSync(BIN, ["org", "create", "--data", dir, "--name", "こころ相談室", "--admin", "kanri"]).toString();
  const pw = /password: (\S+)/.exec(out)[1];
  writePushConfig();
  ({ p: server, url } = await startServer("127.0.0.1:0"));
  const login = await (await fetch(url + "/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ login_id: "kanri", password: pw }) })).json();
  adminToken = login.token;
  counselorCred = await api("POST", "/api/v1/staff", adminToken, { nickname: "田中", role: "counselor" });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

// A phone.
async function phone() {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: "ja-JP", hasTouch: true });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  return { ctx, page, errors };
}

// inMenu opens the menu (where the settings and sign-out live) unless open.
async function inMenu(page) {
  if (await page.isHidden("#menu")) await page.click("#menu-toggle");
  await page.waitForSelector("#menu:not([hidden])");
}

async function logoutVia(page) {
  await inMenu(page);
  await page.click("#logout");
}

async function signIn(page, cred) {
  await page.goto(url + "/");
  await page.fill("#login-id", cred.login_id);
  await page.fill("#password", cred.password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#chat-view:not([hidden])");
}

// The counselor: a page on the same origin with its own cookies, speaking
// the live protocol from the page's WebSocket.
async function counselor() {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(url + "/healthz");
  await page.evaluate(async ({ id, pw }) => {
    const r = await fetch("/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ login_id: id, password: pw, cookie: true }) });
    if (!r.ok) throw new Error("counselor login " + r.status);
    window.frames_ = [];
    await new Promise((res) => {
      const ws = new WebSocket("ws://" + location.host + "/api/v1/live");
      window.ws_ = ws;
      ws.onopen = () => ws.send(JSON.stringify({ type: "hello", v: 1, cursor: 0 }));
      ws.onmessage = (e) => { const f = JSON.parse(e.data); window.frames_.push(f); if (f.type === "synced") res(); };
    });
  }, { id: counselorCred.login_id, pw: counselorCred.password });
  return {
    ctx, page,
    // take waits until the client's conversation waits in the pool and
    // takes it (担当する): a counselor is sent a client's words only then.
    take: (cred) => page.evaluate(async (clientId) => {
      for (let i = 0; i < 200; i++) {
        const c = window.frames_.filter((f) => f.type === "conversation").map((f) => f.conversation)
          .findLast((c) => c.client_id === clientId);
        if (c?.pool_since && !c.assignee_id) {
          const r = await fetch(`/api/v1/conversations/${c.id}/claim`, { method: "POST" });
          if (!r.ok) throw new Error("claim " + r.status);
          return c.id;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error("nothing in the pool");
    }, cred.account.id),
    waitMessage: (body) => page.waitForFunction((b) => window.frames_.some((f) => f.type === "message" && f.message.body === b), body),
    reply: (conv, body) => page.evaluate(({ conv, body }) => window.ws_.send(JSON.stringify({ type: "send", ref: "r" + Math.random().toString(16).slice(2), conversation_id: conv, body })), { conv, body }),
    conversationOf: (body) => page.evaluate((b) => window.frames_.find((f) => f.type === "message" && f.message.body === b).message.conversation_id, body),
  };
}

test("sign in, write first, receive the counselor's reply live", async () => {
  const cred = await newClient("さくら");
  const { ctx, page, errors } = await phone();
  const co = await counselor();
  await signIn(page, cred);
  // A phone others may see: the header shows a neutral name by default.
  await page.waitForFunction(() => document.getElementById("net").hidden);
  assert.equal(await page.textContent("#org-name"), "対話");
  // The words show once: the waiting copy becomes the sent message, never
  // two bubbles side by side (the server sends this page its own message
  // in the ack alone).
  await page.evaluate(() => {
    window.mostBubbles = 0;
    new MutationObserver(() => {
      const n = [...document.querySelectorAll("li.msg.mine")].filter((li) => li.textContent.includes("最近よく眠れません。")).length;
      window.mostBubbles = Math.max(window.mostBubbles, n);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.fill("#text", "はじめまして。\n最近よく眠れません。");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=最近よく眠れません。");
  assert.equal(await page.evaluate(() => window.mostBubbles), 1, "the message showed twice at once");
  // It waits in the pool: the counselor takes it, then answers.
  const conv = await co.take(cred);
  await co.reply(conv, "こんばんは。お話を聞かせてください。");
  await page.waitForSelector("li.msg:not(.mine) >> text=お話を聞かせてください");
  // The client read it: the counselor hears the receipt.
  await co.page.waitForFunction(() => window.frames_.some((f) => f.type === "conversation" && f.conversation.client_read_seq >= 2));
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, "pwa-phone.png") });
  assert.deepEqual(errors, []);
  await ctx.close();
  await co.ctx.close();
});

test("a message written offline is sent after reconnecting, once", async () => {
  const cred = await newClient("ひなた");
  const { ctx, page } = await phone();
  const co = await counselor();
  await signIn(page, cred);
  const port = new URL(url).port;
  server.kill("SIGKILL");
  await new Promise((r) => server.once("exit", r));
  await page.waitForSelector("#net:not([hidden])");
  await page.fill("#text", "電波の悪いところで書きました");
  await page.click("#send");
  await page.waitForSelector("li.pending >> text=電波の悪いところで書きました");
  await co.ctx.close();
  ({ p: server } = await startServer("127.0.0.1:" + port));
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=電波の悪いところで書きました", { timeout: 30000 });
  const conv = (await api("GET", "/api/v1/conversations", adminToken)).find((c) => c.nickname === "ひなた");
  const page1 = await api("GET", `/api/v1/conversations/${conv.id}/messages`, adminToken);
  assert.equal(page1.messages.filter((m) => m.body === "電波の悪いところで書きました").length, 1);
  await ctx.close();
});

test("closed and paused show when a reply can be expected", async () => {
  const cred = await newClient("そら");
  const { ctx, page } = await phone();
  await signIn(page, cred);
  assert.equal(await page.isHidden("#banner"), true);
  await api("PATCH", "/api/v1/org/settings", adminToken, { pause: { on: true } });
  await page.waitForSelector("#banner:not([hidden]) >> text=休止");
  await api("PATCH", "/api/v1/org/settings", adminToken, { pause: { on: false } });
  await page.waitForSelector("#banner", { state: "hidden" });
  await ctx.close();
});

test("logout leaves nothing on the device", async () => {
  const cred = await newClient("みどり");
  const { ctx, page } = await phone();
  await signIn(page, cred);
  await page.fill("#text", "消えてほしい内容");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("li.msg.mine:not(.pending)");
  assert.ok((await page.evaluate(() => indexedDB.databases())).some((d) => d.name === "taiwa"), "nothing stored before logout: the check could not fail");
  await logoutVia(page);
  await page.waitForSelector("#login-view:not([hidden])");
  assert.equal((await page.evaluate(() => indexedDB.databases())).some((d) => d.name === "taiwa"), false);
  assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
  assert.equal((await ctx.cookies()).some((c) => c.name === "taiwa_session"), false);
  assert.equal(await page.locator("text=消えてほしい内容").count(), 0);
  // The phone wiped itself before signing out, and said so.
  const [device] = await api("GET", `/api/v1/accounts/${cred.account.id}/devices`, adminToken);
  assert.equal(device.end_reason, "logout");
  assert.ok(device.wiped_at, JSON.stringify(device));
  await ctx.close();
});

test("installable: manifest and service worker", async () => {
  const { ctx, page } = await phone();
  await page.goto(url + "/");
  const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
  assert.equal(scope, url + "/");
  const manifest = await page.evaluate(async () => (await fetch(document.querySelector("link[rel=manifest]").href)).json());
  assert.equal(manifest.display, "standalone");
  assert.ok(manifest.icons.length >= 2);
  // The service worker caches the shell only: no API answers.
  const cached = await page.evaluate(async () => {
    const out = [];
    for (const k of await caches.keys()) for (const r of await (await caches.open(k)).keys()) out.push(new URL(r.url).pathname);
    return out;
  });
  assert.ok(cached.includes("/app.js"));
  assert.equal(cached.some((p) => p.startsWith("/api/")), false);
  await ctx.close();
});

// Issue 18: the sign-in page's footer and the menu link to the client
// guide the server serves (never outside); with the app's service worker
// in control, the guide still comes from the server, not the app shell.
test("the footer and the menu open the client guide from the server", async () => {
  const { ctx, page } = await phone();
  await page.goto(url + "/");
  await page.evaluate(async () => navigator.serviceWorker.ready);
  await page.reload();
  const link = page.locator("#login-view footer a");
  assert.equal(await link.getAttribute("href"), "/guide/client");
  const [guide] = await Promise.all([ctx.waitForEvent("page"), link.click()]);
  await guide.waitForLoadState();
  assert.equal(new URL(guide.url()).pathname, "/guide/client");
  const text = await guide.locator("main").innerText();
  assert.match(text, /すぐに閉じる/);
  assert.match(text, /ホーム画面に追加/);
  await guide.close();
  await signIn(page, await newClient("ガイド"));
  await page.click("#menu-toggle");
  assert.equal(await page.locator("#menu .guide-link").getAttribute("href"), "/guide/client");
  await ctx.close();
});

test("a PIN locks the app on this device; five wrong PINs erase it", async () => {
  const cred = await newClient("あおい");
  const { ctx, page, errors } = await phone();
  await signIn(page, cred);
  await page.fill("#text", "PINで守りたい内容");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("li.msg.mine:not(.pending)");
  await inMenu(page);
  await page.click("#pin-toggle");
  await page.fill("#new-pin", "2468");
  await page.fill("#new-pin2", "2468");
  await page.click("#pin-form button[type=submit]");
  await page.waitForSelector("#pin-form", { state: "hidden" });

  // Reopen: locked, and nothing of the conversation on screen.
  await page.reload();
  await page.waitForSelector("#lock-view:not([hidden])");
  assert.equal(await page.isHidden("#chat-view"), true);
  assert.equal(await page.locator("text=PINで守りたい内容").count(), 0);
  await page.fill("#pin", "1111");
  await page.click("#lock-form button[type=submit]");
  await page.waitForSelector("#lock-error >> text=4");
  await page.fill("#pin", "2468");
  await page.click("#lock-form button[type=submit]");
  await page.waitForSelector("li.msg.mine >> text=PINで守りたい内容");

  // Five wrong PINs: the device's copy is erased and the session ended.
  await page.reload();
  await page.waitForSelector("#lock-view:not([hidden])");
  for (let i = 0; i < 5; i++) {
    await page.fill("#pin", "0000");
    await page.click("#lock-form button[type=submit]");
  }
  await page.waitForSelector("#login-view:not([hidden])");
  assert.equal((await page.evaluate(() => indexedDB.databases())).some((d) => d.name === "taiwa"), false);
  assert.equal((await ctx.cookies()).some((c) => c.name === "taiwa_session"), false);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("a push shows a generic notice without any text of the conversation", async () => {
  const { ctx, page } = await phone();
  await ctx.grantPermissions(["notifications"], { origin: url });
  await page.goto(url + "/");
  await page.evaluate(async () => navigator.serviceWorker.ready);
  const cdp = await ctx.newCDPSession(page);
  const registration = new Promise((res) => cdp.on("ServiceWorker.workerRegistrationUpdated", (ev) => {
    const r = ev.registrations.find((x) => x.scopeURL === url + "/" && !x.isDeleted);
    if (r) res(r.registrationId);
  }));
  await cdp.send("ServiceWorker.enable");
  const registrationId = await registration;
  // Exactly what the server sends: a kind, nothing to show.
  await cdp.send("ServiceWorker.deliverPushMessage", { origin: url, registrationId, data: JSON.stringify({ data: { kind: "reply" } }) });
  // waitForFunction takes a synchronous predicate only (an async one is a
  // promise, truthy at once): poll getNotifications from here instead.
  let notes = [];
  for (const until = Date.now() + 10_000; !notes.length && Date.now() < until; ) {
    notes = await page.evaluate(async () => {
      const n = await (await navigator.serviceWorker.ready).getNotifications();
      return n.map((x) => ({ title: x.title, body: x.body, tag: x.tag }));
    });
    if (!notes.length) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(notes.length, 1);
  assert.equal(notes[0].title, "新しい返信");
  assert.equal(notes[0].tag, "taiwa-reply");
  // An announcement's push (issue 16): "news", and the words are the
  // app's own, never the announcement's.
  await cdp.send("ServiceWorker.deliverPushMessage", { origin: url, registrationId, data: JSON.stringify({ data: { kind: "news" } }) });
  for (const until = Date.now() + 10_000; notes.length < 2 && Date.now() < until; ) {
    notes = await page.evaluate(async () => {
      const n = await (await navigator.serviceWorker.ready).getNotifications();
      return n.map((x) => ({ title: x.title, body: x.body, tag: x.tag }));
    });
    if (notes.length < 2) await new Promise((r) => setTimeout(r, 100));
  }
  const news = notes.find((n) => n.tag === "taiwa-news");
  assert.ok(news, "no news notice: " + JSON.stringify(notes));
  assert.equal(news.title, "お知らせ");
  await ctx.close();
});

// Answers Firebase's two registration services as Google would, and counts
// what the page asked of them. Chromium's own push service (Google's, and
// refused in Playwright's incognito contexts) is replaced at the
// PushManager boundary with a subscription that lives in the page; the
// service worker's side of push is tested with CDP below.
async function fakeFirebase(ctx) {
  await ctx.addInitScript(() => {
    // Kept like the browser keeps it: across reloads, until unsubscribed.
    const KEY = "e2e.pushSubscription";
    const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
    const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0)).buffer;
    const subscription = (saved) => ({
      endpoint: saved.endpoint, expirationTime: null, options: { userVisibleOnly: true },
      getKey: (name) => unb64(saved[name]),
      unsubscribe: async () => { localStorage.removeItem(KEY); return true; },
    });
    PushManager.prototype.getSubscription = async () => {
      const saved = localStorage.getItem(KEY);
      return saved ? subscription(JSON.parse(saved)) : null;
    };
    PushManager.prototype.permissionState = async () => Notification.permission === "granted" ? "granted" : "prompt";
    PushManager.prototype.subscribe = async () => {
      const saved = {
        endpoint: "https://fcm.googleapis.com/fcm/send/e2e",
        p256dh: b64(crypto.getRandomValues(new Uint8Array(65))), auth: b64(crypto.getRandomValues(new Uint8Array(16))),
      };
      localStorage.setItem(KEY, JSON.stringify(saved));
      return subscription(saved);
    };
  });
  const calls = [];
  await ctx.route("https://firebaseinstallations.googleapis.com/**", (route) => {
    calls.push("installations " + route.request().method());
    route.fulfill({ json: { name: "i", fid: "fid-e2e", refreshToken: "refresh", authToken: { token: "auth", expiresIn: "604800s" } } });
  });
  await ctx.route("https://fcmregistrations.googleapis.com/**", (route) => {
    calls.push("registrations " + route.request().method());
    route.fulfill({ json: route.request().method() === "POST" ? { token: "fcm-token-e2e" } : {} });
  });
  return calls;
}

const pushRequest = (page, method) => page.waitForResponse((r) => r.url() === url + "/api/v1/push" && r.request().method() === method);

test("notices can be turned on and off; nothing of them stays after logout", async () => {
  const cred = await newClient("ゆき");
  const { ctx, page, errors } = await phone();
  await ctx.grantPermissions(["notifications"], { origin: url });
  const calls = await fakeFirebase(ctx);
  await signIn(page, cred);
  await inMenu(page);
  await page.waitForSelector("#push-toggle:not([hidden])");
  assert.equal(await page.textContent("#push-toggle"), "返信を通知する");

  // On: Firebase gives a token, the server takes it.
  let put = pushRequest(page, "PUT");
  await page.click("#push-toggle");
  assert.equal((await put).status(), 204);
  assert.equal(JSON.parse((await put).request().postData()).token, "fcm-token-e2e");
  await page.waitForSelector("#push-status >> text=通知に内容や名前は表示されません");
  assert.equal(await page.textContent("#push-toggle"), "通知を止める");
  assert.deepEqual(calls, ["installations POST", "registrations POST"]);

  // Reopened: still on, and the server is reminded of the token.
  put = pushRequest(page, "PUT");
  await page.reload();
  assert.equal((await put).status(), 204);
  await inMenu(page);
  await page.waitForSelector("#push-toggle:not([hidden]) >> text=通知を止める");

  // Off: the server forgets it, Firebase and the browser let go of it.
  const del = pushRequest(page, "DELETE");
  assert.ok(await page.evaluate(() => localStorage.getItem("e2e.pushSubscription")), "no subscription to drop: the check could not fail");
  await page.click("#push-toggle");
  assert.equal((await del).status(), 204);
  await page.waitForSelector("#push-status >> text=通知を止めました");
  assert.equal(await page.textContent("#push-toggle"), "返信を通知する");
  assert.ok(calls.includes("registrations DELETE"), "Firebase registration kept: " + calls);
  assert.equal(await page.evaluate(() => localStorage.getItem("e2e.pushSubscription")), null);

  // On again, then sign out: no subscription and no Firebase database remain.
  put = pushRequest(page, "PUT");
  await page.click("#push-toggle");
  await put;
  await page.waitForSelector("#push-toggle >> text=通知を止める");
  assert.ok((await page.evaluate(() => indexedDB.databases())).some((d) => d.name.startsWith("firebase")), "no Firebase database to wipe: the check could not fail");
  await page.click("#logout");
  await page.waitForSelector("#login-view:not([hidden]) >> text=ログアウトしました");
  assert.deepEqual(await page.evaluate(() => indexedDB.databases()), []);
  assert.equal(await page.evaluate(() => localStorage.getItem("e2e.pushSubscription")), null);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("notices: a refusal is explained, a shared device is never offered them", async () => {
  const cred = await newClient("かえで");
  const { ctx, page } = await phone();
  await fakeFirebase(ctx);
  let asked = 0;
  page.on("request", (r) => { if (r.url() === url + "/api/v1/push") asked++; });
  await signIn(page, cred);
  await inMenu(page);
  await page.waitForSelector("#push-toggle:not([hidden])");
  await page.click("#push-toggle"); // headless Chromium answers the question with "no"
  await page.waitForSelector("#push-status >> text=許可されていません");
  assert.equal(asked, 0);
  await page.click("#logout");
  await page.waitForSelector("#login-view:not([hidden])");

  await page.fill("#login-id", cred.login_id);
  await page.fill("#password", cred.password);
  await page.check("#shared");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#chat-view:not([hidden])");
  await page.waitForLoadState("networkidle");
  assert.equal(await page.isHidden("#push-toggle"), true);
  await ctx.close();
});

test("an organisation's neutral app name and icon, at its own address", async () => {
  await api("PATCH", "/api/v1/org/settings", adminToken, { app_name: "メモ帳", app_icon: "notes" });
  try {
    const { app_path: appPath } = await api("GET", "/api/v1/org", adminToken);
    assert.match(appPath, /^\/a\/[0-9a-f]{16}\/$/);
    const cred = await newClient("なぎさ");
    const { ctx, page, errors } = await phone();
    await page.goto(url + appPath);
    // Before sign-in nothing names the organisation.
    assert.equal(await page.title(), "メモ帳");
    assert.equal(await page.textContent("#org-name"), "メモ帳");
    const manifest = await page.evaluate(async () => (await fetch(document.querySelector("link[rel=manifest]").href)).json());
    assert.equal(manifest.name, "メモ帳");
    assert.equal(manifest.start_url, "./");
    const icon = await page.evaluate(async () => new Uint8Array(await (await fetch("icon-192.png")).arrayBuffer()).length);
    const notes = await page.evaluate(async () => new Uint8Array(await (await fetch("/icons/notes-192.png")).arrayBuffer()).length);
    assert.equal(icon, notes);
    assert.equal(await page.evaluate(async () => (await navigator.serviceWorker.ready).scope), url + appPath);

    // Signed in, the header keeps the neutral name; the chat works as at /.
    await page.fill("#login-id", cred.login_id);
    await page.fill("#password", cred.password);
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#chat-view:not([hidden])");
    await page.fill("#text", "メモ帳から送ります");
    await page.click("#send");
    await page.waitForSelector("li.msg.mine:not(.pending) >> text=メモ帳から送ります");
    assert.equal(await page.textContent("#org-name"), "メモ帳");
    assert.equal(await page.locator("text=こころ相談室").count(), 0);
    await page.screenshot({ path: join(SHOTS, "pwa-neutral.png") });
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    await api("PATCH", "/api/v1/org/settings", adminToken, { app_name: "", app_icon: "" });
  }
});

// axe-core's WCAG 2.1 A/AA rules on every screen a client meets. The
// script is evaluated through the DevTools protocol, not injected into
// the page, so the page's CSP stays as strict as in use.
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
async function audit(page, screen) {
  await page.evaluate(AXE);
  const { violations, passes } = await page.evaluate(() => window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }));
  assert.ok(passes.length > 10, `${screen}: axe checked almost nothing (${passes.length} rules passed)`);
  const found = violations.map((v) => `${screen}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(found, [], found.join("\n"));
}

test("accessible: every screen passes axe, and text scaled to 200% still fits a phone", async () => {
  const cred = await newClient("ひかる");
  const { ctx, page, errors } = await phone();
  await page.goto(url + "/");
  await page.waitForSelector("#login-view:not([hidden])");
  await audit(page, "sign-in");
  await page.fill("#login-id", "wrong");
  await page.fill("#password", "wrong");
  // The browser logs the refused sign-in's 401 (when it pleases): wait for
  // that line, then forget it.
  const logged401 = page.waitForEvent("console", (m) => m.text().includes("401"));
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#login-error >> text=正しくありません");
  await audit(page, "sign-in error");
  await logged401;
  errors.length = 0;

  await signIn(page, cred);
  await page.fill("#text", "読み上げの確認");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending)");
  await api("PATCH", "/api/v1/org/settings", adminToken, { pause: { on: true } });
  try {
    await page.waitForSelector("#banner:not([hidden])");
    await audit(page, "chat, paused");
    // Screen-reader order: header, status, conversation, compose.
    const order = await page.evaluate(() => [...document.querySelectorAll("h1, #menu-toggle, #exit, #banner, #intro, #messages, #text, #send")]
      .filter((e) => !e.closest("[hidden]")).map((e) => e.id || e.tagName));
    assert.deepEqual(order, ["org-name", "menu-toggle", "exit", "banner", "intro", "messages", "text", "send"]);
    await inMenu(page);
    await page.click("#pin-toggle");
    await audit(page, "menu, PIN form open");
    await page.click("#menu-close");
  } finally {
    await api("PATCH", "/api/v1/org/settings", adminToken, { pause: { on: false } });
  }

  // The phone's "largest text" setting: nothing may spill sideways or hide.
  await page.evaluate(() => { document.documentElement.style.fontSize = "200%"; });
  const fit = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    send: document.getElementById("send").getBoundingClientRect().right <= window.innerWidth,
    exit: document.getElementById("exit").getBoundingClientRect().right <= window.innerWidth,
  }));
  assert.deepEqual(fit, { overflow: 0, send: true, exit: true });
  await page.screenshot({ path: join(SHOTS, "pwa-large-text.png") });

  await page.reload();
  await logoutVia(page);
  await page.waitForSelector("#login-view:not([hidden])");
  assert.deepEqual(errors, []);
  await ctx.close();
});

// What a first visit costs a phone: every byte over the wire (compressed),
// the service worker's precache included. The Firebase SDK must not be
// among them: it loads only when a client turns notices on.
test("first load stays small and carries no push SDK", async () => {
  const { ctx, page } = await phone();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = new Map();
  let bytes = 0;
  cdp.on("Network.responseReceived", (e) => urls.set(e.requestId, e.response.url));
  cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; });
  await page.goto(url + "/");
  await page.waitForSelector("#login-view:not([hidden])");
  await page.evaluate(async () => navigator.serviceWorker.ready);
  await page.waitForLoadState("networkidle");
  const loaded = [...urls.values()].map((u) => new URL(u).pathname);
  console.log(`first load: ${bytes} bytes over ${loaded.length} responses: ${loaded.join(" ")}`);
  assert.ok(loaded.includes("/app.js"), "nothing measured: the check could not fail");
  assert.equal(loaded.some((p) => p.includes("vendor/")), false);
  assert.ok(bytes < 64 * 1024, `first load ${bytes} bytes`);
  await ctx.close();
});

test("a phone signed out by an admin wipes itself and says so", async () => {
  const cred = await newClient("つばさ");
  const { ctx, page, errors } = await phone();
  await signIn(page, cred);
  await page.fill("#text", "なくした電話に残る言葉");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending)");
  // The welcome's snapshot was applied: the phone has confirmed once.
  let devices = [];
  for (let i = 0; i < 100 && !devices[0]?.wiped_at; i++) {
    devices = await api("GET", `/api/v1/accounts/${cred.account.id}/devices`, adminToken);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(devices.length, 1);
  assert.equal(devices[0].device, "phone");
  assert.ok(devices[0].active && devices[0].wiped_at, JSON.stringify(devices));

  await api("POST", `/api/v1/accounts/${cred.account.id}/logout`, adminToken);
  await page.waitForSelector("#login-view:not([hidden]) >> text=ログアウトしました");
  assert.equal(await page.locator("text=なくした電話に残る言葉").count(), 0);
  assert.equal((await page.evaluate(() => indexedDB.databases())).length, 0);
  for (let i = 0; i < 100; i++) {
    devices = await api("GET", `/api/v1/accounts/${cred.account.id}/devices`, adminToken);
    if (!devices[0].active && devices[0].wiped_at) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(devices[0].end_reason, "forced");
  assert.ok(new Date(devices[0].wiped_at) >= new Date(devices[0].ended_at), JSON.stringify(devices)); // as times: JSON trims trailing zeros
  assert.equal((await ctx.cookies()).some((c) => c.name === "taiwa_session"), false);
  assert.deepEqual(errors, []);
  await ctx.close();
});
