// The thread on screen: day separators, bubbles, the outbox's bubbles with
// what went wrong and what can be done. Rendering is keyed, so an update
// touches only what changed and never moves what the person is reading:
// the view follows new messages only when it is already at the bottom,
// and otherwise offers a pill that counts them. Which messages have been
// on screen is observed, for read receipts that tell the truth.
import { t, clock, dayKey, dayLabel, when } from "./i18n.js";
import { linkParts } from "./text.js";
import { attachmentEl, sizeText } from "./attach.js";

const NEAR = 24; // px from the bottom that still count as "at the bottom"

// localURLs: files still on their way from this device → their blob: URL.
const localURLs = new WeakMap();

export function createThread({ scroller, list, pill, onSeen, onAction, onView }) {
  const nodes = new Map(); // key → {el, sig}
  let unseen = new Set(); // keys of others' messages that arrived below the view
  const onScreen = new Set(); // seqs of others' messages whose end is in view

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= NEAR;

  // A message counts as seen when its last line (the meta line) is fully
  // inside the list's visible area while the page is visible.
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const seq = Number(e.target.dataset.seq);
      if (e.isIntersecting && e.intersectionRatio >= 0.99) onScreen.add(seq);
      else onScreen.delete(seq);
    }
    reportSeen();
  }, { root: scroller, threshold: [0, 1] });

  function reportSeen() {
    if (document.visibilityState !== "visible" || !onScreen.size) return;
    onSeen(Math.max(...onScreen));
  }
  document.addEventListener("visibilitychange", reportSeen);

  function renderPill() {
    pill.hidden = unseen.size === 0;
    pill.textContent = t("newMessages", { n: unseen.size });
  }

  scroller.addEventListener("scroll", () => {
    if (unseen.size && atBottom()) {
      unseen = new Set();
      renderPill();
    }
  }, { passive: true });
  pill.addEventListener("click", () => scrollToBottom());

  // Keep the bottom in view when the list's box shrinks (the input grows,
  // a keyboard opens) if it was in view.
  let wasAtBottom = true;
  scroller.addEventListener("scroll", () => { wasAtBottom = atBottom(); }, { passive: true });
  new ResizeObserver(() => { if (wasAtBottom) scroller.scrollTop = scroller.scrollHeight; }).observe(scroller);

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    wasAtBottom = true;
    unseen = new Set();
    renderPill();
  }

  // render shows model = {messages (sorted by seq), outbox, conv, synced}.
  // follow: the person just sent something, so show the bottom.
  function render(model, { follow = false } = {}) {
    const stay = atBottom();
    const anchor = stay ? null : firstVisible();
    const items = buildItems(model);
    const wanted = new Set();
    let cur = list.firstChild;
    const fresh = [];
    for (const it of items) {
      wanted.add(it.key);
      let n = nodes.get(it.key);
      if (!n || n.sig !== it.sig) {
        const el = it.build();
        el.dataset.key = it.key;
        if (n) {
          if (n.el === cur) cur = cur.nextSibling;
          n.el.replaceWith(el);
          unobserve(n.el);
        } else if (it.theirs) {
          fresh.push(it.key);
        }
        n = { el, sig: it.sig };
        nodes.set(it.key, n);
        observe(el, it);
      }
      if (n.el === cur) cur = cur.nextSibling;
      else list.insertBefore(n.el, cur);
    }
    while (cur) {
      const next = cur.nextSibling;
      unobserve(cur);
      cur.remove();
      cur = next;
    }
    for (const key of nodes.keys()) if (!wanted.has(key)) nodes.delete(key);
    for (const key of unseen) if (!wanted.has(key)) unseen.delete(key);

    if (follow || stay) {
      scrollToBottom();
    } else {
      if (anchor) {
        const el = nodes.get(anchor.key)?.el;
        if (el) scroller.scrollTop += el.getBoundingClientRect().top - anchor.top;
      }
      if (model.initialised) for (const k of fresh) unseen.add(k);
      renderPill();
    }
  }

  // firstVisible is the first element whose bottom is below the list's
  // top edge, with its position: restored after the update.
  function firstVisible() {
    const top = scroller.getBoundingClientRect().top;
    for (const el of list.children) {
      const r = el.getBoundingClientRect();
      if (r.bottom > top) return { key: el.dataset.key, top: r.top };
    }
    return null;
  }

  function observe(el, it) {
    if (!it.theirs) return;
    const target = el.querySelector(".meta") || el;
    target.dataset.seq = it.seq;
    observer.observe(target);
  }

  function unobserve(el) {
    const target = el.querySelector?.(".meta") || el;
    if (target.dataset?.seq) {
      observer.unobserve(target);
      onScreen.delete(Number(target.dataset.seq));
    }
  }

  function buildItems(model) {
    const items = [];
    let day = "";
    const addDay = (iso) => {
      const k = dayKey(iso);
      if (k === day) return;
      day = k;
      const label = dayLabel(iso);
      items.push({ key: "d:" + k, sig: label, build: () => dayEl(label) });
    };
    const c = model.conv;
    for (const m of model.messages) {
      addDay(m.created_at);
      if (m.kind === "closed_notice" || m.kind === "handover" || m.kind === "nomination_returned" || m.kind === "apology") {
        items.push({ key: "m:" + m.id, sig: "", theirs: true, seq: m.seq, build: () => noticeEl(m) });
        continue;
      }
      const mine = m.sender_role === "client";
      if (mine) {
        const status = c && c.staff_read_seq >= m.seq ? t("read") : c && c.staff_delivered_seq >= m.seq ? t("delivered") : t("sent");
        items.push({ key: "m:" + m.id, sig: status, seq: m.seq, build: () => withFile(bubble(m.body, true, null, clock(m.created_at) + " · " + status + " · #" + m.seq), m.attachment) });
      } else {
        const name = m.sender_name || t("counselor");
        items.push({ key: "m:" + m.id, sig: name, theirs: true, seq: m.seq, build: () => withFile(bubble(m.body, false, name, clock(m.created_at) + " · #" + m.seq), m.attachment) });
      }
    }
    if (model.outbox.length) addDay(new Date().toISOString());
    for (const p of model.outbox) {
      let note = p.error ? failText(p.error) : model.synced ? t("sending") : t("waiting");
      if (p.file && !p.error && p.uploading) note = t("attachUploading", { pct: Math.round((p.progress || 0) * 100) });
      items.push({ key: "p:" + p.ref, sig: note + (p.error ? "!" : ""), build: () => pendingEl(p, note) });
    }
    return items;
  }

  // withFile puts a message's file above its words (a caption, or none).
  function withFile(li, a) {
    if (!a) return li;
    const body = li.querySelector(".body");
    li.insertBefore(attachmentEl(a, onView), body);
    if (!body.textContent) body.remove();
    return li;
  }

  // localFile shows a file still on its way from this device.
  function localFile(li, p) {
    let url = localURLs.get(p.file);
    if (!url) {
      url = URL.createObjectURL(p.file);
      localURLs.set(p.file, url);
    }
    const box = document.createElement("div");
    box.className = "attachment";
    if (p.type === "application/pdf" || p.type === "image/heic") {
      box.classList.add("file");
      box.textContent = (p.type === "application/pdf" ? "PDF" : t("attachHeic")) + " · " + sizeText(p.size || p.file.size);
    } else {
      const img = document.createElement("img");
      img.className = "thumb";
      img.alt = t("attachPhoto");
      img.src = url;
      box.append(img);
    }
    const body = li.querySelector(".body");
    li.insertBefore(box, body);
    if (!body.textContent) body.remove();
    if (p.uploading) {
      const bar = document.createElement("span");
      bar.className = "progress";
      const fill = document.createElement("span");
      fill.style.width = Math.round((p.progress || 0) * 100) + "%";
      bar.append(fill);
      li.append(bar);
    }
    return li;
  }

  function pendingEl(p, note) {
    let li = bubble(p.body, true, null, note);
    if (p.file) li = localFile(li, p);
    li.classList.add(p.error ? "failed" : "pending");
    if (!p.error) return li;
    li.querySelector(".meta").setAttribute("role", "alert");
    const actions = document.createElement("div");
    actions.className = "actions";
    const action = (name, label) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.dataset.action = name;
      b.textContent = t(label);
      b.addEventListener("click", () => {
        if (name === "remove" && !b.dataset.armed) {
          b.dataset.armed = "1"; // two steps: words are not thrown away by a slip
          b.textContent = t("removeConfirm");
          return;
        }
        onAction(name, p, b);
      });
      actions.append(b);
    };
    if (p.error.code === "closed") action("retry", "retry");
    if (!p.file) {
      action("edit", "edit");
      action("copy", "copy");
    }
    action("remove", "remove");
    li.append(actions);
    return li;
  }

  return { render, scrollToBottom, atBottom, reportSeen };
}

