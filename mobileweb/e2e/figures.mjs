// Figures for the client app (issue 10), printed, never asserted: a
// phone at 390×844 in Debian's Chromium against the real server binary.
//
//   cd mobileweb/e2e && TAIWA_BIN=../../bin/taiwa node figures.mjs
//
// - first visit and reopening on Slow 4G (DevTools' preset: 562.5 ms
//   latency, 1.44 Mbit/s down, 675 kbit/s up): bytes and requests over
//   the wire (counted by a relay between browser and server, so the
//   service worker's downloads count too) and the time until usable;
// - the time from a server crash to the offline notice, and from its
//   restart to the app being back (synced);
// - the time until a stalled link (a relay that stops passing anything,
//   sockets left open) is noticed, and back after it flows again.
import net from "node:net";
import { setup, phone, signIn, seedConversation, startServer } from "./helpers.mjs";

const SLOW_4G = { offline: false, latency: 562.5, downloadThroughput: 1.44e6 / 8, uploadThroughput: 675e3 / 8 };
const TRIALS = Number(process.env.TRIALS || 3);

// countingRelay passes TCP through and counts bytes to the browser and
// HTTP requests from it; freeze() stops everything without closing.
function countingRelay(target) {
  const t = new URL(target);
  const pairs = new Set();
  const c = { down: 0, up: 0, requests: 0, frozen: false };
  const server = net.createServer((a) => {
    const b = net.connect(Number(t.port), t.hostname);
    const pair = { a, b };
    pairs.add(pair);
    a.on("data", (d) => {
      if (c.frozen) return;
      c.up += d.length;
      const reqs = d.toString("latin1").match(/^(GET|POST|PUT|PATCH|DELETE|HEAD) \S+ HTTP\/1\.1\r$/gm) || [];
      if (process.env.DEBUG_RELAY) for (const r of reqs) console.log("  >", r.trim());
      c.requests += reqs.length;
      b.write(d);
    });
    b.on("data", (d) => {
      if (c.frozen) return;
      c.down += d.length;
      if (process.env.DEBUG_RELAY) console.log("  <", d.length, JSON.stringify(d.toString("latin1").slice(0, 60)));
      a.write(d);
    });
    const end = () => { pairs.delete(pair); a.destroy(); b.destroy(); };
    a.on("close", end).on("error", end);
    b.on("close", end).on("error", end);
  });
  return new Promise((res) => server.listen(0, "127.0.0.1", () => res(Object.assign(c, {
    url: `http://127.0.0.1:${server.address().port}`,
    reset() { c.down = c.up = c.requests = 0; },
    freeze() { c.frozen = true; },
    thaw() { c.frozen = false; for (const p of pairs) { p.a.destroy(); p.b.destroy(); } },
    close() { for (const p of pairs) { p.a.destroy(); p.b.destroy(); } server.close(); },
  }))));
}

const kb = (n) => (n / 1024).toFixed(1) + " KiB";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const visible = (page, sel, timeout = 60000) => page.waitForSelector(sel, { timeout });
const usableChat = (page) => page.waitForFunction(() => !document.getElementById("chat-view").hidden
  && document.querySelectorAll("#messages li.msg").length > 0, null, { timeout: 60000 });
const syncedNow = (page) => page.waitForFunction(() => document.getElementById("net").hidden && !document.getElementById("chat-view").hidden, null, { timeout: 120000, polling: 50 });

async function throttled(ctx, page) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", SLOW_4G);
  return cdp;
}

