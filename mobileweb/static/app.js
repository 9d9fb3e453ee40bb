// Taiwa client app: sign in, one conversation with the organisation, live
// over the WebSocket protocol (docs/protocol.md). No framework, no third
// party at run time; text goes into the page only as textContent.
//
// Two promises shape this file. Words are never lost: what is written
// stays on the device (outbox, draft) until the server has it, and only
// the server's explicit end of the session wipes the device; a network
// error or a server error keeps everything and retries. The thread stays
// in view: see view.js.
import { t, applyStatic, when, wait, lang } from "./i18n.js";
import { openStore, wipeStore } from "./store.js";
import * as push from "./push.js";
import { cleanBody, charCount, MAX_CHARS, normalizeLoginId, normalizePassword } from "./text.js";
import { createThread, failText } from "./view.js";
import { askPin, newPin, validPin, PIN_TRIES, DEFAULT_LOCK_AFTER } from "./lock.js";
import { findPII } from "./pii.js";
import * as attach from "./attach.js";

const $ = (id) => document.getElementById(id);
const SHARED = "taiwa.shared";
// SIGNED_IN says this device has a session. Only the server's explicit end
// of it (a 401, a revoked frame, close code 4001) removes it.
const SIGNED_IN = "taiwa.signedIn";
// NOTICE carries the sign-in screen's message across the reload that
// finishes a wipe.
const NOTICE = "taiwa.notice";
// The heartbeat (docs/protocol.md): a ping every PING_EVERY; a ping with
// no frame back within PING_EVERY means the link is dead.
const PING_EVERY = 4000;
const TYPING_EVERY = 3000; // how often this app says its person is typing
const TYPING_SHOWN = 6000; // how long the counselor's typing shows
const SIGN_IN_PATIENCE = 60000; // how long a sign-in waits its turn when the server is busy

const state = {
  me: null, org: null, conv: null,
  messages: new Map(), // id → message
  outbox: [],          // [{ref, body, at, error?}] in order written
  cursor: 0, ws: null, synced: false, backoff: 500, stopped: true, store: null,
  retryTimer: null, beat: null, lastFrame: 0, pingedAt: 0,
  heldUntil: 0, holdTimer: null, // a "not now" from the server: see hold
  pushToken: null,     // this device's push token while notices are on
  pin: null, locked: false, hiddenAt: 0,
  typingSent: 0, typingTimer: null,
  initialised: false,
  frames: Promise.resolve(), // frames are handled one after another
  unsaved: [],               // messages not yet written to the device
  nominees: [],              // staff the client may nominate (指名), as the server listed them
  nominating: false,
  news: [],                  // announcements shown to this client now (issue 16)
  dismissed: new Set(),      // their IDs this device has closed
};
let thread;

function newRef() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function show(view) {
  $("login-view").hidden = view !== "login";
  $("lock-view").hidden = view !== "lock";
  $("chat-view").hidden = view !== "chat";
  $("menu-toggle").hidden = view !== "chat";
  if (view !== "chat") closeMenu();
}

// --- header and notices ------------------------------------------------

// The header shows a neutral name unless the organisation chose to be
// named on clients' phones: its own app name (also in the page before any
// script runs), else its name if it allowed it, else the product's.
const NEUTRAL = document.querySelector('meta[name="application-name"]')?.content;

function renderOrgName() {
  const s = state.org?.settings;
  $("org-name").textContent = s?.app_name || NEUTRAL || (s?.show_org_name && s.display_name) || t("appName");
}

function renderBanner() {
  const a = state.org?.availability;
  const el = $("banner");
  if (!a || a.state === "open" || !state.me) { el.hidden = true; return; }
  const at = a.reopens_at ? when(a.reopens_at) : "";
  const key = (a.state === "paused" ? "paused" : "closed") + (at ? "" : "NoTime");
  el.textContent = t(key, { at });
  el.hidden = false;
}

function renderNet(kind) {
  const el = $("net");
  el.hidden = !kind;
  el.textContent = kind ? t(kind) : "";
  el.dataset.kind = kind || "";
}

// The first screen: the organisation's welcome, today's hours and when a
// reply can be expected, and how long messages are kept.
function renderIntro() {
  const s = state.org?.settings;
  $("intro-welcome").textContent = s?.welcome_text || t("welcomeDefault");
  $("intro-hours").textContent = s ? hoursToday(s.hours) : "";
  const a = state.org?.availability;
  let reply = "";
  if (a) {
    const at = a.reopens_at ? when(a.reopens_at) : "";
    reply = a.state === "open" ? t("replyOpen") : at ? t(a.state === "paused" ? "replyPaused" : "replyClosed", { at }) : t("replyLater");
  }
  $("intro-reply").textContent = reply;
  const secs = s?.retention_seconds;
  $("intro-retention").textContent = !secs ? "" : secs >= 86400
    ? t("retentionDays", { n: Math.round(secs / 86400) }) : t("retentionHours", { n: Math.round(secs / 3600) });
}

function hoursToday(h) {
  if (!h?.spans?.length) return t("hoursAlways");
  // Today is the organisation's today, in its time zone.
  let day;
  try {
    day = new Date().toLocaleDateString("en-US", { weekday: "short", timeZone: h.time_zone });
  } catch {
    day = new Date().toLocaleDateString("en-US", { weekday: "short" });
  }
  const n = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(day);
  const spans = h.spans.filter((s) => s.day === n).map((s) => `${s.start}〜${s.end}`);
  return spans.length ? t("hoursToday", { spans: spans.join("、") }) : t("hoursNoneToday");
}

// --- the thread ----------------------------------------------------------

function render(opts) {
  if (!thread) return;
  clearTimeout(renderTimer);
  renderTimer = null;
  const messages = [...state.messages.values()].sort((a, b) => a.seq - b.seq);
  thread.render({ messages, outbox: state.outbox, conv: state.conv, synced: state.synced, initialised: state.initialised }, opts);
  state.initialised = true;
}

