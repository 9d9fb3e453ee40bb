// Taiwa client app: sign in, one conversation with the organisation, live
// over the WebSocket protocol (docs/protocol.md). No framework, no third
// party at run time; text goes into the page only as textContent.
import { t, applyStatic, when } from "./i18n.js";
import { openStore, wipeStore } from "./store.js";
import * as push from "./push.js";

const $ = (id) => document.getElementById(id);
const SHARED = "taiwa.shared";
// SIGNED_IN says only that this device has a session worth checking, so a
// first visit makes no request that is bound to fail.
const SIGNED_IN = "taiwa.signedIn";
// NOTICE carries the sign-in screen's message across the reload that
// finishes a wipe.
const NOTICE = "taiwa.notice";

const state = {
  me: null, org: null, conv: null,
  messages: new Map(), // id → message
  outbox: [],          // [{ref, body, error?}] in order written
  cursor: 0, ws: null, synced: false, backoff: 500, stopped: true, store: null,
  pushToken: null,     // this device's push token while notices are on
};

function newRef() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function show(view) {
  $("login-view").hidden = view !== "login";
  $("lock-view").hidden = view !== "lock";
  $("chat-view").hidden = view !== "chat";
}

// --- PIN lock -------------------------------------------------------------
// A PIN keeps onlookers out of the app on this device. Only a PBKDF2 hash
// is stored; five wrong PINs erase the device's copy and sign out.

const PIN_TRIES = 5;

async function pinHash(pin, salt, iterations) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return Array.from(new Uint8Array(bits), (x) => x.toString(16).padStart(2, "0")).join("");
}

async function setPin(pin) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iterations = 200000;
  await state.store.putMeta("pin", { salt, iterations, hash: await pinHash(pin, salt, iterations), failures: 0 });
}

// unlock shows the lock screen until the right PIN is entered. It resolves
// true when unlocked, false when the device was wiped instead.
function unlock(pin) {
  show("lock");
  $("pin").value = "";
  $("lock-error").textContent = "";
  $("pin").focus();
  return new Promise((resolve) => {
    $("lock-form").onsubmit = async (ev) => {
      ev.preventDefault();
      const entered = $("pin").value;
      $("pin").value = "";
      if (await pinHash(entered, pin.salt, pin.iterations) === pin.hash) {
        pin.failures = 0;
        await state.store.putMeta("pin", pin);
        resolve(true);
        return;
      }
      pin.failures = (pin.failures || 0) + 1;
      await state.store.putMeta("pin", pin);
      if (pin.failures >= PIN_TRIES) {
        leave();
        try { await fetch("/api/v1/logout", { method: "POST" }); } catch { /* wipe regardless */ }
        await end(t("ended"));
        resolve(false);
        return;
      }
      $("lock-error").textContent = t("pinWrong", { left: PIN_TRIES - pin.failures });
    };
  });
}

function showLogin(message = "") {
  show("login");
  $("banner").hidden = true;
  $("net").hidden = true;
  $("login-error").textContent = message;
  $("password").value = "";
}

// The header names the organisation, unless it chose a neutral app name
// for phones that others may see: then that name, before and after sign-in.
const NEUTRAL = document.querySelector('meta[name="application-name"]')?.content;

function renderOrgName() {
  const s = state.org?.settings;
  $("org-name").textContent = s?.app_name || NEUTRAL || s?.display_name || t("appName");
}

// --- availability -----------------------------------------------------

function renderBanner() {
  const a = state.org?.availability;
  const el = $("banner");
  if (!a || a.state === "open") { el.hidden = true; return; }
  const at = a.reopens_at ? when(a.reopens_at) : "";
  const key = a.state === "paused" ? (at ? "paused" : "pausedNoTime") : (at ? "closed" : "closedNoTime");
  el.textContent = t(key, { at });
  el.hidden = false;
}

function renderNet(kind) {
  const el = $("net");
  if (!kind) { el.hidden = true; return; }
  el.textContent = t(kind);
  el.hidden = false;
}

