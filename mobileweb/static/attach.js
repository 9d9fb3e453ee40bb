// Attachments in the client app (docs/protocol.md, "Attachments"): photos
// and PDFs go up as files of their own (POST .../attachments) and a
// message then carries the one uploaded. What the app shows of a file
// lives in memory only (blob: URLs, dropped with forget()); nothing of it
// is written to the device unless the client saves it, after being told.
import { t } from "./i18n.js";

// What the server takes (it decides again, by content).
export const TYPES = ["image/jpeg", "image/png", "image/heic", "application/pdf"];
export const ACCEPT = "image/jpeg,image/png,image/heic,image/heif,.heic,.heif,application/pdf";
export const DEFAULT_LIMIT = 10 * 1024 * 1024;
// Photos are sent at most this many pixels on their long side: enough to
// read a letter or a screen, and a phone's mobile data is spared.
const MAX_SIDE = 2560;

// sniff reads a file's first bytes and names its type as the server
// would (signatures, not names): "" for anything else.
export async function sniff(blob) {
  const b = new Uint8Array(await blob.slice(0, 16).arrayBuffer());
  const s = (i, str) => [...str].every((c, k) => b[i + k] === c.charCodeAt(0));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b[0] === 0x89 && s(1, "PNG\r\n\x1a\n")) return "image/png";
  if (s(0, "%PDF-")) return "application/pdf";
  if (s(4, "ftyp") && ["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"].some((brand) => s(8, brand))) return "image/heic";
  return "";
}

// prepare makes what is sent of a chosen file: a photo is drawn again
// (which leaves out its hidden data: where and when it was taken, the
// phone's name) and made smaller if it is large; a HEIC photo becomes a
// JPEG where the browser can read it, and goes as it is where it cannot
// (asPicked then says so). PDFs go as they are.
export async function prepare(file) {
  const type = await sniff(file);
  if (!type) return { error: "attachType" };
  if (type === "application/pdf") return { blob: file, type, asPicked: false };
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    if (type === "image/heic") return { blob: file, type, asPicked: true };
    return { error: "attachType" };
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const out = type === "image/png" ? "image/png" : "image/jpeg";
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, out, 0.88));
  if (!blob) return { error: "attachType" };
  return { blob, type: out, asPicked: false };
}

// upload sends a file to the conversation and reports progress (0–1);
// it resolves to the Attachment or rejects with {code, message, status}.
export function upload(convId, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("POST", `/api/v1/conversations/${convId}/attachments`);
    x.setRequestHeader("Content-Type", "application/octet-stream");
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress?.(e.loaded / e.total); };
    x.onload = () => {
      let body = null;
      try { body = JSON.parse(x.responseText); } catch { /* not JSON */ }
      if (x.status === 201 && body) resolve(body);
      else reject({ status: x.status, code: body?.error?.code || "internal", message: body?.error?.message || "" });
    };
    x.onerror = () => reject({ status: 0, code: "network" });
    x.send(blob);
  });
}

// urls: attachment ID → blob: URL of its content, in memory only.
const urls = new Map();

// objectURL fetches a file once and keeps it for this page's life.
export function objectURL(id) {
  let p = urls.get(id);
  if (!p) {
    p = fetch(`/api/v1/attachments/${id}`, { cache: "no-store" }).then(async (r) => {
      if (!r.ok) throw Object.assign(new Error("attachment " + r.status), { status: r.status });
      return URL.createObjectURL(await r.blob());
    });
    p.catch(() => urls.delete(id)); // a failure is tried again next time
    urls.set(id, p);
  }
  return p;
}

// localURL keeps a file just sent (this device has it already).
export function keepLocal(id, blob) {
  if (!urls.has(id)) urls.set(id, Promise.resolve(URL.createObjectURL(blob)));
}

// forget drops the files of messages no longer held (deleted, expired) or
// all of them (keep omitted: sign-out, wipe).
export async function forget(keep) {
  for (const [id, p] of urls) {
    if (keep && keep.has(id)) continue;
    urls.delete(id);
    p.then((u) => URL.revokeObjectURL(u), () => {});
  }
}

export function sizeText(n) {
  if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + " MB";
  return Math.max(1, Math.round(n / 1024)) + " KB";
}

function typeName(type) {
  return type === "application/pdf" ? "PDF" : type === "image/heic" ? t("attachHeic") : t("attachPhoto");
}

// attachmentEl shows a file in a bubble: a photo as a thumbnail (tap to
// see it whole), anything the browser cannot show as a card with a save
// button that says first that the saved copy stays on the phone.
export function attachmentEl(a, onView) {
  const box = document.createElement("div");
  box.className = "attachment";
  const card = () => {
    box.textContent = "";
    box.classList.add("file");
    const label = document.createElement("span");
    label.className = "file-label";
    label.textContent = typeName(a.type) + " · " + sizeText(a.size);
    const save = document.createElement("button");
    save.type = "button";
    save.className = "small";
    save.textContent = t("attachSave");
    save.addEventListener("click", () => saveFile(a, save));
    box.append(label, save);
  };
  if (a.type === "image/jpeg" || a.type === "image/png" || a.type === "image/heic") {
    const img = document.createElement("img");
    img.alt = typeName(a.type);
    img.className = "thumb";
    img.addEventListener("error", card, { once: true });
    img.addEventListener("click", () => onView?.(img.src, a));
    box.append(img);
    objectURL(a.id).then((u) => { img.src = u; }, (e) => gone(box, e));
  } else {
    card();
  }
  return box;
}

function gone(box, e) {
  box.textContent = e?.status === 404 ? t("attachGone") : t("attachLoadFailed");
  box.classList.add("file");
}

// saveFile writes a copy to the phone after saying it stays there.
async function saveFile(a, button) {
  if (!button.dataset.armed) {
    button.dataset.armed = "1"; // two steps, and the second says what it does
    button.textContent = t("attachSaveConfirm");
    return;
  }
  try {
    const u = await objectURL(a.id);
    const link = document.createElement("a");
    link.href = u;
    link.download = "taiwa-" + a.id + ({ "application/pdf": ".pdf", "image/heic": ".heic", "image/png": ".png" }[a.type] || ".jpg");
    document.body.append(link);
    link.click();
    link.remove();
    button.textContent = t("attachSaved");
  } catch (e) {
    button.textContent = e?.status === 404 ? t("attachGone") : t("attachLoadFailed");
  }
}
