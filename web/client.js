// A promise API over worker.js, shared by the converter page and <nlc-img>.
export class NlcWorker {
  constructor({ scalar = false } = {}) {
    const url = new URL("./worker.js", import.meta.url);
    if (scalar) url.searchParams.set("scalar", "1");
    this.worker = new Worker(url, { type: "module" });
    this.next = 1;
    this.pending = new Map();
    this.worker.onmessage = (e) => {
      const { id, progress, result, error } = e.data;
      const p = this.pending.get(id);
      if (!p) return;
      if (progress) {
        p.onProgress?.(progress[0], progress[1]);
        return;
      }
      this.pending.delete(id);
      if (error !== undefined) p.reject(new Error(error));
      else p.resolve(result);
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(e.message || "worker failed"));
      this.pending.clear();
    };
  }

  /// Runs `op` in the worker; `onProgress(done, total)` gets pixel counts.
  call(op, args = {}, onProgress = null, transfer = []) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, op, ...args }, transfer);
    });
  }
}

/// Several workers: each call goes to the one with the fewest calls in flight. One image
/// runs on one worker (wasm32 has no threads), so a pool pays when several images are
/// decoded at once (a page of <nlc-img>, several files dropped).
export class NlcPool {
  constructor(size = Math.min(navigator.hardwareConcurrency || 2, 4), options = {}) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => ({ w: new NlcWorker(options), busy: 0 }));
  }

  async call(op, args = {}, onProgress = null, transfer = []) {
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    try {
      return await slot.w.call(op, args, onProgress, transfer);
    } finally {
      slot.busy--;
    }
  }
}

let shared = null;
/// The pool a page's <nlc-img> elements share.
export function sharedWorker() {
  shared ??= new NlcPool();
  return shared;
}
