// Japanese first; English when the browser prefers it.
const ja = {
  appName: "対話", exit: "閉じる", signIn: "ログイン", loginId: "ログインID", password: "パスワード",
  shared: "共用の端末（閉じたら何も残さない）", signInButton: "ログイン", empty: "メッセージを書いて送ってください。担当者から返事が届きます。",
  message: "メッセージ", placeholder: "メッセージを入力", send: "送信", logout: "ログアウト",
  sending: "送信中", sent: "送信済み", delivered: "届きました", read: "既読", waiting: "送信待ち（接続後に送ります）",
  open: "", closed: "受付時間外です。{at}以降に返信します。", closedNoTime: "受付時間外です。",
  paused: "現在お休みしています。{at}以降に返信します。", pausedNoTime: "現在お休みしています。再開までお待ちください。",
  blocked: "受付時間外のため送信できません。", badLogin: "ログインIDまたはパスワードが正しくありません。",
  tooMany: "試行回数が多すぎます。しばらくしてからお試しください。", expired: "このログインは使えません。担当者にお問い合わせください。",
  offline: "オフラインです。接続を待っています…", connecting: "接続しています…", ended: "ログアウトしました。",
  notice: "自動のお知らせ：受付時間外です。{at}以降に返信します。", noticeNoTime: "自動のお知らせ：受付時間外です。",
  network: "接続できません。通信環境を確認してください。",
  locked: "ロック中", pinEnter: "PINを入力してください", unlock: "開く", pinWrong: "PINが違います（あと{left}回で、この端末のデータを消去します）",
  pinNew: "この端末で開くときのPIN（4〜8桁の数字）", pinSave: "PINを設定", pinSet: "PINを設定", pinChange: "PINを変更", pinDone: "PINを設定しました。",
  pinBad: "4〜8桁の数字で入力してください。",
  pushOn: "返信を通知する", pushOff: "通知を止める",
  pushStarted: "返信があると、この端末に通知します。通知に内容や名前は表示されません。",
  pushStopped: "通知を止めました。", pushDenied: "このブラウザでは通知が許可されていません。ブラウザの設定で許可してください。",
  pushFailed: "通知の設定ができませんでした。通信環境を確認して、もう一度お試しください。",
};
const en = {
  appName: "Taiwa", exit: "Close", signIn: "Sign in", loginId: "Login ID", password: "Password",
  shared: "Shared device (keep nothing after closing)", signInButton: "Sign in", empty: "Write a message and send it. A counselor will answer.",
  message: "Message", placeholder: "Write a message", send: "Send", logout: "Sign out",
  sending: "sending", sent: "sent", delivered: "delivered", read: "read", waiting: "waiting (sent when online)",
  open: "", closed: "Closed now. Replies from {at}.", closedNoTime: "Closed now.",
  paused: "Paused. Replies from {at}.", pausedNoTime: "Paused for now. Please wait until it reopens.",
  blocked: "Closed now: messages cannot be sent.", badLogin: "Login ID or password is incorrect.",
  tooMany: "Too many attempts. Please try again later.", expired: "This login can no longer be used. Please ask your counselor.",
  offline: "Offline. Waiting for the connection…", connecting: "Connecting…", ended: "Signed out.",
  notice: "Automatic notice: closed now. Replies from {at}.", noticeNoTime: "Automatic notice: closed now.",
  network: "Cannot connect. Please check your network.",
  locked: "Locked", pinEnter: "Enter your PIN", unlock: "Open", pinWrong: "Wrong PIN ({left} more and this device's data is erased)",
  pinNew: "PIN to open the app on this device (4 to 8 digits)", pinSave: "Set PIN", pinSet: "Set a PIN", pinChange: "Change PIN", pinDone: "PIN set.",
  pinBad: "Use 4 to 8 digits.",
  pushOn: "Notify me of replies", pushOff: "Stop notifications",
  pushStarted: "This device will be notified of replies. Notices show no words and no names.",
  pushStopped: "Notifications stopped.", pushDenied: "Notifications are blocked in this browser. Allow them in the browser's settings.",
  pushFailed: "Could not set up notifications. Check your connection and try again.",
};

export const lang = (navigator.languages || [navigator.language]).find((l) => /^(ja|en)/.test(l))?.slice(0, 2) === "en" ? "en" : "ja";
const table = lang === "en" ? en : ja;

export function t(key, vars = {}) {
  return (table[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");
}

export function applyStatic(root = document) {
  document.documentElement.lang = lang;
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
}

export function when(iso) {
  const d = new Date(iso);
  return d.toLocaleString(lang === "en" ? "en" : "ja-JP", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