// scheduleRender draws once for a burst of frames (a replay brings
// hundreds), right after the burst.
let renderTimer = null;
function scheduleRender() {
  if (renderTimer === null) renderTimer = setTimeout(() => { render(); sendReceipt(); }, 0);
}

// Receipts: delivered is what this device holds; read is what has been on
// screen (view.js), never more.
let seenSeq = 0;
function onSeen(seq) {
  seenSeq = Math.max(seenSeq, seq);
  sendReceipt();
}

function sendReceipt() {
  const c = state.conv;
  if (!c || !state.synced || state.locked) return;
  const last = Math.max(0, ...[...state.messages.values()].map((m) => m.seq));
  const read = Math.min(seenSeq, last);
  if (last > c.client_delivered_seq || read > c.client_read_seq) {
    send({ type: "receipt", delivered_seq: last, read_seq: Math.max(read, c.client_read_seq) });
  }
}

// putMessage keeps a message; the device copy is written in batches, the
// cursor with them (a cursor never runs ahead of what is stored).
function putMessage(m) {
  state.messages.set(m.id, m);
  state.cursor = Math.max(state.cursor, m.id);
  if (!state.store) return;
  state.unsaved.push(m);
  if (state.unsaved.length === 1) setTimeout(saveMessages, 0);
}

// retryable says whether a refused send is worth sending again as it is
// (the same rule as protocol.Code.Retryable on the server's side).
const retryable = (code) => code === "internal" || code === "unavailable";

async function saveMessages() {
  const batch = state.unsaved;
  state.unsaved = [];
  if (batch.length) await state.store?.putMessages(batch, state.cursor).catch((e) => console.error("store:", e));
}

// expire deletes what has passed its expires_at, on this device as on the
// server (the same rule, docs/protocol.md): offline too, and whether or
// not the server's deletion frame has arrived. It then waits for the next
// expiry.
let expiryTimer = null;
async function expire() {
  clearTimeout(expiryTimer);
  const now = Date.now();
  const gone = [];
  let next = Infinity;
  for (const [id, m] of state.messages) {
    const at = Date.parse(m.expires_at);
    if (at <= now) gone.push(id);
    else next = Math.min(next, at);
  }
  if (gone.length) {
    for (const id of gone) state.messages.delete(id);
    state.unsaved = state.unsaved.filter((m) => !gone.includes(m.id));
    await state.store?.deleteMessages(gone).catch((e) => console.error("store:", e));
    forgetFiles();
    scheduleRender();
  }
  // Timers fire late on a sleeping phone; reopening runs expire() again.
  if (next !== Infinity) expiryTimer = setTimeout(expire, Math.min(next - now, 2 ** 31 - 1));
}

async function dropBelow(seq) {
  for (const [id, m] of state.messages) if (m.seq < seq) state.messages.delete(id);
  forgetFiles();
  await state.store?.dropBelow(seq);
}

// forgetFiles lets go of the files of messages no longer held.
function forgetFiles() {
  const keep = new Set();
  for (const m of state.messages.values()) if (m.attachment) keep.add(m.attachment.id);
  for (const p of state.outbox) if (p.att) keep.add(p.att.id);
  attach.forget(keep);
}

// --- live connection -------------------------------------------------

// hold keeps this connection's messages back for ms after a "not now":
// the refused ones and any written meanwhile go when it ends, in the order
// written. A busy server takes a connection's refused sends back first and
// refuses later ones until then, so that the words are stored in order.
function hold(ms) {
  // A little jitter: a busy server refuses many phones at once with the
  // same retry_after, and they should not all come back together.
  ms = Math.min(ms, 30000);
  const until = Date.now() + ms + Math.random() * Math.min(ms / 4, 1000);
  if (until <= state.heldUntil) return; // the hold ends later and sends it then
  state.heldUntil = until;
  clearTimeout(state.holdTimer);
  const ws = state.ws;
  state.holdTimer = setTimeout(() => endHold(ws), until - Date.now());
}

// endHold sends what the hold kept back, in the order written: when its
// time is up, or early, when the server calls the connection back (a
// "resume" frame: it has room again).
function endHold(ws) {
  clearTimeout(state.holdTimer);
  state.heldUntil = 0;
  if (state.ws !== ws || !state.synced) return; // a new connection resends everything
  for (const p of state.outbox) {
    if (p.waiting && !p.error) sendEntry(p);
    p.waiting = false;
  }
}

// sendNew writes a new outbox entry now, or after the hold.
function sendNew(p) {
  if (!state.synced) return;
  if (Date.now() < state.heldUntil) p.waiting = true;
  else sendEntry(p);
}

// sendEntry sends an outbox entry: a file first goes up (once), and the
// message that carries it follows when the upload is done.
function sendEntry(p) {
  if (p.file && !p.att) {
    startUpload(p);
    return;
  }
  send({ type: "send", ref: p.ref, body: p.body, ...(p.att ? { attachment: p.att.id } : {}) });
}

// startUpload sends an entry's file unless it is on its way. A network
// failure or a busy server leaves the entry to go again with the next
// connection; a refusal (too large, wrong type, not allowed) is final
// and shown on the bubble.
function startUpload(p) {
  if (p.uploading || !state.conv) return;
  p.uploading = true;
  p.progress = 0;
  attach.upload(state.conv.id, p.file, (f) => { p.progress = f; scheduleRender(); }).then(async (a) => {
    p.uploading = false;
    p.att = a;
    attach.keepLocal(a.id, p.file);
    await state.store?.putPending(stored(p));
    if (state.synced && Date.now() >= state.heldUntil) sendEntry(p);
    else p.waiting = true;
  }, async (e) => {
    p.uploading = false;
    if (e.status === 0 || e.status >= 500 || retryable(e.code)) {
      p.waiting = true;
      hold(Math.min(30000, 1000 * 2 ** ((p.refusals = (p.refusals || 0) + 1) - 1)));
    } else {
      p.error = { code: e.code === "too_large" || e.code === "unsupported_media_type" ? e.code : e.code, upload: true };
      await state.store?.putPending(stored(p));
    }
    scheduleRender();
  });
  scheduleRender();
}

