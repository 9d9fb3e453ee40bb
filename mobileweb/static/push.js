// Push notices: "a reply is waiting", never its words. The Firebase SDK is
// bundled locally (vendor/firebase.js, see mobileweb/vendor) and imported
// only when the client turns notices on. The server forgets a device's
// token when its session ends; this side drops the browser's subscription
// and Firebase's own databases when the device is wiped.

let config;    // the server's answer: {enabled, web}
let messaging; // Firebase messaging, once loaded

// available says whether this server and this browser can deliver notices.
export async function available() {
  if (!("serviceWorker" in navigator && "PushManager" in window && "Notification" in window)) return false;
  if (config === undefined) {
    const r = await fetch("/api/v1/push/config").catch(() => null);
    if (!r?.ok) return false; // asked again next time
    config = await r.json();
  }
  return config.enabled === true;
}

function tokenRequest(method, token) {
  return fetch("/api/v1/push", { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }) });
}

async function load() {
  if (messaging) return messaging;
  const fb = await import("./vendor/firebase.js");
  if (!(await fb.isSupported())) throw new Error("unsupported");
  const { vapidKey, ...app } = config.web;
  messaging = { fb, vapidKey, m: fb.getMessaging(fb.initializeApp(app, "taiwa")) };
  return messaging;
}

// turnOn asks for permission (call it from the click itself: browsers
// allow the question only then), obtains this device's token and gives it
// to the server. It returns the token, or throws Error("denied") when the
// person or the browser said no.
export async function turnOn() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("denied");
  const { fb, vapidKey, m } = await load();
  const token = await fb.getToken(m, { vapidKey, serviceWorkerRegistration: await navigator.serviceWorker.ready });
  const r = await tokenRequest("PUT", token);
  if (!r.ok) throw new Error("server " + r.status);
  return token;
}

// turnOff tells the server to forget the token, then lets go of it here.
export async function turnOff(token) {
  const r = await tokenRequest("DELETE", token);
  if (!r.ok && r.status !== 401) throw new Error("server " + r.status);
  await forget(token);
}

// refresh gives a saved token to the server again (it may have forgotten
// it, e.g. after an upgrade); failures wait for the next start.
export async function refresh(token) {
  await tokenRequest("PUT", token).catch(() => {});
}

// forget drops the device's registration: Firebase's token (if there is
// one and Google can be reached) and the browser's push subscription in
// any case.
export async function forget(token) {
  if (token && config?.enabled && Notification.permission === "granted") {
    // Bounded: a phone offline or a slow Google must not hold up a logout;
    // the server has forgotten the token with the session already.
    await Promise.race([forgetAtFirebase(), new Promise((r) => setTimeout(r, 4000))]);
  }
  const reg = await navigator.serviceWorker?.getRegistration();
  const sub = await reg?.pushManager.getSubscription();
  await sub?.unsubscribe().catch(() => {});
}

async function forgetAtFirebase() {
  try {
    const { fb, vapidKey, m } = await load();
    // deleteToken works on the worker registration getToken was given
    // (without one it would install Firebase's default worker); getToken
    // answers from its own database here, without asking Google.
    await fb.getToken(m, { vapidKey, serviceWorkerRegistration: await navigator.serviceWorker.ready });
    await fb.deleteToken(m);
  } catch (e) {
    console.warn("push: could not delete the token at Firebase:", e);
  }
}
