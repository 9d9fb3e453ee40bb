// What an independent review of the client app found, held by tests: one
// browser shared by two people or two organisations, messages past their
// deletion date, and quick exit from anywhere, keeping the words being
// written. And a seminar signing in at once, told "busy", that waits its
// turn by itself.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { setup, phone, signIn, counselor, BIN, shot } from "./helpers.mjs";

let env;
before(async () => { env = await setup(); });
after(async () => { await env?.close(); });

const synced = (page) => page.waitForFunction(() => document.getElementById("net").hidden && !document.getElementById("chat-view").hidden);
const messagesOf = async (cred) => {
  const conv = (await env.admin("GET", "/api/v1/conversations")).find((c) => c.client_id === cred.account.id);
  return (await env.admin("GET", `/api/v1/conversations/${conv.id}/messages?limit=500`)).messages.map((m) => m.body);
};

async function signInShared(page, cred) {
  await page.goto(env.url + "/");
  await page.fill("#login-id", cred.login_id);
  await page.fill("#password", cred.password);
  await page.check("#shared");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#chat-view:not([hidden])");
}

test("one browser, two people: the first one's words never show or go as the second's", async () => {
  const a = await env.newClient("あおい");
  const b = await env.newClient("べに");
  const { ctx, page: tabA } = await phone(env);
  await signInShared(tabA, a);
  await synced(tabA);
  await tabA.fill("#text", "あおいの最初の相談");
  await tabA.click("#send");
  await tabA.waitForSelector("li.msg.mine:not(.pending) >> text=あおいの最初の相談");
  // The next person signs in in another tab of the same browser; the
  // browser's cookie is now theirs.
  const tabB = await ctx.newPage();
  await signInShared(tabB, b);
  await synced(tabB);
  await tabB.fill("#text", "べにの相談");
  await tabB.click("#send");
  await tabB.waitForSelector("li.msg.mine:not(.pending) >> text=べにの相談");
  // The first tab writes while its link blips, then reconnects.
  await ctx.setOffline(true);
  await tabA.waitForSelector("#net:not([hidden])");
  await tabA.fill("#text", "あおいがオフラインで書いた言葉");
  await tabA.click("#send");
  await ctx.setOffline(false);
  await tabA.waitForLoadState();
  await synced(tabA);
  await tabA.waitForTimeout(1000); // what would be sent is sent by now
  assert.deepEqual((await messagesOf(b)).filter((m) => m.includes("あおい")), [], "the first person's words went into the second's conversation");
  assert.equal(await tabA.locator("text=あおいの最初の相談").count(), 0, "the first person's conversation still shows beside the second's");
  await shot(tabA, "pwa-two-people-one-browser.png");
  await ctx.close();
});

test("messages past their deletion date leave the phone, offline too", async () => {
  const cred = await env.newClient("ゆき");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  await page.fill("#text", "消えるはずの言葉");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=消えるはずの言葉");
  await page.close();
  // Eight days later, without a network: the page's own clock.
  const again = await ctx.newPage();
  await again.clock.install({ time: Date.now() + 8 * 24 * 3600 * 1000 });
  await ctx.setOffline(true);
  await again.goto(env.url + "/");
  await again.waitForSelector("#chat-view:not([hidden])");
  await again.waitForTimeout(300);
  assert.equal(await again.locator("text=消えるはずの言葉").count(), 0, "an expired message is shown");
  const stored = await again.evaluate(() => new Promise((resolve) => {
    const r = indexedDB.open("taiwa");
    r.onsuccess = () => {
      const g = r.result.transaction("messages").objectStore("messages").getAll();
      g.onsuccess = () => resolve(g.result.map((m) => m.body));
    };
  }));
  assert.deepEqual(stored.filter((b) => b === "消えるはずの言葉"), [], "an expired message is still on the device");
  await ctx.close();
});

test("one organisation's address never shows another's conversation", async () => {
  const out = execFileSync(BIN, ["org", "create", "--data", env.dir, "--name", "もう一つの窓口", "--admin", "kanri2"]).toString();
  const pw = /password: (\S+)/.exec(out)[1];
  const login = await (await fetch(env.url + "/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ login_id: "kanri2", password: pw }) })).json();
  const other = await (await fetch(env.url + "/api/v1/org", { headers: { Authorization: "Bearer " + login.token } })).json();
  const mine = await env.admin("GET", "/api/v1/org");
  const cred = await env.newClient("ひかり");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred, mine.app_path);
  await synced(page);
  await page.fill("#text", "一つ目の窓口への相談");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending) >> text=一つ目の窓口への相談");
  await page.goto(env.url + other.app_path);
  await page.waitForSelector("#login-view:not([hidden])");
  assert.match(await page.textContent("#login-notice"), /別の窓口/);
  assert.equal(await page.locator("text=一つ目の窓口への相談").count(), 0);
  await shot(page, "pwa-other-address.png");
  // Its own address still shows it.
  await page.goto(env.url + mine.app_path);
  await page.waitForSelector("li.msg.mine >> text=一つ目の窓口への相談");
  await ctx.close();
});

test("quick exit works with the menu open, and keeps the words just typed", async () => {
  const cred = await env.newClient("なぎ");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  // With the menu (and its backdrop) over the screen.
  await page.click("#menu-toggle");
  await page.waitForSelector("#menu:not([hidden])");
  await page.click("#exit");
  await page.waitForURL("about:blank");
  // Typed and gone at once: the draft is still there when the app opens.
  const again = await ctx.newPage();
  await again.goto(env.url + "/");
  await again.waitForSelector("#chat-view:not([hidden])");
  await again.fill("#text", "閉じる直前に書いた言葉");
  await again.click("#exit");
  await again.waitForURL("about:blank");
  const third = await ctx.newPage();
  await third.goto(env.url + "/");
  await third.waitForSelector("#chat-view:not([hidden])");
  assert.equal(await third.inputValue("#text"), "閉じる直前に書いた言葉");
  await ctx.close();
});

test("a seminar told 'busy' signs in by itself, keeping the slip's password", async () => {
  const cred = await env.newClient("ゼミ");
  const { ctx, page } = await phone(env);
  // The server answers as it does when another sign-in from the same
  // network is being checked: twice busy, then the real answer.
  let busy = 0;
  await page.route("**/api/v1/login", (r) => {
    if (busy++ < 2) {
      return r.fulfill({ status: 429, contentType: "application/json",
        body: JSON.stringify({ error: { code: "rate_limited", message: "too many sign-ins at once from this address", retry_after: 1 } }) });
    }
    return r.continue();
  });
  await page.goto(env.url + "/");
  await page.fill("#login-id", cred.login_id);
  await page.fill("#password", cred.password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#login-notice:not([hidden]) >> text=混み合っています");
  assert.equal(await page.inputValue("#password"), cred.password, "the password was cleared while waiting");
  assert.equal(await page.textContent("#login-error"), "", "waiting its turn shown as an error");
  await shot(page, "pwa-signin-queued.png");
  await synced(page);
  assert.equal(busy, 3);
  await ctx.close();

  // A wrong password is still cleared, and busy with no retry_after is
  // said, not waited out.
  const p2 = await phone(env);
  await p2.page.goto(env.url + "/");
  await p2.page.fill("#login-id", cred.login_id);
  await p2.page.fill("#password", "wrong-password");
  await p2.page.click("#login-form button[type=submit]");
  await p2.page.waitForSelector("#login-error >> text=正しくありません");
  assert.equal(await p2.page.inputValue("#password"), "");
  await p2.ctx.close();
});