// stored is what of an outbox entry is kept on the device (the upload's
// progress is not).
function stored(p) {
  const { uploading, progress, waiting, ...keep } = p;
  return keep;
}

function send(frame) {
  if (state.ws?.readyState !== WebSocket.OPEN) return false;
  state.ws.send(JSON.stringify(frame));
  return true;
}

function connect() {
  clearTimeout(state.retryTimer);
  if (state.stopped || state.ws) return;
  if (!$("net").dataset.kind) renderNet("connecting");
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/live");
  state.ws = ws;
  state.synced = false;
  let welcomed = false;
  ws.onopen = () => {
    // Version 2: this page's own messages come back in their acks only,
    // and a message carries its conversation's new state.
    ws.send(JSON.stringify({ type: "hello", v: 2, cursor: state.cursor }));
    state.lastFrame = Date.now();
    state.pingedAt = 0;
    state.beat = setInterval(heartbeat, PING_EVERY);
  };
  ws.onmessage = (ev) => {
    if (state.ws !== ws) return; // a connection this page has left
    state.lastFrame = Date.now();
    const f = JSON.parse(ev.data);
    if (f.type === "welcome") welcomed = true;
    // In order: a frame's effects (the store, the outbox) land before the next's.
    state.frames = state.frames.then(() => (state.ws === ws || f.type === "revoked") ? handle(f) : null).catch((e) => console.error(e));
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    dropped(ev.code, welcomed);
  };
}

// heartbeat pings; a ping that heard nothing back means a dead link
// (a phone that lost its network gets no close from anyone).
function heartbeat() {
  if (state.pingedAt && state.lastFrame < state.pingedAt) {
    linkLost();
    return;
  }
  state.pingedAt = Date.now();
  send({ type: "ping" });
}

// linkLost gives up on the current socket at once, without waiting for a
// close that a dead link never delivers.
function linkLost() {
  const ws = state.ws;
  if (!ws) return;
  ws.onclose = ws.onmessage = null;
  ws.close();
  dropped(1006, true);
}

async function dropped(code, welcomed) {
  clearInterval(state.beat);
  state.ws = null;
  state.synced = false;
  showTyping(null);
  if (code === 4001) { await end(t("ended"), true); return; }
  if (state.stopped) return;
  renderNet("offline");
  render();
  // A refused handshake looks like a network error from here: ask the
  // server whether the session still stands. Only its explicit "no" ends it.
  if (!welcomed && await sessionEnded()) { await end(t("ended"), true); return; }
  const delay = state.backoff / 2 + Math.random() * state.backoff / 2;
  state.backoff = Math.min(state.backoff * 2, 30000);
  state.retryTimer = setTimeout(connect, delay);
}

// sessionEnded is true only when the server says the session is over: 401
// with its own error body. A network error, a 5xx or a proxy's page is not.
async function sessionEnded() {
  try {
    const r = await fetch("/api/v1/me", { cache: "no-store" });
    if (r.status !== 401) return false;
    const body = await r.json().catch(() => null);
    return body?.error?.code === "unauthorized";
  } catch {
    return false;
  }
}

async function handle(f) {
  switch (f.type) {
    case "welcome":
      if (f.account.role !== "client") { await logout(); return; }
      if (!forThisAddress(f.org)) { await leaveForThisAddress(); return; }
      {
        // Another person signed in on this browser since this page (or
        // this device's copy) was theirs: nothing of the one may show or
        // be sent as the other. Wipe what is held and start again.
        const known = state.me?.id ?? (await state.store?.getMeta("account"));
        if (known && known !== f.account.id) { await restartAsCurrent(); return; }
      }
      await state.store?.putMeta("account", f.account.id);
      state.me = f.account;
      state.org = f.org;
      state.conv = f.conversations[0] || null;
      await state.store?.putMeta("org", f.org);
      renderOrg();
      if (state.conv) await dropBelow(state.conv.first_seq);
      else { state.messages.clear(); await state.store?.clearMessages(); }
      // The snapshot's deletions are applied: confirm them (a receipt).
      send({ type: "wiped", at: f.server_time });
      break;
    case "message":
      putMessage(f.message);
      if (f.message.sender_role !== "client") showTyping(null);
      if (f.conversation) {
        state.conv = f.conversation;
        renderNominate();
      }
      scheduleRender();
      renderWaiting();
      return;
    case "synced":
      loadNominees();
      loadNews();
      await saveMessages();
      await expire();
      state.synced = true;
      state.backoff = 500;
      renderNet(null);
      clearTimeout(state.holdTimer);
      state.heldUntil = 0; // everything goes again now, in order
      for (const p of state.outbox) {
        p.waiting = false;
        if (!p.error) sendEntry(p);
      }
      break;
    case "ack": {
      const i = state.outbox.findIndex((p) => p.ref === f.ref);
      if (i >= 0) state.outbox.splice(i, 1);
      await state.store?.removePending(f.ref);
      putMessage(f.message);
      if (f.conversation) state.conv = f.conversation;
      break;
    }
    case "error": {
      // Every answer to a send names its ref. internal and unavailable are
      // worth retrying (protocol.Code.Retryable): the entry stays and goes
      // again after retry_after, or after a delay that doubles (1 s …
      // 30 s), or with the next connection; anything else is final: the
      // bubble says why and keeps the words.
      const p = state.outbox.find((x) => x.ref === f.ref);
      if (p && retryable(f.error.code)) {
        p.refusals = (p.refusals || 0) + 1;
        p.waiting = true;
        hold(f.error.retry_after ? f.error.retry_after * 1000 : Math.min(30000, 1000 * 2 ** (p.refusals - 1)));
      } else if (p) {
        // The organisation's state came with this connection's welcome:
        // it says whether "closed" means outside hours or paused.
        p.error = { code: f.error.code, reopens_at: f.error.reopens_at || null, state: state.org?.availability?.state || null };
        await state.store?.putPending(stored(p));
      }
      break;
    }
    case "conversation":
      state.conv = f.conversation;
      break;
    case "deleted":
      for (const [id, m] of state.messages) if (m.seq <= f.through_seq) state.messages.delete(id);
      forgetFiles();
      await state.store?.dropBelow(f.through_seq + 1);
      send({ type: "wiped", at: f.at });
      break;
    case "settings":
      // Settings frames carry no reply figure: keep the welcome's.
      state.org = { ...f.org, typical_reply_seconds: f.org.typical_reply_seconds ?? state.org?.typical_reply_seconds };
      await state.store?.putMeta("org", f.org);
      renderOrg();
      break;
    case "typing":
      showTyping(f);
      return;
    case "pong":
      return;
    case "resume":
      if (state.heldUntil) endHold(state.ws);
      return;
    case "news":
      // An announcement for this client: the frame says only that.
      loadNews();
      return;
    case "conversation_deleted":
    case "revoked":
      await end(t("ended"), true);
      return;
  }
  render();
  renderNominate();
  renderWaiting();
  sendReceipt();
}

