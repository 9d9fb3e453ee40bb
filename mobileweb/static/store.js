// The device copy: messages, the resume cursor, the outbox (with the
// reason a message was refused, so that its words survive a reload) and
// the draft being written, in IndexedDB. Not used on a shared device (nothing is kept there), and
// deleted whole at logout, revocation and client deletion.
const NAME = "taiwa";

function req(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

function done(tx) {
  return new Promise((resolve, reject) => { tx.oncomplete = () => resolve(); tx.onerror = tx.onabort = () => reject(tx.error); });
}

export async function openStore() {
  const open = indexedDB.open(NAME, 1);
  open.onupgradeneeded = () => {
    const db = open.result;
    db.createObjectStore("messages", { keyPath: "id" }).createIndex("seq", "seq");
    db.createObjectStore("outbox", { keyPath: "ref" });
    db.createObjectStore("meta");
  };
  const db = await req(open);
  let order = Date.now();
  const store = {
    async load() {
      const tx = db.transaction(["messages", "outbox", "meta"]);
      const [messages, outbox, cursor] = await Promise.all([
        req(tx.objectStore("messages").getAll()),
        req(tx.objectStore("outbox").getAll()),
        req(tx.objectStore("meta").get("cursor")),
      ]);
      outbox.sort((a, b) => a.at - b.at);
      order = Math.max(order, ...outbox.map((p) => p.at + 1));
      return { messages, outbox: outbox.map(({ ref, body, at, error }) => ({ ref, body, at, error })), cursor: cursor || 0 };
    },
    // putMessages stores a batch and the cursor in one transaction: a
    // replay of hundreds of messages is one write, not hundreds.
    async putMessages(ms, cursor) {
      const tx = db.transaction(["messages", "meta"], "readwrite");
      for (const m of ms) tx.objectStore("messages").put(m);
      tx.objectStore("meta").put(cursor, "cursor");
      await done(tx);
    },
    async dropBelow(seq) {
      const tx = db.transaction("messages", "readwrite");
      tx.objectStore("messages").index("seq").openCursor(IDBKeyRange.upperBound(seq, true)).onsuccess = (e) => {
        const c = e.target.result;
        if (c) { c.delete(); c.continue(); }
      };
      await done(tx);
    },
    // deleteMessages removes the messages with these IDs (expired ones).
    async deleteMessages(ids) {
      const tx = db.transaction("messages", "readwrite");
      for (const id of ids) tx.objectStore("messages").delete(id);
      await done(tx);
    },
    async clearMessages() {
      const tx = db.transaction("messages", "readwrite");
      tx.objectStore("messages").clear();
      await done(tx);
    },
    // putPending adds or updates an outbox entry; a new one goes last.
    async putPending(p) {
      if (p.at === undefined) p.at = order++;
      const tx = db.transaction("outbox", "readwrite");
      tx.objectStore("outbox").put({ ref: p.ref, body: p.body, at: p.at, error: p.error ?? null });
      await done(tx);
    },
    async removePending(ref) {
      const tx = db.transaction("outbox", "readwrite");
      tx.objectStore("outbox").delete(ref);
      await done(tx);
    },
    async getMeta(key) {
      return req(db.transaction("meta").objectStore("meta").get(key));
    },
    async putMeta(key, value) {
      const tx = db.transaction("meta", "readwrite");
      tx.objectStore("meta").put(value, key);
      await done(tx);
    },
    close() { db.close(); },
  };
  openStore.current = store;
  return store;
}

// wipeStore deletes every database of this origin: the app's own and the
// ones the Firebase SDK keeps for a push token. It resolves true if a
// deletion is blocked by a connection still open in this page (Firebase
// never closes its own): it completes once the page is reloaded.
export async function wipeStore() {
  openStore.current?.close();
  openStore.current = null;
  const names = new Set([NAME]);
  for (const d of await indexedDB.databases?.().catch(() => []) ?? []) names.add(d.name);
  const blocked = await Promise.all([...names].map((n) => new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(n);
    r.onsuccess = r.onerror = () => resolve(false);
    r.onblocked = () => resolve(true);
  })));
  return blocked.includes(true);
}
