// Announcements (お知らせ, issue 16) as a client meets them: a banner
// under the header that arrives live, closes with one tap and stays
// closed on this device, and is shown only to the groups it was sent to.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, phone, signIn, seedConversation, shot } from "./helpers.mjs";

let env;
before(async () => { env = await setup(); });
after(async () => { await env?.close(); });

const synced = (page) => page.waitForFunction(() => document.getElementById("net").hidden && !document.getElementById("chat-view").hidden);

test("an announcement to a group shows as a closable banner to its clients only, live, and stays closed", async () => {
  const group = await env.admin("POST", "/api/v1/groups", { name: "みどり商事" });
  const inGroup = await env.admin("POST", "/api/v1/clients", { nickname: "あおい", group_id: group.id });
  const outside = await env.admin("POST", "/api/v1/clients", { nickname: "そら" });
  await seedConversation(env, inGroup, 40);

  const a = await phone(env);
  await signIn(env, a.page, inGroup);
  await synced(a.page);
  const b = await phone(env);
  await signIn(env, b.page, outside);
  await synced(b.page);
  assert.ok(await a.page.isHidden("#news"), "a banner before any announcement");

  const text = "年末年始のお知らせ：12月29日から1月3日まで休業します。\n休業中に届いたメッセージには1月4日以降に返信します。";
  const sent = await env.admin("POST", "/api/v1/announcements", { body: text, group_ids: [group.id] });
  // Arrives while the app is open (a news frame, then the listing).
  await a.page.waitForSelector("#news:not([hidden])");
  assert.equal(await a.page.textContent("#news-text"), text);
  const header = await a.page.locator("header").boundingBox();
  const banner = await a.page.locator("#news").boundingBox();
  assert.ok(Math.abs(banner.y - (header.y + header.height)) < 1, `banner at ${banner.y}, header ends at ${header.y + header.height}`);
  const close = await a.page.locator("#news-close").boundingBox();
  assert.ok(close.width >= 44 && close.height >= 44, `close button ${close.width}×${close.height} is too small to tap`);
  await shot(a.page, "pwa-news.png");

  // The other group's client: nothing, now or after asking again.
  await b.page.reload();
  await synced(b.page);
  assert.ok(await b.page.isHidden("#news"), "a client of another group sees the announcement");

  await a.page.tap("#news-close");
  assert.ok(await a.page.isHidden("#news"));
  // Reopened: the listing still has it, the device remembers it closed.
  const listed = a.page.waitForResponse((r) => r.url().endsWith("/api/v1/announcements"));
  await a.page.reload();
  await synced(a.page);
  assert.equal((await (await listed).json()).length, 1);
  await a.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  assert.ok(await a.page.isHidden("#news"), "a closed announcement came back after reopening");

  // A second one, to everyone: both see it; the first stays closed.
  await env.admin("POST", "/api/v1/announcements", { body: "受付時間が平日10時〜18時に変わります。" });
  await a.page.waitForSelector("#news:not([hidden])");
  await b.page.waitForSelector("#news:not([hidden])");
  assert.match(await a.page.textContent("#news-text"), /受付時間/);
  // Deleted by the admin: gone at the next look.
  await env.admin("DELETE", `/api/v1/announcements/${sent.id}`);
  const left = await env.api("GET", "/api/v1/announcements", (await env.api("POST", "/api/v1/login", "", { login_id: inGroup.login_id, password: inGroup.password })).token);
  assert.equal(left.length, 1);
  await a.ctx.close();
  await b.ctx.close();
});