// --- announcements (お知らせ, issue 16) ----------------------------------------

// loadNews asks which announcements are shown to this client now; a
// failure keeps what was shown (they are not conversation messages).
async function loadNews() {
  try {
    const r = await fetch("/api/v1/announcements", { cache: "no-store" });
    if (!r.ok) return;
    state.news = await r.json();
  } catch {
    return;
  }
  renderNews();
}

// renderNews shows the newest announcement this device has not closed.
function renderNews() {
  const el = $("news");
  const next = state.me && state.news.find((a) => !state.dismissed.has(a.id));
  if (!next) { el.hidden = true; return; }
  $("news-text").textContent = next.body;
  el.dataset.id = String(next.id);
  el.hidden = false;
}

// dismissNews closes the announcement shown; the device remembers it
// (its ID only) while the server still lists it.
async function dismissNews() {
  const id = Number($("news").dataset.id);
  if (!id) return;
  state.dismissed.add(id);
  const kept = [...state.dismissed].filter((x) => state.news.some((a) => a.id === x));
  state.dismissed = new Set(kept);
  state.dismissed.add(id);
  renderNews(); // at once, under the finger; then remembered
  await state.store?.putMeta("dismissed", [...state.dismissed]);
}

// --- nomination (指名) ------------------------------------------------------

// loadNominees asks who takes nominations now; a failure only hides the
// choice (the conversation works without it).
async function loadNominees() {
  try {
    const r = await fetch("/api/v1/nominees", { cache: "no-store" });
    state.nominees = r.ok ? await r.json() : [];
  } catch {
    state.nominees = [];
  }
  renderNominate();
}

// renderNominate offers the choice while nobody answers the conversation,
// and says whom the client asked for while they have not answered yet.
function renderNominate() {
  const c = state.conv;
  const free = !c || c.assignee_id == null;
  const box = $("nominate");
  const list = $("nominees");
  box.hidden = !free || state.nominees.length === 0;
  if (!box.hidden) {
    list.replaceChildren(...state.nominees.map((n) => {
      const li = document.createElement("li");
      const name = document.createElement("p");
      name.className = "nominee-name";
      name.textContent = n.display_name;
      li.append(name);
      if (n.intro) {
        const intro = document.createElement("p");
        intro.className = "nominee-intro";
        intro.textContent = n.intro;
        li.append(intro);
      }
      const b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = t("nominateButton", { name: n.display_name });
      b.disabled = state.nominating;
      b.addEventListener("click", () => nominate(n));
      li.append(b);
      return li;
    }));
  }
  const status = $("nominate-status");
  const asked = c?.nominated_at && state.nominees.find((n) => n.id === c.assignee_id);
  if (asked) status.textContent = t("nominated", { name: asked.display_name });
  else if (!status.dataset.error) status.textContent = "";
  status.hidden = !status.textContent;
}

async function nominate(n) {
  const status = $("nominate-status");
  state.nominating = true;
  delete status.dataset.error;
  renderNominate();
  try {
    const r = await fetch("/api/v1/nominate", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ counselor_id: n.id }) });
    if (r.ok) state.conv = await r.json();
    else {
      status.dataset.error = "1";
      status.textContent = t("nominateFailed");
      if (r.status === 404) await loadNominees(); // they stopped taking nominations
    }
  } catch {
    status.dataset.error = "1";
    status.textContent = t("nominateFailed");
  } finally {
    state.nominating = false;
    renderNominate();
  }
}

function renderOrg() {
  renderOrgName();
  renderBanner();
  renderIntro();
  renderComposeState();
}

// renderWaiting says, until the first answer comes, that the message
// arrived and how long answers have recently taken (the organisation's
// median: a figure, not a promise).
function renderWaiting() {
  const el = $("waiting");
  const c = state.conv;
  const msgs = [...state.messages.values()];
  const answered = msgs.some((m) => m.sender_role !== "client" && m.kind === "text");
  const arrived = c && c.status === "waiting" && msgs.some((m) => m.sender_role === "client");
  if (!arrived || answered || blockedNow()) { el.hidden = true; return; }
  const secs = state.org?.typical_reply_seconds;
  el.textContent = secs ? t("waitingTypical", { wait: roughly(secs) }) : t("waitingArrived");
  el.hidden = false;
}

