// Photos and PDFs in the client app (issue 14): chosen or taken on the
// phone, shown before they go, sent without their hidden data, shown in
// the thread as thumbnails; a counselor's photo opens whole; a file too
// large or of another kind is refused on the phone with the reason; and
// another client can never fetch one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, phone, signIn, counselor, seedConversation, shot } from "./helpers.mjs";

let env;
before(async () => { env = await setup(); });
after(async () => { await env?.close(); });

const synced = (page) => page.waitForFunction(() => document.getElementById("net").hidden && !document.getElementById("chat-view").hidden);

// photoWithLocation draws a real JPEG in the browser and puts an Exif
// segment after its start, as a phone's camera would, with a marker
// where the GPS data would be.
async function photoWithLocation(page, marker) {
  const bytes = await page.evaluate(async (marker) => {
    const c = document.createElement("canvas");
    c.width = 1200; c.height = 800;
    const g = c.getContext("2d");
    const grad = g.createLinearGradient(0, 0, 1200, 800);
    grad.addColorStop(0, "#7fb8d8"); grad.addColorStop(1, "#f2d29b");
    g.fillStyle = grad; g.fillRect(0, 0, 1200, 800);
    g.fillStyle = "#2e7d74"; g.fillRect(150, 420, 900, 260);
    g.fillStyle = "#fff"; g.font = "bold 90px sans-serif"; g.fillText("手紙の写真", 330, 570);
    const blob = await new Promise((r) => c.toBlob(r, "image/jpeg", 0.9));
    const jpeg = new Uint8Array(await blob.arrayBuffer());
    const payload = new TextEncoder().encode("Exif\0\0" + marker);
    const seg = new Uint8Array(4 + payload.length);
    seg.set([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255]);
    seg.set(payload, 4);
    const out = new Uint8Array(jpeg.length + seg.length);
    out.set(jpeg.slice(0, 2)); out.set(seg, 2); out.set(jpeg.slice(2), 2 + seg.length);
    return Array.from(out);
  }, marker);
  return Buffer.from(bytes);
}

const pdf = (size) => {
  const head = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n");
  return Buffer.concat([head, Buffer.alloc(Math.max(0, size - head.length), 0x20)]);
};