export function failText(e) {
  switch (e.code) {
    case "closed": {
      // The same word as the banner: paused, or outside hours.
      const key = e.state === "paused" ? "failPaused" : "failClosed";
      return e.reopens_at ? t(key, { at: when(e.reopens_at) }) : t(key + "NoTime");
    }
    case "invalid_body":
    case "bad_frame": return t("failBody");
    case "forbidden": return t("failForbidden");
    case "too_large": return t("attachFailed") + "：" + t("attachTooBigShort");
    case "unsupported_media_type": return t("attachFailed") + "：" + t("attachType");
    default: return t("failOther", { code: e.code });
  }
}

function dayEl(label) {
  const li = document.createElement("li");
  li.className = "day";
  const span = document.createElement("span");
  span.textContent = label;
  li.append(span);
  return li;
}

function noticeEl(m) {
  const li = document.createElement("li");
  li.className = "msg notice";
  if (m.kind === "handover") {
    li.textContent = t("noticeHandover");
    return li;
  }
  if (m.kind === "nomination_returned") {
    li.textContent = t("noticeNominationReturned");
    return li;
  }
  if (m.kind === "apology") {
    // The organisation's own words (with its alternatives) when it wrote
    // some; links and numbers in them are tappable like a counselor's.
    li.className = "msg notice apology";
    if (m.body) li.append(linkify(m.body));
    else li.textContent = t("noticeApology");
    return li;
  }
  const paused = m.state === "paused";
  const key = (paused ? "noticePaused" : "noticeClosed") + (m.reopens_at ? "" : "NoTime");
  li.textContent = t(key, { at: m.reopens_at ? when(m.reopens_at) : "" });
  return li;
}

// linkify is staff-side text with its https links and phone numbers made
// tappable (text only ever goes in as text nodes).
function linkify(body) {
  const text = document.createElement("div");
  text.className = "body";
  for (const part of linkParts(body)) {
    if (!part.href) {
      text.append(document.createTextNode(part.text));
      continue;
    }
    const a = document.createElement("a");
    a.href = part.href;
    a.textContent = part.text;
    if (part.href.startsWith("https:")) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
    }
    text.append(a);
  }
  return text;
}

// bubble builds one message. Counselors' words get their links (https and
// phone numbers) made tappable; the client's own text stays plain.
function bubble(body, mine, name, meta) {
  const li = document.createElement("li");
  li.className = mine ? "msg mine" : "msg theirs";
  if (name) {
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = name;
    li.append(who);
  }
  let text;
  if (mine) {
    text = document.createElement("div");
    text.className = "body";
    text.textContent = body;
  } else {
    text = linkify(body);
  }
  li.append(text);
  const m = document.createElement("span");
  m.className = "meta";
  m.textContent = meta;
  li.append(m);
  return li;
}
