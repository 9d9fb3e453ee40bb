// Japanese first; English when the browser prefers it.
const ja = {
  guide: "このアプリの使い方",
  news: "お知らせ", newsClose: "お知らせを閉じる",
  appName: "対話", exit: "すぐに閉じる", exitLabel: "すぐに閉じる（画面を消して閉じます）", menu: "メニュー", menuClose: "閉じる",
  signIn: "ログイン", loginId: "ログインID", password: "パスワード", showPassword: "パスワードを表示",
  loginHint: "ログイン用紙に書かれたIDとパスワードを入力してください。全角で入力しても大丈夫です。",
  contactDefault: "ログイン用紙をなくしたときや、ログインできないときは、用紙を受け取った窓口にお問い合わせください。",
  shared: "共用の端末（閉じたら何も残さない）", signInButton: "ログイン",
  message: "メッセージ", placeholder: "メッセージを入力", send: "送信", logout: "ログアウト",
  piiTitle: "送る前に、少しだけ確かめてください",
  piiText: "{kinds}のようなものが書かれています。ここでは名前や連絡先を伝えなくても相談できます。匿名のままでいるために、送らないこともできます。",
  piiSend: "このまま送る", piiBack: "書き直す", piiSep: "・",
  attachLabel: "写真・ファイルを送る", attachTitle: "写真・ファイルを送る", attachCamera: "写真を撮る", attachPick: "写真・PDFを選ぶ",
  attachCancel: "やめる", attachLimit: "写真（JPEG・PNG・HEIC）とPDFを送れます。1つ{max}まで。",
  attachConfirmTitle: "このファイルを送りますか", attachSend: "送る",
  attachNoteImage: "写真に含まれる撮影場所や日時などの情報は取り除いて送ります。写っているもの（顔、名札、住所など）は、送る前にご確認ください。",
  attachNoteAsPicked: "この写真はこの端末では変換できないため、そのまま送ります。撮影場所などの情報が含まれることがあります。",
  attachNotePdf: "PDFはそのまま送ります。名前や連絡先が書かれていないか、送る前にご確認ください。",
  attachType: "送れるのは写真（JPEG・PNG・HEIC）とPDFだけです。", attachTooBig: "ファイルが大きすぎます（{size}）。1つ{max}まで送れます。",
  attachPhoto: "写真", attachHeic: "写真（HEIC）", attachSave: "端末に保存", attachSaveConfirm: "保存したファイルは対話では消せません。保存する",
  attachSaved: "保存しました", attachGone: "このファイルは削除されました", attachLoadFailed: "読み込めませんでした",
  attachUploading: "送信中 {pct}%", attachFailed: "ファイルを送れませんでした", attachTooBigShort: "大きすぎます",
  pii_phone: "電話番号", pii_postal: "郵便番号", pii_address: "住所", pii_email: "メールアドレス", pii_name: "お名前",
  sendHint: "Enterで改行、Ctrl+Enterで送信", sendHintMac: "Enterで改行、⌘+Enterで送信",
  sending: "送信中", sent: "送信済み", delivered: "届きました", read: "既読", waiting: "送信待ち（接続したら送ります）",
  counselor: "担当者", typing: "{name}が入力中…",
  closed: "受付時間外です。{at}以降に返信します。", closedNoTime: "受付時間外です。",
  paused: "受付を休止しています。{at}以降に返信します。", pausedNoTime: "受付を休止しています。再開までお待ちください。",
  noticeClosed: "自動のお知らせ：受付時間外です。{at}以降に返信します。", noticeClosedNoTime: "自動のお知らせ：受付時間外です。",
  noticePaused: "自動のお知らせ：受付を休止しています。{at}以降に返信します。", noticePausedNoTime: "自動のお知らせ：受付を休止しています。",
  noticeHandover: "担当者が変わりました。これまでのお話は引き継がれています。",
  noticeNominationReturned: "ご指名の担当者は、今回はお返事ができませんでした。ほかのスタッフがお返事します。",
  noticeApology: "申し訳ありません。いまはお返事できる担当者が見つかりませんでした。",
  waitingArrived: "メッセージを受け付けました。担当者からのお返事をお待ちください。",
  waitingTypical: "メッセージを受け付けました。最近は、お返事までおよそ{wait}です（目安です）。",
  hours: "{n}時間", days: "{n}日",
  nominateTitle: "相談する人を選ぶこともできます", nominateLead: "選ばなくても、受付中のスタッフがお返事します。",
  nominateButton: "{name}さんに相談する", nominated: "{name}さんを指名しました。お返事をお待ちください。",
  nominateFailed: "いまは指名できませんでした。そのまま書いていただければ、スタッフがお返事します。",
  blockedNow: "受付時間外のため、今は送れません。{at}から送れます。書いた内容はこのまま残ります。",
  blockedNowNoTime: "受付時間外のため、今は送れません。書いた内容はこのまま残ります。",
  blockedNowPaused: "受付を休止しているため、今は送れません。{at}から送れます。書いた内容はこのまま残ります。",
  blockedNowPausedNoTime: "受付を休止しているため、今は送れません。書いた内容はこのまま残ります。",
  failClosed: "受付時間外のため送れませんでした。{at}から送れます。", failClosedNoTime: "受付時間外のため送れませんでした。",
  failPaused: "受付を休止しているため送れませんでした。{at}から送れます。", failPausedNoTime: "受付を休止しているため送れませんでした。",
  failBody: "この内容は送れませんでした（使えない文字が含まれているか、長すぎます）。",
  failForbidden: "このログインでは送信できません。", failOther: "送れませんでした（{code}）。",
  retry: "もう一度送る", edit: "編集する", copy: "コピー", remove: "削除", removeConfirm: "本当に削除", copied: "コピーしました",
  tooLong: "長すぎます（{n} / {max}文字）。短くするか、分けて送ってください。",
  badLogin: "ログインIDまたはパスワードが正しくありません。何度も間違えると、しばらくログインできなくなります。",
  locked: "間違いが続いたため、このログインIDは一時的にロックされています。{wait}後にもう一度お試しください。",
  rateLimited: "ログインの試行が多すぎます。{wait}後にもう一度お試しください。",
  signInQueued: "ログインが混み合っています。順番に自動で続けますので、このままお待ちください…",
  expired: "このログインは使えません。担当者にお問い合わせください。",
  offline: "オフラインです。書いたメッセージは、接続したら送ります。", connecting: "接続しています…", ended: "ログアウトしました。",
  otherAddress: "このブラウザでは別の窓口にログインしています。この窓口を使うには、この窓口の用紙のIDでログインしてください。",
  network: "接続できません。通信環境を確認してください。",
  busy: "サーバーが混み合っているか、一時的に使えません。少し待ってから、もう一度お試しください。",
  seconds: "{n}秒", minutes: "{n}分",
  newMessages: "新しいメッセージ {n}件",
  today: "今日", yesterday: "昨日",
  welcomeDefault: "ここでは、担当者と1対1でやりとりできます。書いた内容は、この組織の担当者だけが読みます。",
  hoursToday: "今日の受付時間：{spans}", hoursAlways: "24時間受け付けています。", hoursNoneToday: "今日は受付がお休みです。",
  replyOpen: "受付時間内は、担当者が順番に返信します。", replyClosed: "今は受付時間外です。{at}以降に返信します。",
  replyPaused: "今は受付を休止しています。{at}以降に返信します。", replyLater: "再開したら返信します。",
  retentionDays: "メッセージは{n}日後に自動で消去されます（この端末からも）。",
  retentionHours: "メッセージは{n}時間後に自動で消去されます（この端末からも）。",
  lockTitle: "ロック中", pinEnter: "PINを入力してください", unlock: "開く",
  pinRule: "PINを{max}回続けて間違えると、この端末に保存された内容を消去し、ログアウトします。",
  pinWrong: "PINが違います。あと{left}回間違えると、この端末の内容を消去してログアウトします。",
  pinForgot: "PINを忘れたときは、ログインし直してください。この端末の内容は消えますが、ログインIDとパスワードでまた読めます。",
  pinReset: "ログインし直す", pinResetConfirm: "この端末の内容を消してログインし直す",
  pinSet: "PINを設定", pinChange: "PINを変更", pinOff: "PINをやめる", pinSave: "PINを設定",
  pinNew: "PIN（4〜8桁の数字）", pinAgain: "確認のため、もう一度", pinLockAfter: "ほかのアプリから戻ったとき",
  lockNow: "すぐにロック", lock1: "1分後からロック", lock5: "5分後からロック",
  pinExplain: "この端末でアプリを開くときにPINを聞きます。PINを{max}回続けて間違えると、この端末の内容を消去してログアウトします。",
  pinBad: "4〜8桁の数字で入力してください。", pinMismatch: "2つのPINが違います。もう一度入力してください。",
  pinDone: "PINを設定しました。次に開くときから、PINを聞きます。", pinRemoved: "PINをやめました。",
  pushOn: "返信を通知する", pushOff: "通知を止める",
  pushStarted: "返信があると、この端末に通知します。通知に内容や名前は表示されません。",
  pushStopped: "通知を止めました。", pushDenied: "このブラウザでは通知が許可されていません。ブラウザの設定で許可してください。",
  pushFailed: "通知の設定ができませんでした。通信環境を確認して、もう一度お試しください。",
};
const en = {
  guide: "How to use this app",
  news: "Notice", newsClose: "Close the notice",
  appName: "Taiwa", exit: "Quick exit", exitLabel: "Quick exit (clears the screen and closes)", menu: "Menu", menuClose: "Close",
  signIn: "Sign in", loginId: "Login ID", password: "Password", showPassword: "Show password",
  loginHint: "Enter the login ID and password printed on your slip. Full-width characters are fine.",
  contactDefault: "If you lost your slip or cannot sign in, ask the office that gave it to you.",
  shared: "Shared device (keep nothing after closing)", signInButton: "Sign in",
  message: "Message", placeholder: "Write a message", send: "Send", logout: "Sign out",
  piiTitle: "Before you send, a quick check",
  piiText: "This looks like it contains {kinds}. You can get help here without giving your name or contact details; to stay anonymous, you may leave it out.",
  piiSend: "Send as it is", piiBack: "Edit", piiSep: ", ",
  attachLabel: "Send a photo or file", attachTitle: "Send a photo or file", attachCamera: "Take a photo", attachPick: "Choose a photo or PDF",
  attachCancel: "Cancel", attachLimit: "You can send photos (JPEG, PNG, HEIC) and PDFs, up to {max} each.",
  attachConfirmTitle: "Send this file?", attachSend: "Send",
  attachNoteImage: "Hidden details in the photo (where and when it was taken) are removed before sending. Please check what it shows (faces, name tags, addresses).",
  attachNoteAsPicked: "This phone cannot convert this photo, so it is sent as it is: it may include where it was taken.",
  attachNotePdf: "PDFs are sent as they are. Please check they show no name or contact details.",
  attachType: "Only photos (JPEG, PNG, HEIC) and PDFs can be sent.", attachTooBig: "The file is too large ({size}). The limit is {max}.",
  attachPhoto: "Photo", attachHeic: "Photo (HEIC)", attachSave: "Save to phone", attachSaveConfirm: "Taiwa cannot delete a saved copy. Save",
  attachSaved: "Saved", attachGone: "This file has been deleted", attachLoadFailed: "Could not load",
  attachUploading: "sending {pct}%", attachFailed: "The file could not be sent", attachTooBigShort: "too large",
  pii_phone: "a phone number", pii_postal: "a postal code", pii_address: "an address", pii_email: "an e-mail address", pii_name: "a full name",
  sendHint: "Enter for a new line, Ctrl+Enter to send", sendHintMac: "Enter for a new line, ⌘+Enter to send",
  sending: "sending", sent: "sent", delivered: "delivered", read: "read", waiting: "waiting (sent when online)",
  counselor: "Counselor", typing: "{name} is typing…",
  closed: "Outside hours. Replies from {at}.", closedNoTime: "Outside hours.",
  paused: "Paused. Replies from {at}.", pausedNoTime: "Paused. Please wait until it reopens.",
  noticeClosed: "Automatic notice: outside hours. Replies from {at}.", noticeClosedNoTime: "Automatic notice: outside hours.",
  noticePaused: "Automatic notice: paused. Replies from {at}.", noticePausedNoTime: "Automatic notice: paused.",
  noticeHandover: "Another staff member now answers you. What you have said so far has been passed on.",
  noticeNominationReturned: "The staff member you asked for could not answer this time. Another member of staff will reply.",
  noticeApology: "We are sorry: nobody was able to answer you this time.",
  waitingArrived: "Your message was received. Please wait for a reply.",
  waitingTypical: "Your message was received. Replies have recently taken about {wait} (a rough figure).",
  hours: "{n} hours", days: "{n} days",
  nominateTitle: "You can also choose whom to talk to", nominateLead: "If you do not choose, whoever is on duty will reply.",
  nominateButton: "Talk to {name}", nominated: "You asked for {name}. Please wait for their reply.",
  nominateFailed: "The request did not go through. Write anyway: a member of staff will reply.",
  blockedNow: "Outside hours: messages cannot be sent now. You can send from {at}. Your text stays here.",
  blockedNowNoTime: "Outside hours: messages cannot be sent now. Your text stays here.",
  blockedNowPaused: "Paused: messages cannot be sent now. You can send from {at}. Your text stays here.",
  blockedNowPausedNoTime: "Paused: messages cannot be sent now. Your text stays here.",
  failClosed: "Not sent: outside hours. You can send from {at}.", failClosedNoTime: "Not sent: outside hours.",
  failPaused: "Not sent: paused. You can send from {at}.", failPausedNoTime: "Not sent: paused.",
  failBody: "This text could not be sent (it has characters that cannot be used, or is too long).",
  failForbidden: "This login cannot send messages.", failOther: "Not sent ({code}).",
  retry: "Send again", edit: "Edit", copy: "Copy", remove: "Delete", removeConfirm: "Really delete", copied: "Copied",
  tooLong: "Too long ({n} / {max} characters). Shorten it or send it in parts.",
  badLogin: "Login ID or password is incorrect. After several wrong tries, signing in is blocked for a while.",
  locked: "Too many wrong tries: this login ID is locked for now. Try again in {wait}.",
  rateLimited: "Too many sign-in attempts. Try again in {wait}.",
  signInQueued: "Many people are signing in. This continues by itself in turn; please wait…",
  expired: "This login can no longer be used. Please ask your counselor.",
  offline: "Offline. Messages you write are sent once connected.", connecting: "Connecting…", ended: "Signed out.",
  otherAddress: "This browser is signed in to another service. To use this one, sign in with the ID on its slip.",
  network: "Cannot connect. Please check your network.",
  busy: "The server is busy or briefly unavailable. Please wait a moment and try again.",
  seconds: "{n} seconds", minutes: "{n} minutes",
  newMessages: "{n} new messages",
  today: "Today", yesterday: "Yesterday",
  welcomeDefault: "Here you can talk one to one with a counselor. Only this organisation's counselors read what you write.",
  hoursToday: "Today's hours: {spans}", hoursAlways: "Open around the clock.", hoursNoneToday: "Closed today.",
  replyOpen: "During opening hours a counselor answers in turn.", replyClosed: "Outside hours now. Replies from {at}.",
  replyPaused: "Paused now. Replies from {at}.", replyLater: "Replies when it reopens.",
  retentionDays: "Messages are deleted automatically after {n} days (from this device too).",
  retentionHours: "Messages are deleted automatically after {n} hours (from this device too).",
  lockTitle: "Locked", pinEnter: "Enter your PIN", unlock: "Open",
  pinRule: "After {max} wrong PINs in a row, this device's copy is erased and you are signed out.",
  pinWrong: "Wrong PIN. {left} more wrong tries erase this device's copy and sign you out.",
  pinForgot: "Forgot your PIN? Sign in again: this device's copy is erased, and your login ID and password show the conversation again.",
  pinReset: "Sign in again", pinResetConfirm: "Erase this device's copy and sign in again",
  pinSet: "Set a PIN", pinChange: "Change PIN", pinOff: "Remove PIN", pinSave: "Set PIN",
  pinNew: "PIN (4 to 8 digits)", pinAgain: "The same PIN again", pinLockAfter: "When returning from another app",
  lockNow: "Lock at once", lock1: "Lock after 1 minute", lock5: "Lock after 5 minutes",
  pinExplain: "The app asks for the PIN when opened on this device. After {max} wrong PINs in a row, this device's copy is erased and you are signed out.",
  pinBad: "Use 4 to 8 digits.", pinMismatch: "The two PINs differ. Please enter them again.",
  pinDone: "PIN set. The app asks for it from the next opening.", pinRemoved: "PIN removed.",
  pushOn: "Notify me of replies", pushOff: "Stop notifications",
  pushStarted: "This device will be notified of replies. Notices show no words and no names.",
  pushStopped: "Notifications stopped.", pushDenied: "Notifications are blocked in this browser. Allow them in the browser's settings.",
  pushFailed: "Could not set up notifications. Check your connection and try again.",
};

