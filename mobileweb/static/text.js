// Pure text helpers: what the app makes of typed and received text. No
// DOM and no browser state here, so that they can be tested on their own.

// MAX_CHARS is the server's limit on one message, in characters (code
// points, as the server counts them).
export const MAX_CHARS = 10000;

// cleanBody normalises what pasting brings into a message, so that the
// server never refuses it for something the person cannot see: line
// breaks of every kind become "\n", other control characters (a vertical
// tab from an editor, a NUL) go, and a broken surrogate becomes U+FFFD.
export function cleanBody(s) {
  s = s.replace(/\r\n?|[\v\f\u0085\u2028\u2029]/g, "\n");
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u0008\u000e-\u001f\u007f-\u009f]/g, "");
  return typeof s.toWellFormed === "function" ? s.toWellFormed() : s.replace(/[\ud800-\udfff]/g, (c, i, all) => {
    const code = c.charCodeAt(0);
    const pair = code < 0xdc00 ? /[\udc00-\udfff]/.test(all[i + 1] || "") : /[\ud800-\udbff]/.test(all[i - 1] || "");
    return pair ? c : "\ufffd";
  });
}

// charCount counts characters as the server does (code points).
export function charCount(s) {
  let n = 0;
  for (const _ of s) n++; // eslint-disable-line no-unused-vars
  return n;
}

// normalizeLoginId undoes what a Japanese keyboard makes of a slip's
// characters: full-width letters and digits, the long vowel mark 「ー」 and
// other dashes, spaces. The server does the same; doing it here too shows
// the person the ID as it will be read.
export function normalizeLoginId(s) {
  return s.normalize("NFKC").replace(/[ーｰ‐‑‒–—―−]/g, "-").replace(/\s+/g, "").toLowerCase();
}

// normalizePassword does the same for a generated password (twelve of the
// slip's characters, grouped by dashes); anything else is kept as typed.
export function normalizePassword(s) {
  const folded = s.normalize("NFKC").replace(/[ーｰ‐‑‒–—―−]/g, "-");
  const compact = folded.replace(/[\s-]/g, "").toLowerCase();
  return /^[a-z2-9]{12}$/.test(compact) ? compact.replace(/^(.{4})(.{4})(.{4})$/, "$1-$2-$3") : s;
}

// Links in a counselor's message: https addresses, Japanese phone numbers
// (0120-783-556, 03-1234-5678, 090 1234 5678, +81 …), short dial numbers
// (#7119) and the emergency numbers written as 110番/119番/189番.
const LINK = /(https:\/\/[^\s<>"'`「」『』（）()、。]+)|((?:\+81[-\s]?|0)\d{1,4}[-‐−\s]?\d{1,4}[-‐−\s]?\d{3,4})|(#\d{4})(?!\d)|((?:110|119|189)(?=番))/g;

// linkParts splits text into plain parts and links: [{text}, {text, href}].
// Only https and tel links are made; anything else stays text.
export function linkParts(text) {
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(LINK)) {
    let [whole, url, phone, short, emergency] = m;
    let href = null;
    if (url) {
      whole = url.replace(/[.,!?;:]+$/, ""); // a sentence's end is not the address's
      try {
        const u = new URL(whole);
        if (u.protocol === "https:" && u.hostname) href = u.href;
      } catch { /* not an address */ }
    } else if (phone) {
      const digits = phone.replace(/^\+81/, "0").replace(/\D/g, "");
      if (digits.length >= 10 && digits.length <= 11 && !/\d/.test(text[m.index - 1] || "")) href = "tel:" + digits;
    } else if (short) {
      href = "tel:" + encodeURIComponent(short);
    } else if (emergency) {
      href = "tel:" + emergency;
    }
    if (!href) continue;
    if (m.index > last) parts.push({ text: text.slice(last, m.index) });
    parts.push({ text: whole, href });
    last = m.index + whole.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}