// roughly words a duration loosely: minutes under two hours, then hours.
function roughly(secs) {
  if (secs < 2 * 3600) return t("minutes", { n: Math.max(1, Math.round(secs / 60)) });
  if (secs < 2 * 86400) return t("hours", { n: Math.round(secs / 3600) });
  return t("days", { n: Math.round(secs / 86400) });
}

function showTyping(f) {
  clearTimeout(state.typingTimer);
  const el = $("typing");
  if (!f || f.sender_role === "client") { el.hidden = true; return; }
  el.textContent = t("typing", { name: f.sender_name || t("counselor") });
  el.hidden = false;
  state.typingTimer = setTimeout(() => { el.hidden = true; }, TYPING_SHOWN);
}

// --- writing ------------------------------------------------------------

// blockedNow says whether the organisation refuses messages at this moment
// (closed or paused, and set to block rather than accept).
function blockedNow() {
  const a = state.org?.availability;
  return a && a.state !== "open" && state.org.settings.closed_behavior === "block" ? a : null;
}

function renderComposeState() {
  const text = $("text").value;
  const n = charCount(text);
  const err = $("compose-error");
  const blocked = blockedNow();
  let msg = "";
  if (n > MAX_CHARS) msg = t("tooLong", { n: n.toLocaleString(), max: MAX_CHARS.toLocaleString() });
  else if (blocked && err.dataset.tried) {
    const key = blocked.state === "paused" ? "blockedNowPaused" : "blockedNow";
    msg = blocked.reopens_at ? t(key, { at: when(blocked.reopens_at) }) : t(key + "NoTime");
  }
  if (!blocked) delete err.dataset.tried;
  err.textContent = msg;
  err.hidden = !msg;
  $("send").disabled = n > MAX_CHARS;
}

// The input grows with its text up to a few lines, then scrolls.
function growInput() {
  const el = $("text");
  el.style.height = "auto";
  el.style.height = Math.min(el.scrollHeight + 2, Math.round(parseFloat(getComputedStyle(el).lineHeight) * 6)) + "px";
}

let draftTimer;
function onInput() {
  const stay = thread.atBottom();
  growInput();
  if (stay) thread.scrollToBottom(); // the list got shorter: keep its end in view
  renderComposeState();
  clearTimeout(draftTimer);
  draftTimer = setTimeout(() => state.store?.putMeta("draft", $("text").value).catch(() => {}), 300);
  const now = Date.now();
  if ($("text").value.trim() && state.synced && now - state.typingSent >= TYPING_EVERY) {
    state.typingSent = now;
    send({ type: "typing" });
  }
}

async function submit(ev) {
  ev?.preventDefault();
  const body = cleanBody($("text").value);
  if (!body.trim() || charCount(body) > MAX_CHARS) return;
  if (blockedNow()) {
    // Refused before it leaves: the words stay in the box, with the reason.
    $("compose-error").dataset.tried = "1";
    renderComposeState();
    return;
  }
  // Something like a phone number or an address: ask first, gently (the
  // client is anonymous here; once sent, it cannot be taken back). The
  // words stay in the box unless the client chooses to send them.
  const kinds = findPII(body);
  if (kinds.length && !(await askPII(kinds))) {
    $("text").focus();
    return;
  }
  const p = { ref: newRef(), body };
  state.outbox.push(p);
  await state.store?.putPending(stored(p));
  $("text").value = "";
  await state.store?.putMeta("draft", "");
  growInput();
  renderComposeState();
  render({ follow: true });
  sendNew(p);
}

// What can be done with a message the server refused.
async function onAction(name, p, button) {
  switch (name) {
    case "retry":
      p.error = null;
      await state.store?.putPending(stored(p));
      sendNew(p);
      break;
    case "edit": {
      const box = $("text");
      box.value = box.value.trim() ? box.value + "\n" + p.body : p.body;
      await forget(p);
      onInput();
      box.focus();
      break;
    }
    case "copy":
      try {
        await navigator.clipboard.writeText(p.body);
      } catch {
        // No clipboard permission: select the text for a manual copy.
        const range = document.createRange();
        range.selectNodeContents(button.closest("li").querySelector(".body"));
        getSelection().removeAllRanges();
        getSelection().addRange(range);
      }
      button.textContent = t("copied");
      return;
    case "remove":
      await forget(p);
      break;
  }
  render();
}