export const lang = (navigator.languages || [navigator.language]).find((l) => /^(ja|en)/.test(l))?.slice(0, 2) === "en" ? "en" : "ja";
const table = lang === "en" ? en : ja;
const locale = lang === "en" ? "en" : "ja-JP";

export function t(key, vars = {}) {
  return (table[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");
}

export function applyStatic(root = document) {
  document.documentElement.lang = lang;
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll("[data-i18n-label]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nLabel)); });
}

// when is a date and time: "11/24 9:00".
export function when(iso) {
  return new Date(iso).toLocaleString(locale, { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

// clock is a time of day: "14:05".
export function clock(iso) {
  return new Date(iso).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
}

// dayKey names a local calendar day; dayLabel says it for a separator.
export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function dayLabel(iso, now = new Date()) {
  const key = dayKey(iso);
  if (key === dayKey(now)) return t("today");
  if (key === dayKey(new Date(now.getTime() - 86400000))) return t("yesterday");
  return new Date(iso).toLocaleDateString(locale, { month: "long", day: "numeric", weekday: "short" });
}

// wait says how long to wait, rounded up: "40秒", "15分".
export function wait(seconds) {
  return seconds < 60 ? t("seconds", { n: Math.max(1, Math.ceil(seconds)) }) : t("minutes", { n: Math.ceil(seconds / 60) });
}