// --- messages ---------------------------------------------------------

function statusOf(m) {
  const c = state.conv;
  if (c && c.staff_read_seq >= m.seq) return t("read");
  if (c && c.staff_delivered_seq >= m.seq) return t("delivered");
  return t("sent");
}

function render() {
  const list = $("messages");
  const items = [];
  const sorted = [...state.messages.values()].sort((a, b) => a.seq - b.seq);
  for (const m of sorted) {
    const li = document.createElement("li");
    if (m.kind === "closed_notice") {
      li.className = "msg notice";
      li.textContent = m.reopens_at ? t("notice", { at: when(m.reopens_at) }) : t("noticeNoTime");
    } else {
      const mine = m.sender_role === "client";
      li.className = mine ? "msg mine" : "msg";
      li.append(document.createTextNode(m.body));
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = when(m.created_at) + (mine ? " · " + statusOf(m) : "");
      li.append(meta);
    }
    items.push(li);
  }
  for (const p of state.outbox) {
    const li = document.createElement("li");
    li.className = "msg mine pending";
    li.append(document.createTextNode(p.body));
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = p.error ? p.error : (state.synced ? t("sending") : t("waiting"));
    li.append(meta);
    items.push(li);
  }
  list.replaceChildren(...items);
  $("empty").hidden = items.length > 0;
  list.lastElementChild?.scrollIntoView({ block: "end" });
  sendReceipt();
}

function sendReceipt() {
  const c = state.conv;
  if (!c || !state.synced || document.visibilityState !== "visible") return;
  const last = Math.max(0, ...[...state.messages.values()].map((m) => m.seq));
  if (last > c.client_read_seq) send({ type: "receipt", delivered_seq: last, read_seq: last });
}

async function putMessage(m) {
  state.messages.set(m.id, m);
  state.cursor = Math.max(state.cursor, m.id);
  await state.store?.putMessage(m, state.cursor);
}

async function dropBelow(seq) {
  for (const [id, m] of state.messages) if (m.seq < seq) state.messages.delete(id);
  await state.store?.dropBelow(seq);
}

// --- live connection -------------------------------------------------