async function forget(p) {
  state.outbox = state.outbox.filter((x) => x !== p);
  await state.store?.removePending(p.ref);
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

// --- personal data --------------------------------------------------------

// askPII shows what the text seems to hold and resolves true if the
// client sends it all the same.
function askPII(kinds) {
  const box = $("pii");
  $("pii-text").textContent = t("piiText", { kinds: kinds.map((k) => t("pii_" + k)).join(t("piiSep")) });
  box.hidden = false;
  $("pii-back").focus();
  return new Promise((resolve) => {
    const done = (ok) => {
      box.hidden = true;
      $("pii-send").removeEventListener("click", yes);
      $("pii-back").removeEventListener("click", no);
      box.removeEventListener("keydown", esc);
      resolve(ok);
    };
    const yes = () => done(true);
    const no = () => done(false);
    const esc = (e) => { if (e.key === "Escape") done(false); };
    $("pii-send").addEventListener("click", yes);
    $("pii-back").addEventListener("click", no);
    box.addEventListener("keydown", esc);
  });
}

// --- menu and PIN -------------------------------------------------------

function openMenu() {
  $("menu").hidden = false;
  $("menu-toggle").setAttribute("aria-expanded", "true");
  $("menu-close").focus();
}

function closeMenu() {
  $("menu").hidden = true;
  $("pin-form").hidden = true;
  $("menu-toggle").setAttribute("aria-expanded", "false");
}

function renderPinToggle() {
  $("pin-toggle").textContent = t(state.pin ? "pinChange" : "pinSet");
  $("pin-off").hidden = !state.pin;
  $("pin-toggle").hidden = !state.store; // a shared device keeps nothing, not even a PIN
}

function openPinForm() {
  const form = $("pin-form");
  form.hidden = false;
  $("pin-form-error").textContent = "";
  $("pin-status").textContent = "";
  $("new-pin").value = $("new-pin2").value = "";
  $("lock-after").value = String(state.pin?.lockAfter ?? DEFAULT_LOCK_AFTER);
  form.scrollIntoView({ block: "nearest" });
  $("new-pin").focus();
}

async function savePin(ev) {
  ev.preventDefault();
  const a = $("new-pin").value, b = $("new-pin2").value;
  const err = $("pin-form-error");
  if (!validPin(a)) { err.textContent = t("pinBad"); $("new-pin").focus(); return; }
  if (a !== b) { err.textContent = t("pinMismatch"); $("new-pin").value = $("new-pin2").value = ""; $("new-pin").focus(); return; }
  state.pin = await newPin(a, Number($("lock-after").value));
  await state.store.putMeta("pin", state.pin);
  $("new-pin").value = $("new-pin2").value = "";
  $("pin-form").hidden = true;
  $("pin-status").textContent = t("pinDone");
  renderPinToggle();
}

async function removePin() {
  state.pin = null;
  await state.store?.putMeta("pin", null);
  $("pin-form").hidden = true;
  $("pin-status").textContent = t("pinRemoved");
  renderPinToggle();
}

// lock shows the lock screen over everything until the PIN is entered;
// nothing is marked read meanwhile.
async function lock() {
  if (!state.pin || state.locked) return true;
  state.locked = true;
  show("lock");
  $("pin").focus();
  const ok = await askPin(state.pin, (p) => state.store.putMeta("pin", p));
  state.locked = false;
  if (!ok) {
    leave();
    // The server is told when it can be; the device is wiped regardless.
    await end(t("ended"), false, () => fetch("/api/v1/logout?wiped=1", { method: "POST" }).catch(() => {}));
    return false;
  }
  show("chat");
  thread.reportSeen();
  sendReceipt();
  return true;
}

// Coming back from another app: lock again once the chosen time passed.
function onVisibility() {
  if (document.visibilityState === "hidden") {
    state.hiddenAt = Date.now();
    // The app may never come back (closed from the switcher): keep the draft now.
    clearTimeout(draftTimer);
    if (state.store && !state.stopped) state.store.putMeta("draft", $("text").value).catch(() => {});
    if (state.pin && state.pin.lockAfter === 0 && !state.stopped) lock();
    return;
  }
  if (state.pin && !state.stopped && state.hiddenAt && Date.now() - state.hiddenAt >= (state.pin.lockAfter ?? DEFAULT_LOCK_AFTER)) lock();
  sendReceipt();
}

// --- session -----------------------------------------------------------

// forThisAddress says whether a session's organisation is the one whose
// address this page is (/a/<code>/); the neutral address / takes any.
function forThisAddress(org) {
  const m = /^\/a\/[0-9a-f]+\//.exec(location.pathname);
  return !m || !org?.app_path || org.app_path === m[0];
}

// restartAsCurrent drops everything this page and the device's copy hold
// of the previous person, without signing anyone out (the browser's
// session is now the other person's), and starts again.
async function restartAsCurrent() {
  state.stopped = true;
  const ws = state.ws;
  state.ws = null;
  ws?.close();
  state.messages.clear();
  attach.forget();
  closeViewer();
  state.unsaved = [];
  state.outbox = [];
  $("messages").replaceChildren();
  $("text").value = "";
  await wipeStore();
  location.reload();
}

// leaveForThisAddress is what a page at one organisation's address does
// with a session of another's (the browser shares its cookie and storage
// across addresses): it shows none of it and asks for this one's sign-in.
async function leaveForThisAddress() {
  state.stopped = true;
  clearTimeout(state.retryTimer);
  clearInterval(state.beat);
  const ws = state.ws;
  state.ws = null;
  ws?.close();
  state.messages.clear();
  state.outbox = [];
  $("messages").replaceChildren();
  showLogin(t("otherAddress"));
}

async function start() {
  state.stopped = false;
  const shared = sessionStorage.getItem(SHARED) === "1";
  state.store = shared ? null : await openStore();
  if (state.store) {
    state.pin = await state.store.getMeta("pin") || null;
    if (state.pin && !(await lock())) return;
    const saved = await state.store.load();
    for (const m of saved.messages) state.messages.set(m.id, m);
    state.cursor = saved.cursor;
    state.outbox = saved.outbox;
    // What the app knew of the organisation: the first screen shows at
    // once, offline too.
    state.org = await state.store.getMeta("org") || null;
    state.dismissed = new Set(await state.store.getMeta("dismissed") || []);
    $("text").value = await state.store.getMeta("draft") || "";
    if (state.org && !forThisAddress(state.org)) { await leaveForThisAddress(); return; }
    await expire();
  }
  renderPinToggle();
  show("chat");
  renderOrg();
  growInput();
  render({ follow: true });
  connect();
  setupPush().catch((e) => console.warn("push:", e));
}

// end wipes everything this device holds and returns to sign-in. When
// the server ended the session, the wipe is confirmed to it (a receipt
// admins see), with the ended session's cookie, which that clears.
// then, if given, runs once the device is wiped (before any reload).
async function end(message, confirm = false, then = null) {
  state.stopped = true;
  clearTimeout(state.retryTimer);
  clearInterval(state.beat);
  const ws = state.ws;
  state.ws = null;
  ws?.close();
  state.messages.clear();
  attach.forget();
  closeViewer();
  state.unsaved = [];
  state.outbox = [];
  state.cursor = 0;
  state.conv = state.me = state.org = state.pin = null;
  state.initialised = state.locked = false;
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
  thread = createThread(threadParts()); // a fresh thread for the next person
  showLogin(message);
}

function showLogin(notice = "") {
  show("login");
  $("banner").hidden = true;
  $("news").hidden = true;
  state.news = [];
  state.dismissed = new Set();
  renderNet(null);
  $("login-notice").textContent = notice;
  $("login-notice").hidden = !notice;
  $("login-error").textContent = "";
  $("password").value = "";
  const contact = document.querySelector('meta[name="taiwa-contact"]')?.content;
  $("contact").textContent = contact || t("contactDefault");
}

async function login(ev) {
  ev.preventDefault();
  const shared = $("shared").checked;
  const btn = ev.submitter || $("login-form").querySelector("button[type=submit]");
  btn.disabled = true;
  $("login-notice").hidden = true;
  const id = normalizeLoginId($("login-id").value);
  $("login-id").value = id; // show the ID as it is read
  try {
    const body = JSON.stringify({ login_id: id, password: normalizePassword($("password").value), cookie: true, shared, device: "phone" });
    // A seminar signs in all at once from one network: the server hashes
    // one password per address at a time and answers the rest "busy, try
    // again in a second". That is a queue, not a failure: try again by
    // ourselves (with a little jitter, so that the room does not come
    // back in step) and keep what was typed.
    const started = Date.now();
    let r, e;
    for (;;) {
      r = await fetch("/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json" }, body });
      if (r.ok) break;
      e = (await r.json().catch(() => ({}))).error || {};
      const transient = (e.code === "rate_limited" || e.code === "unavailable") && e.retry_after > 0 && e.retry_after <= 10;
      const pause = transient ? e.retry_after * 1000 + Math.random() * 1000 : 0;
      if (!transient || Date.now() - started + pause > SIGN_IN_PATIENCE) break;
      $("login-error").textContent = "";
      $("login-notice").textContent = t("signInQueued");
      $("login-notice").hidden = false;
      await new Promise((ok) => setTimeout(ok, pause));
    }
    $("login-notice").hidden = true;
    if (!r.ok) {
      $("login-error").textContent = e.code === "locked" ? t("locked", { wait: wait(e.retry_after || 900) })
        : e.code === "rate_limited" ? t("rateLimited", { wait: wait(e.retry_after || 60) })
          : e.code === "forbidden" ? t("expired")
            : e.code === "bad_credentials" || e.code === "bad_request" ? t("badLogin")
              : r.status >= 500 ? t("busy") : t("network");
      // Only a wrong password is worth retyping; a busy server or a
      // lockout leaves the slip's password in place.
      if (e.code === "bad_credentials") $("password").value = "";
      return;
    }
    const me = await r.json();
    if (me.account.role !== "client") {
      await fetch("/api/v1/logout", { method: "POST" });
      $("login-error").textContent = t("badLogin");
      return;
    }
    // A new sign-in starts from nothing: whatever this browser still held
    // (another organisation's address, another person) is not this
    // session's; the server replays what is.
    await wipeStore();
    if (shared) sessionStorage.setItem(SHARED, "1");
    (shared ? sessionStorage : localStorage).setItem(SIGNED_IN, "1");
    $("login-id").value = "";
    $("password").value = "";
    $("show-password").checked = false;
    $("password").type = "password";
    state.org = me.org;
    await start();
  } catch {
    $("login-error").textContent = t("network");
  } finally {
    btn.disabled = false;
  }
}

