// Shared by the client app's browser tests and the figures script: a real
// server binary on loopback, an organisation, phones in Debian's Chromium,
// a counselor speaking the live protocol, and a long conversation.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import net from "node:net";
import { chromium } from "playwright-core";

export const BIN = resolve(process.env.TAIWA_BIN || "../../bin/taiwa");
export const SHOTS = resolve(process.env.TAIWA_SHOTS || "../../var/screenshots");

export function startServer(dir, addr, extra = []) {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(BIN, ["serve", "--data", dir, "--addr", addr, "--log-level", "warn", ...extra], { stdio: ["ignore", "pipe", "inherit"] });
    const timer = setTimeout(() => reject(new Error("server did not start")), 20000);
    p.stdout.on("data", (d) => {
      const m = /serving on (http:\/\/\S+)/.exec(String(d));
      if (m) { clearTimeout(timer); resolvePromise({ p, url: m[1] }); }
    });
    p.on("exit", (code) => reject(new Error("server exited " + code)));
  });
}

// setup creates an organisation, starts the server and a browser.
export async function setup() {
  const env = { dir: mkdtempSync(join(tmpdir(), "taiwa-e2e-")) };
  const out = execFileSync(BIN, ["org", "create", "--data", env.dir, "--name", "こころ相談室", "--admin", "kanri"]).toString();
  const pw = /password: (\S+)/.exec(out)[1];
  ({ p: env.server, url: env.url } = await startServer(env.dir, "127.0.0.1:0"));
  env.api = async (method, path, token, body) => {
    const r = await fetch(env.url + path, {
      method, headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const login = await (await fetch(env.url + "/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ login_id: "kanri", password: pw }) })).json();
  env.adminToken = login.token;
  env.admin = (method, path, body) => env.api(method, path, env.adminToken, body);
  env.newClient = (nickname) => env.admin("POST", "/api/v1/clients", { nickname });
  env.counselorCred = await env.admin("POST", "/api/v1/staff", { nickname: "田中 花子", role: "counselor" });
  env.browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  env.close = async () => {
    await env.browser?.close();
    env.server?.kill();
    rmSync(env.dir, { recursive: true, force: true });
  };
  return env;
}

// A phone: 390×844, Japanese, touch.
export async function phone(env, opts = {}) {
  const ctx = await env.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: "ja-JP", hasTouch: true, ...opts });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  return { ctx, page, errors };
}

export async function signIn(env, page, cred, path = "/") {
  await page.goto(env.url + path);
  await page.fill("#login-id", cred.login_id);
  await page.fill("#password", cred.password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#chat-view:not([hidden])");
}

// A live connection from a page of its own with a session cookie: the
// counselor, or the client's second device when seeding a conversation. A
// counselor is sent a client's messages only once the conversation is
// theirs: take() it from the pool first (or answer: a reply takes it).
export async function liveAs(env, loginId, password) {
  const ctx = await env.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(env.url + "/healthz");
  await page.evaluate(async ({ id, pw }) => {
    const r = await fetch("/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ login_id: id, password: pw, cookie: true }) });
    if (!r.ok) throw new Error("login " + r.status);
    window.frames_ = [];
    window.acks_ = new Map();
    await new Promise((res) => {
      const ws = new WebSocket("ws://" + location.host + "/api/v1/live");
      window.ws_ = ws;
      ws.onopen = () => ws.send(JSON.stringify({ type: "hello", v: 1, cursor: 0 }));
      ws.onmessage = (e) => {
        const f = JSON.parse(e.data);
        f.at_ = Date.now(); // when it arrived, for rate checks
        window.frames_.push(f);
        if (f.type === "ack" || (f.type === "error" && f.ref)) window.acks_.get(f.ref)?.(f);
        if (f.type === "synced") res();
      };
    });
    // take_ waits until a client's conversation waits in the pool (in the
    // welcome or a conversation frame) and takes it (担当する): a counselor
    // reads a client's words only once the conversation is theirs.
    window.take_ = async (clientId) => {
      for (let i = 0; i < 200; i++) {
        const latest = new Map();
        for (const f of window.frames_) {
          if (f.type === "welcome") for (const c of f.conversations) latest.set(c.id, c);
          if (f.type === "conversation") latest.set(f.conversation.id, f.conversation);
        }
        const c = [...latest.values()].find((c) => c.client_id === clientId && c.pool_since && !c.assignee_id);
        if (c) {
          const r = await fetch(`/api/v1/conversations/${c.id}/claim`, { method: "POST" });
          if (!r.ok) throw new Error("claim " + r.status);
          return c.id;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error("no conversation of client " + clientId + " in the pool");
    };
    // sendAll sends bodies one after another, each after the last's ack.
    window.sendAll_ = async (conv, bodies) => {
      for (const body of bodies) {
        const ref = "r" + Math.random().toString(16).slice(2);
        await new Promise((res) => {
          window.acks_.set(ref, res);
          window.ws_.send(JSON.stringify({ type: "send", ref, conversation_id: conv || undefined, body }));
        });
      }
    };
  }, { id: loginId, pw: password });
  return {
    ctx, page,
    waitMessage: (body) => page.waitForFunction((b) => window.frames_.some((f) => f.type === "message" && f.message.body === b), body),
    send: (conv, bodies) => page.evaluate(({ conv, bodies }) => window.sendAll_(conv, bodies), { conv, bodies }),
    reply: (conv, body) => page.evaluate(({ conv, body }) => window.sendAll_(conv, [body]), { conv, body }),
    typing: (conv) => page.evaluate((conv) => window.ws_.send(JSON.stringify({ type: "typing", conversation_id: conv })), conv),
    frames: () => page.evaluate(() => window.frames_),
    // take takes a client's conversation from the pool and returns its ID.
    take: (cred) => page.evaluate((id) => window.take_(id), cred.account.id),
    conversationOf: (body) => page.evaluate((b) => window.frames_.find((f) => f.type === "message" && f.message.body === b).message.conversation_id, body),
  };
}

export const counselor = (env) => liveAs(env, env.counselorCred.login_id, env.counselorCred.password);

// seedConversation writes n messages between a client and the counselor
// (the client first, then turns), some long, as a real exchange does.
export async function seedConversation(env, cred, n) {
  const client = await liveAs(env, cred.login_id, cred.password);
  const co = await counselor(env);
  await client.send(0, ["はじめまして。相談したいことがあります。"]);
  const conv = (await client.frames()).find((f) => f.type === "ack").message.conversation_id;
  for (let i = 1; i < n; i += 10) {
    const batch = (who) => Array.from({ length: 5 }, (_, k) => {
      const j = i + k;
      return who === "c" ? `相談者のメッセージ ${j}` + (j % 7 === 0 ? "\n長めの文章です。".repeat(4) : "")
        : `担当者の返事 ${j}` + (j % 9 === 0 ? "\nゆっくりで大丈夫です。".repeat(3) : "");
    });
    await co.send(conv, batch("s"));
    await client.send(0, batch("c"));
  }
  await client.ctx.close();
  return { conv, co };
}

export function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  return page.screenshot({ path: join(SHOTS, name) });
}

// A TCP relay between the browser and the server that can be frozen: the
// sockets stay open and nothing passes, as on a phone whose network went.
export function freezableProxy(target) {
  const t = new URL(target);
  const pairs = new Set();
  let frozen = false;
  const server = net.createServer((a) => {
    const b = net.connect(Number(t.port), t.hostname);
    const pair = { a, b };
    pairs.add(pair);
    const pipe = (from, to) => from.on("data", (d) => { if (!frozen) to.write(d); });
    pipe(a, b);
    pipe(b, a);
    const end = () => { pairs.delete(pair); a.destroy(); b.destroy(); };
    a.on("close", end).on("error", end);
    b.on("close", end).on("error", end);
  });
  return new Promise((res) => server.listen(0, "127.0.0.1", () => res({
    url: `http://127.0.0.1:${server.address().port}`,
    freeze() { frozen = true; },
    thaw() { frozen = false; for (const p of pairs) { p.a.destroy(); p.b.destroy(); } },
    openSockets: () => pairs.size,
    close() { for (const p of pairs) { p.a.destroy(); p.b.destroy(); } server.close(); },
  })));
}