function send(frame) {
  if (state.ws?.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

function connect() {
  if (state.stopped) return;
  renderNet("connecting");
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/live");
  state.ws = ws;
  state.synced = false;
  ws.onopen = () => ws.send(JSON.stringify({ type: "hello", v: 1, cursor: state.cursor }));
  ws.onmessage = (ev) => {
    if (state.ws !== ws) return; // a connection this page has left
    handle(JSON.parse(ev.data)).catch((e) => console.error(e));
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    state.synced = false;
    if (ev.code === 4001) { end(t("ended"), true); return; }
    if (state.stopped) return;
    renderNet("offline");
    render();
    const wait = state.backoff / 2 + Math.random() * state.backoff / 2;
    state.backoff = Math.min(state.backoff * 2, 30000);
    setTimeout(connect, wait);
  };
}

async function handle(f) {
  switch (f.type) {
    case "welcome":
      state.me = f.account;
      state.org = f.org;
      state.conv = f.conversations[0] || null;
      renderOrgName();
      renderBanner();
      if (state.conv) await dropBelow(state.conv.first_seq);
      else { state.messages.clear(); await state.store?.clearMessages(); }
      // The snapshot's deletions are applied: confirm them (a receipt).
      send({ type: "wiped", at: f.server_time });
      break;
    case "message":
      await putMessage(f.message);
      break;
    case "synced":
      state.synced = true;
      state.backoff = 500;
      renderNet(null);
      for (const p of state.outbox) if (!p.error) send({ type: "send", ref: p.ref, body: p.body });
      break;
    case "ack":
      state.outbox = state.outbox.filter((p) => p.ref !== f.ref);
      await state.store?.removePending(f.ref);
      await putMessage(f.message);
      break;
    case "error": {
      const p = state.outbox.find((x) => x.ref === f.ref);
      if (p && f.error.code !== "internal" && f.error.code !== "unavailable") {
        p.error = f.error.code === "closed" ? t("blocked") : f.error.message;
        await state.store?.removePending(p.ref);
      }
      break;
    }
    case "conversation":
      state.conv = f.conversation;
      break;
    case "deleted":
      for (const [id, m] of state.messages) if (m.seq <= f.through_seq) state.messages.delete(id);
      await state.store?.dropBelow(f.through_seq + 1);
      send({ type: "wiped", at: f.at });
      break;
    case "settings":
      state.org = f.org;
      renderOrgName();
      renderBanner();
      break;
    case "conversation_deleted":
    case "revoked":
      await end(t("ended"), true);
      return;
  }
  render();
}

// --- push notices ----------------------------------------------------
// Offered where the server and the browser can deliver them and the device
// keeps data (a shared device keeps nothing, so it is never told anything).

function renderPush(note) {
  $("push-toggle").textContent = t(state.pushToken ? "pushOff" : "pushOn");
  $("push-status").textContent = note ? t(note) : "";
  $("push-status").hidden = !note;
}

async function setupPush() {
  $("push-toggle").hidden = true;
  if (!state.store || !(await push.available()) || state.stopped) return;
  const saved = await state.store.getMeta("push");
  if (saved?.token && Notification.permission === "granted") {
    state.pushToken = saved.token;
    push.refresh(saved.token);
  } else if (saved?.token) {
    // Permission withdrawn in the browser's settings: notices are off.
    await push.turnOff(saved.token).catch(() => {});
    await state.store.putMeta("push", null);
  }
  renderPush();
  $("push-toggle").hidden = false;
}

// togglePush runs as the click itself: the permission question is allowed
// only there, so nothing may be awaited before push.turnOn asks it.
function togglePush() {
  const btn = $("push-toggle");
  btn.disabled = true;
  const work = state.pushToken
    ? push.turnOff(state.pushToken).then(() => { state.pushToken = null; return "pushStopped"; })
    : push.turnOn().then((token) => { state.pushToken = token; return "pushStarted"; });
  work.then(async (note) => {
    await state.store?.putMeta("push", state.pushToken ? { token: state.pushToken } : null);
    renderPush(note);
  }, (e) => {
    console.warn("push:", e);
    renderPush(e.message === "denied" ? "pushDenied" : "pushFailed");
  }).finally(() => { btn.disabled = false; });
}

// --- session -----------------------------------------------------------

async function start() {
  state.stopped = false;
  const shared = sessionStorage.getItem(SHARED) === "1";
  state.store = shared ? null : await openStore();
  if (state.store) {
    const pin = await state.store.getMeta("pin");
    if (pin && !(await unlock(pin))) return;
    const saved = await state.store.load();
    for (const m of saved.messages) state.messages.set(m.id, m);
    state.cursor = saved.cursor;
    state.outbox = saved.outbox;
    $("pin-toggle").textContent = t(pin ? "pinChange" : "pinSet");
  }
  $("pin-toggle").hidden = !state.store; // a shared device keeps nothing, not even a PIN
  show("chat");
  render();
  connect();
  setupPush().catch((e) => console.warn("push:", e));
}

// end wipes everything this device holds and returns to sign-in. When
// the server ended the session, the wipe is confirmed to it (a receipt
// admins see), with the ended session's cookie, which that clears.
// then, if given, runs once the device is wiped (before any reload).
async function end(message, confirm = false, then = null) {
  state.stopped = true;
  const ws = state.ws;
  state.ws = null;
  ws?.close();
  state.messages.clear();
  state.outbox = [];
  state.cursor = 0;
  state.conv = state.me = state.org = null;
  renderOrgName();
  state.store = null;
  const pushToken = state.pushToken;
  state.pushToken = null;
  $("push-toggle").hidden = true;
  $("push-status").hidden = true;
  await push.forget(pushToken).catch(() => {});
  $("messages").replaceChildren();
  $("text").value = "";
  sessionStorage.clear();
  localStorage.removeItem(SIGNED_IN);
  const blocked = await wipeStore();
  if (confirm) await fetch("/api/v1/wiped", { method: "POST" }).catch(() => {});
  if (then) await then();
  if (blocked) {
    // A database is still held open in this page; a reload lets go of it,
    // and the signed-out start finishes the wipe.
    sessionStorage.setItem(NOTICE, message);
    location.reload();
    return;
  }
  showLogin(message);
}

async function login(ev) {
  ev.preventDefault();
  const shared = $("shared").checked;
  const btn = ev.submitter;
  if (btn) btn.disabled = true;
  try {
    const r = await fetch("/api/v1/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ login_id: $("login-id").value, password: $("password").value, cookie: true, shared, device: "phone" }),
    });
    if (!r.ok) {
      const code = (await r.json().catch(() => ({}))).error?.code;
      $("login-error").textContent = t(code === "locked" || code === "rate_limited" ? "tooMany" : code === "forbidden" ? "expired" : "badLogin");
      $("password").value = "";
      return;
    }
    const body = await r.json();
    if (body.account.role !== "client") {
      await fetch("/api/v1/logout", { method: "POST" });
      $("login-error").textContent = t("badLogin");
      return;
    }
    if (shared) sessionStorage.setItem(SHARED, "1");
    (shared ? sessionStorage : localStorage).setItem(SIGNED_IN, "1");
    $("login-id").value = "";
    $("password").value = "";
    await start();
  } catch {
    $("login-error").textContent = t("network");
  } finally {
    if (btn) btn.disabled = false;
  }
}

// leave disconnects first: the server's goodbye to a session this device
// ends itself is not news (and must not start a second wipe).
function leave() {
  state.stopped = true;
  const ws = state.ws;
  state.ws = null;
  ws?.close();
}

// logout wipes the device first, then signs out saying so (a receipt the
// admin sees); if the network fails, the device is wiped all the same.
async function logout() {
  leave();
  await end(t("ended"), false, () => fetch("/api/v1/logout?wiped=1", { method: "POST" }).catch(() => {}));
}

async function submit(ev) {
  ev?.preventDefault();
  const body = $("text").value;
  if (!body.trim()) return;
  const p = { ref: newRef(), body };
  state.outbox.push(p);
  await state.store?.addPending(p);
  $("text").value = "";
  render();
  if (state.synced) send({ type: "send", ref: p.ref, body: p.body });
}

// Quick exit: blank the page and leave for a neutral one; Back does not
// return here (replace), and nothing readable stays on screen.
function quickExit() {
  document.body.replaceChildren();
  location.replace("about:blank");
}

async function boot() {
  applyStatic();
  renderOrgName();
  $("exit").addEventListener("click", quickExit);
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("compose").addEventListener("submit", submit);
  // Enter is a newline (input methods confirm with it); Ctrl/Cmd+Enter sends.
  $("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) { e.preventDefault(); submit(); }
  });
  document.addEventListener("visibilitychange", sendReceipt);
  $("push-toggle").addEventListener("click", togglePush);
  $("pin-toggle").addEventListener("click", () => { $("pin-form").hidden = !$("pin-form").hidden; });
  $("pin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const pin = $("new-pin").value;
    $("new-pin").value = "";
    if (!/^[0-9]{4,8}$/.test(pin)) return; // the form's pattern already says why
    await setPin(pin);
    $("pin-form").hidden = true;
    $("pin-toggle").textContent = t("pinChange");
  });
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
  const known = localStorage.getItem(SIGNED_IN) || sessionStorage.getItem(SIGNED_IN);
  const me = known ? await fetch("/api/v1/me").catch(() => null) : null;
  if (me?.ok && (await me.json()).role === "client") await start();
  else {
    localStorage.removeItem(SIGNED_IN);
    // Signed out means nothing of a session stays: finish any wipe that
    // was interrupted (a closed tab, a reload).
    await wipeStore();
    const notice = sessionStorage.getItem(NOTICE) || "";
    sessionStorage.removeItem(NOTICE);
    showLogin(notice);
  }
}

boot();