// leave disconnects first: the server's goodbye to a session this device
// ends itself is not news (and must not start a second wipe).
function leave() {
  state.stopped = true;
  clearTimeout(state.retryTimer);
  clearInterval(state.beat);
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

// Quick exit: blank the page at once and leave for an empty one; Back does
// not return here (replace). A shared device's session ends on the server
// (reopening asks for the password); elsewhere a PIN, if set, is asked
// when the app opens again.
function quickExit() {
  // The words being written are kept (the draft is otherwise saved a
  // moment after typing): read them before the screen goes blank.
  const draft = $("text").value;
  document.title = "";
  document.body.replaceChildren();
  let saved = Promise.resolve();
  if (sessionStorage.getItem(SHARED) === "1") {
    sessionStorage.clear();
    fetch("/api/v1/logout?wiped=1", { method: "POST", keepalive: true }).catch(() => {});
  } else if (state.store) {
    clearTimeout(draftTimer);
    saved = state.store.putMeta("draft", draft).catch(() => {});
  }
  // The screen is blank already; leave once the draft is written (or
  // after half a second at most).
  Promise.race([saved, new Promise((r) => setTimeout(r, 500))]).then(() => location.replace("about:blank"));
}

function threadParts() {
  return { scroller: $("scroller"), list: $("messages"), pill: $("new-pill"), onSeen, onAction, onView: openViewer };
}

// --- files ------------------------------------------------------------------

function attachLimit() {
  return state.org?.settings?.attachment_max_bytes || attach.DEFAULT_LIMIT;
}

function openAttachMenu() {
  $("file-pick").accept = attach.ACCEPT;
  $("attach-limit").textContent = t("attachLimit", { max: attach.sizeText(attachLimit()) });
  $("attach-menu").hidden = false;
  $("attach-camera").focus();
}

function closeAttachMenu() {
  $("attach-menu").hidden = true;
}

// onFile prepares a chosen file and asks before sending it: what will be
// sent is shown, with what happens to its hidden data.
async function onFile(ev) {
  const file = ev.target.files?.[0];
  ev.target.value = ""; // the same file can be chosen again
  closeAttachMenu();
  if (!file) return;
  const err = $("compose-error");
  const say = (msg) => { err.textContent = msg; err.hidden = !msg; };
  say("");
  const prepared = await attach.prepare(file);
  if (prepared.error) { say(t(prepared.error)); return; }
  if (prepared.blob.size > attachLimit()) {
    say(t("attachTooBig", { size: attach.sizeText(prepared.blob.size), max: attach.sizeText(attachLimit()) }));
    return;
  }
  if (blockedNow()) {
    err.dataset.tried = "1";
    renderComposeState();
    return;
  }
  if (!(await confirmFile(prepared))) return;
  const p = { ref: newRef(), body: "", file: prepared.blob, type: prepared.type, size: prepared.blob.size };
  state.outbox.push(p);
  await state.store?.putPending(stored(p));
  render({ follow: true });
  if (state.synced) sendEntry(p);
}

function confirmFile(prepared) {
  const box = $("attach-confirm");
  const preview = $("attach-preview");
  let url = null;
  if (prepared.type === "application/pdf" || prepared.asPicked) {
    const label = document.createElement("span");
    label.className = "file-label";
    label.textContent = (prepared.type === "application/pdf" ? "PDF" : t("attachHeic")) + " · " + attach.sizeText(prepared.blob.size);
    preview.replaceChildren(label);
  } else {
    url = URL.createObjectURL(prepared.blob);
    const img = document.createElement("img");
    img.src = url;
    img.alt = t("attachPhoto");
    preview.replaceChildren(img);
  }
  $("attach-note").textContent = t(prepared.type === "application/pdf" ? "attachNotePdf" : prepared.asPicked ? "attachNoteAsPicked" : "attachNoteImage");
  box.hidden = false;
  $("attach-send").focus();
  return new Promise((resolve) => {
    const done = (ok) => {
      box.hidden = true;
      preview.replaceChildren();
      if (url) URL.revokeObjectURL(url);
      $("attach-send").removeEventListener("click", yes);
      $("attach-back").removeEventListener("click", no);
      box.removeEventListener("keydown", esc);
      resolve(ok);
    };
    const yes = () => done(true);
    const no = () => done(false);
    const esc = (e) => { if (e.key === "Escape") done(false); };
    $("attach-send").addEventListener("click", yes);
    $("attach-back").addEventListener("click", no);
    box.addEventListener("keydown", esc);
  });
}

function openViewer(src) {
  if (!src) return;
  $("viewer-img").src = src;
  $("viewer").hidden = false;
  $("viewer-close").focus();
}

function closeViewer() {
  $("viewer").hidden = true;
  $("viewer-img").removeAttribute("src");
}

function wire() {
  $("exit").addEventListener("click", quickExit);
  $("news-close").addEventListener("click", () => { dismissNews(); });
  $("login-form").addEventListener("submit", login);
  $("show-password").addEventListener("change", (e) => { $("password").type = e.target.checked ? "text" : "password"; });
  $("logout").addEventListener("click", logout);
  $("compose").addEventListener("submit", submit);
  $("text").addEventListener("input", onInput);
  // Enter is a newline (input methods confirm with it); Ctrl/Cmd+Enter sends.
  $("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) { e.preventDefault(); submit(); }
  });
  const mac = /Mac|iPhone|iPad/.test(navigator.platform);
  $("send-hint").textContent = t(mac ? "sendHintMac" : "sendHint");
  document.addEventListener("visibilitychange", onVisibility);
  // The browser knows first when the network goes: do not wait for the
  // heartbeat. When it comes back, try at once.
  addEventListener("offline", () => { if (state.ws) linkLost(); });
  addEventListener("online", () => { state.backoff = 500; if (!state.ws && !state.stopped) connect(); });
  addEventListener("pageshow", (e) => { if (e.persisted && state.pin) lock(); });
  $("push-toggle").addEventListener("click", togglePush);
  $("menu-toggle").addEventListener("click", () => ($("menu").hidden ? openMenu() : closeMenu()));
  $("menu-close").addEventListener("click", closeMenu);
  $("menu").addEventListener("keydown", (e) => { if (e.key === "Escape") closeMenu(); });
  $("pin-toggle").addEventListener("click", openPinForm);
  $("pin-off").addEventListener("click", removePin);
  $("pin-form").addEventListener("submit", savePin);
  $("pin-explain").textContent = t("pinExplain", { max: PIN_TRIES });
  $("attach").addEventListener("click", openAttachMenu);
  $("attach-cancel").addEventListener("click", closeAttachMenu);
  $("attach-menu").addEventListener("keydown", (e) => { if (e.key === "Escape") closeAttachMenu(); });
  $("attach-camera").addEventListener("click", () => $("file-camera").click());
  $("attach-pick").addEventListener("click", () => $("file-pick").click());
  $("file-pick").addEventListener("change", onFile);
  $("file-camera").addEventListener("change", onFile);
  $("viewer-close").addEventListener("click", closeViewer);
  $("viewer").addEventListener("keydown", (e) => { if (e.key === "Escape") closeViewer(); });
}

async function boot() {
  applyStatic();
  document.documentElement.lang = lang;
  renderOrgName();
  wire();
  thread = createThread(threadParts());
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
  const known = localStorage.getItem(SIGNED_IN) || sessionStorage.getItem(SIGNED_IN);
  if (known) {
    // Signed in on this device: open what it holds at once, and let the
    // live connection find out (offline, a server error) how things stand.
    await start();
    return;
  }
  // Signed out means nothing of a session stays: finish any wipe that
  // was interrupted (a closed tab, a reload).
  await wipeStore();
  const notice = sessionStorage.getItem(NOTICE) || "";
  sessionStorage.removeItem(NOTICE);
  showLogin(notice);
}

boot();
