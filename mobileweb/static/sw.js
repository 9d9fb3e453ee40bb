// Caches the app shell only. Never API answers, never message contents.
// The server writes the shell's version into VERSION: a changed file
// changes this script, the browser notices on its own update check (in
// the background, on each visit), installs the new shell into a new cache
// and the next opening uses it. Until then the shell is served from the
// cache first, so reopening the app costs no download.
const VERSION = "@VERSION@";
const SHELL = "taiwa-shell-" + VERSION;
const FILES = ["./", "style.css", "app.js", "i18n.js", "store.js", "push.js", "text.js", "view.js", "lock.js", "pii.js", "attach.js",
  "offline.html", "manifest.webmanifest", "icon-192.png", "icon-512.png"];

self.addEventListener("install", (e) => {
  // cache: "no-cache" revalidates with the server (ETags): the shell is
  // exactly this version, and what the page just loaded is not sent twice.
  e.waitUntil(caches.open(SHELL)
    .then((c) => c.addAll(FILES.map((f) => new Request(f, { cache: "no-cache" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith("taiwa-shell-") && k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// The API and the guides (/guide/, served by the server, opened from the
// app's footer and menu) always go to the network.
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/guide/")) return;
  e.respondWith(fromShell(e.request));
});

async function fromShell(req) {
  const cache = await caches.open(SHELL);
  // Every page of the scope is the app: the one cached page answers.
  const hit = req.mode === "navigate"
    ? await cache.match(new URL("./", self.registration.scope).href)
    : await cache.match(req, { ignoreSearch: true });
  if (hit) return hit;
  try {
    return await fetch(req);
  } catch (err) {
    if (req.mode === "navigate") return (await cache.match("offline.html")) || Response.error();
    throw err;
  }
}

// A push says only that a reply is waiting, or that there is news (an
// announcement; see server/internal/push): the words shown are chosen
// here, in the phone's language, and name nobody.
self.addEventListener("push", (e) => {
  const en = (self.navigator.language || "").startsWith("en");
  let kind = "reply";
  try {
    const d = e.data ? e.data.json() : {};
    kind = (d.data && d.data.kind) || d.kind || "reply"; // FCM wraps data; a bare payload does not
  } catch { /* not JSON: a reply, as before kinds existed */ }
  const news = kind === "news";
  e.waitUntil(self.registration.showNotification(
    news ? (en ? "News" : "お知らせ") : (en ? "New reply" : "新しい返信"), {
      body: news ? (en ? "Open the app to see it." : "アプリを開いて確認してください。") : (en ? "Open the app to read it." : "アプリを開いて確認してください。"),
      tag: news ? "taiwa-news" : "taiwa-reply", // one notice of each, however many
      icon: "icon-192.png",
      badge: "icon-192.png",
    }));
});

self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  e.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((list) => {
    const open = list.find((c) => new URL(c.url).origin === location.origin);
    return open ? open.focus() : self.clients.openWindow("./");
  }));
});
