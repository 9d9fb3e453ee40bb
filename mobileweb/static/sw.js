// Caches the app shell only. Never API answers, never message contents.
const SHELL = "taiwa-shell-v3";
const FILES = ["./", "index.html", "style.css", "app.js", "i18n.js", "store.js", "push.js", "offline.html", "manifest.webmanifest", "icon-192.png", "icon-512.png"];

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
  // Network first so that an update arrives at once; the shell when offline.
  e.respondWith(fetch(e.request).catch(async () => {
    const hit = await caches.match(e.request);
    if (hit) return hit;
    if (e.request.mode === "navigate") return caches.match("offline.html");
    return Response.error();
  }));
});

// A push says only that a reply is waiting (see server/internal/push): the
// words shown are chosen here, in the phone's language, and name nobody.
self.addEventListener("push", (e) => {
  const en = (self.navigator.language || "").startsWith("en");
  e.waitUntil(self.registration.showNotification(en ? "New reply" : "新しい返信", {
    body: en ? "Open the app to read it." : "アプリを開いて確認してください。",
    tag: "taiwa-reply", // one notice, however many replies
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
