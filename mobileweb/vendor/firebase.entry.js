// What the PWA uses of the Firebase JS SDK: a device token for Web Push
// and its removal. app.js imports the bundle only when the client turns
// notifications on, so the first load does not carry it.
export { initializeApp, deleteApp } from "@firebase/app";
export { getMessaging, getToken, deleteToken, isSupported } from "@firebase/messaging";