test("a client sends a photo and a PDF from a long conversation; the counselor's photo opens whole; nothing hidden travels", async () => {
  const cred = await env.newClient("みずき");
  const { conv, co } = await seedConversation(env, cred, 60);
  const { ctx, page, errors } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  await page.waitForSelector("li.msg >> text=相談者のメッセージ 55");

  // The photo: chosen from the phone, shown before it goes, with what
  // happens to its hidden data.
  await page.click("#attach");
  await page.waitForSelector("#attach-menu:not([hidden])");
  assert.match(await page.textContent("#attach-limit"), /10\.0 MB/);
  await shot(page, "pwa-attach-menu.png");
  const marker = "GPS-35.6586N-139.7454E-CANARY";
  await page.setInputFiles("#file-pick", { name: "IMG_0042 山田家.jpg", mimeType: "image/jpeg", buffer: await photoWithLocation(page, marker) });
  await page.waitForSelector("#attach-confirm:not([hidden]) #attach-preview img");
  assert.match(await page.textContent("#attach-note"), /撮影場所/);
  await shot(page, "pwa-attach-confirm.png");
  await page.click("#attach-send");
  await page.waitForSelector("#attach-confirm", { state: "hidden" });
  await page.waitForFunction(() => [...document.querySelectorAll("li.msg.mine:not(.pending) img.thumb")].some((i) => i.complete && i.naturalWidth > 0));

  // The counselor reads what arrived: a JPEG without the marker, and no
  // name anywhere.
  const arrived = await co.page.waitForFunction(() => window.frames_.find((f) => f.type === "message" && f.message.attachment)?.message);
  const m = await arrived.jsonValue();
  assert.equal(m.attachment.type, "image/jpeg");
  assert.equal(m.body, undefined);
  assert.ok(!JSON.stringify(m).includes("IMG_0042") && !JSON.stringify(m).includes("山田"));
  const got = await co.page.evaluate(async (id) => {
    const r = await fetch(`/api/v1/attachments/${id}`);
    const b = new Uint8Array(await r.arrayBuffer());
    return { status: r.status, type: r.headers.get("content-type"), cache: r.headers.get("cache-control"), head: Array.from(b.slice(0, 3)), text: new TextDecoder("latin1").decode(b) };
  }, m.attachment.id);
  assert.equal(got.status, 200);
  assert.equal(got.type, "image/jpeg");
  assert.equal(got.cache, "no-store");
  assert.deepEqual(got.head, [0xff, 0xd8, 0xff]);
  assert.ok(!got.text.includes("CANARY"), "the photo's hidden location travelled");

  // A PDF: sent as it is, shown as a card with a save button that says
  // first that the copy stays on the phone.
  await page.click("#attach");
  await page.setInputFiles("#file-pick", { name: "診断書.pdf", mimeType: "application/pdf", buffer: pdf(3000) });
  await page.waitForSelector("#attach-confirm:not([hidden])");
  assert.match(await page.textContent("#attach-note"), /PDF/);
  await page.click("#attach-send");
  await page.waitForSelector("li.msg.mine:not(.pending) .attachment.file >> text=PDF · 3 KB");
  const save = page.locator("li.msg.mine .attachment.file button").last();
  await save.click();
  assert.match(await save.textContent(), /消せません/);
  // (The longer warning grew the bubble; the client reads on at the bottom.)
  await page.evaluate(() => { const s = document.getElementById("scroller"); s.scrollTop = s.scrollHeight; });

  // The counselor answers with a photo: a thumbnail, and a tap shows it whole.
  await co.page.evaluate(async ({ conv }) => {
    const c = document.createElement("canvas");
    c.width = 900; c.height = 1200;
    const g = c.getContext("2d");
    g.fillStyle = "#e8f1ee"; g.fillRect(0, 0, 900, 1200);
    g.fillStyle = "#1d2a33"; g.font = "60px sans-serif"; g.fillText("相談窓口の地図", 200, 600);
    const blob = await new Promise((r) => c.toBlob(r, "image/png"));
    const r = await fetch(`/api/v1/conversations/${conv}/attachments`, { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: blob });
    const a = await r.json();
    await new Promise((res) => {
      const ref = "photo" + Math.random().toString(16).slice(2);
      window.acks_.set(ref, res);
      window.ws_.send(JSON.stringify({ type: "send", ref, conversation_id: conv, body: "窓口までの地図です", attachment: a.id }));
    });
  }, { conv });
  const theirs = page.locator("li.msg.theirs img.thumb").last();
  await theirs.waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll("li.msg.theirs img.thumb")].some((i) => i.complete && i.naturalWidth > 0));
  assert.match(await page.locator("li.msg.theirs").last().textContent(), /窓口までの地図です/);
  // The client was at the bottom: the photo's arrival keeps the view there.
  assert.equal(await page.isHidden("#new-pill"), true, "the view did not follow the photo");
  const last = await page.locator("li.msg").last().boundingBox();
  const input = await page.locator("#compose").boundingBox();
  assert.ok(last.y + last.height <= input.y + 1, "the photo's bubble hides under the input");
  await shot(page, "pwa-attach-thread.png");
  await theirs.click();
  await page.waitForSelector("#viewer:not([hidden])");
  await shot(page, "pwa-attach-viewer.png");
  await page.click("#viewer-close");
  await page.waitForSelector("#viewer", { state: "hidden" });

  // Another client, signed in on their own phone, cannot fetch it.
  const other = await env.newClient("よそのひと");
  const p2 = await phone(env);
  await signIn(env, p2.page, other);
  const status = await p2.page.evaluate(async (id) => (await fetch(`/api/v1/attachments/${id}`)).status, m.attachment.id);
  assert.equal(status, 404);
  await p2.ctx.close();

  assert.deepEqual(errors, []);
  await co.ctx.close();
  await ctx.close();
});

test("a file of another kind, or over the organisation's limit, is refused on the phone with the reason", async () => {
  const cred = await env.newClient("はると");
  const { ctx, page } = await phone(env);
  await signIn(env, page, cred);
  await synced(page);
  await page.fill("#text", "はじめまして");
  await page.click("#send");
  await page.waitForSelector("li.msg.mine:not(.pending)");
  await page.click("#attach");
  await page.setInputFiles("#file-pick", { name: "photo.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not a photo at all, whatever the name says") });
  await page.waitForSelector("#compose-error:not([hidden])");
  assert.match(await page.textContent("#compose-error"), /写真（JPEG・PNG・HEIC）とPDFだけ/);
  assert.equal(await page.isHidden("#attach-confirm"), true);

  await env.admin("PATCH", "/api/v1/org/settings", { attachment_max_bytes: 2000 });
  await page.reload();
  await synced(page);
  await page.click("#attach");
  assert.match(await page.textContent("#attach-limit"), /2 KB/);
  await page.setInputFiles("#file-pick", { name: "a.pdf", mimeType: "application/pdf", buffer: pdf(5000) });
  await page.waitForSelector("#compose-error:not([hidden])");
  assert.match(await page.textContent("#compose-error"), /大きすぎます/);
  assert.equal(await page.locator("li.msg.mine").count(), 1, "nothing was queued");
  await env.admin("PATCH", "/api/v1/org/settings", { attachment_max_bytes: 0 });
  await ctx.close();
});