const env = await setup();
const lines = [];
const say = (s) => { lines.push(s); console.log(s); };
try {
  const relay = await countingRelay(env.url);
  const viaRelay = { ...env, url: relay.url };
  const cred = await env.newClient("はかる");
  await seedConversation(env, cred, 320);

  say("## Slow 4G (562.5 ms, 1.44 Mbit/s down, 675 kbit/s up), phone 390×844, conversation of 321 messages");
  const first = [], reopen = [];
  for (let i = 0; i < TRIALS; i++) {
    const { ctx, page } = await phone(env);
    await throttled(ctx, page);
    relay.reset();
    let t0 = Date.now();
    await page.goto(relay.url + "/");
    await visible(page, "#login-view:not([hidden])");
    const usable = Date.now() - t0;
    await page.evaluate(async () => navigator.serviceWorker.ready);
    await page.waitForLoadState("networkidle");
    first.push({ usable, bytes: relay.down, requests: relay.requests });

    await signIn(viaRelay, page, cred);
    await syncedNow(page);
    await page.waitForFunction(() => navigator.serviceWorker.controller);
    await page.close();
    const again = await ctx.newPage();
    await throttled(ctx, again);
    relay.reset();
    t0 = Date.now();
    await again.goto(relay.url + "/");
    await usableChat(again);
    const shown = Date.now() - t0;
    await syncedNow(again);
    const live = Date.now() - t0;
    await again.waitForTimeout(1500); // the worker's update check and the receipts settle
    reopen.push({ shown, live, bytes: relay.down, requests: relay.requests });
    await ctx.close();
  }
  for (const [i, f] of first.entries()) say(`first visit #${i + 1}: sign-in form usable after ${f.usable} ms; ${kb(f.bytes)} down in ${f.requests} requests (page, modules, icons, the service worker and its precache)`);
  for (const [i, r] of reopen.entries()) say(`reopen #${i + 1}: conversation on screen after ${r.shown} ms, live (synced) after ${r.live} ms; ${kb(r.bytes)} down in ${r.requests} requests (sw.js check, the live connection's replay)`);
  say(`median: first visit usable ${median(first.map((f) => f.usable))} ms, ${kb(median(first.map((f) => f.bytes)))}; reopen on screen ${median(reopen.map((r) => r.shown))} ms, live ${median(reopen.map((r) => r.live))} ms, ${kb(median(reopen.map((r) => r.bytes)))}`);

  say("\n## Server crash (SIGKILL) and restart, loopback, no throttling");
  const port = new URL(env.url).port;
  const crash = [];
  for (let i = 0; i < TRIALS; i++) {
    const { ctx, page } = await phone(env);
    await signIn(env, page, cred);
    await syncedNow(page);
    let t0 = Date.now();
    env.server.kill("SIGKILL");
    await new Promise((r) => env.server.once("exit", r));
    await visible(page, "#net:not([hidden]) >> text=オフライン");
    const notice = Date.now() - t0;
    await page.waitForTimeout(3000); // down for 3 s
    ({ p: env.server } = await startServer(env.dir, "127.0.0.1:" + port));
    t0 = Date.now();
    await syncedNow(page);
    crash.push({ notice, back: Date.now() - t0 });
    await ctx.close();
  }
  for (const [i, c] of crash.entries()) say(`crash #${i + 1}: offline notice after ${c.notice} ms; back (synced) ${c.back} ms after the restarted server listened (down 3 s)`);

  say("\n## Stalled link (the relay stops passing bytes, sockets stay open)");
  const stall = [];
  for (let i = 0; i < TRIALS; i++) {
    const { ctx, page } = await phone(env);
    await signIn(viaRelay, page, cred);
    await syncedNow(page);
    await page.waitForTimeout(1000 + i * 1300); // stall at different points of the ping cycle
    let t0 = Date.now();
    relay.freeze();
    await visible(page, "#net:not([hidden]) >> text=オフライン");
    const noticed = Date.now() - t0;
    relay.thaw();
    t0 = Date.now();
    await syncedNow(page);
    stall.push({ noticed, back: Date.now() - t0 });
    await ctx.close();
  }
  for (const [i, s] of stall.entries()) say(`stall #${i + 1}: noticed after ${s.noticed} ms; back (synced) ${s.back} ms after the link flowed again`);
  say(`median: stall noticed ${median(stall.map((s) => s.noticed))} ms (bound: 2 × 4 s heartbeat = 8 s)`);
  relay.close();
} finally {
  await env.close();
}
