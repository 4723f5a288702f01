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

let shared = null;
/// One worker for a page's <nlc-img> elements (decodes run one after the other).
export function sharedWorker() {
  shared ??= new NlcWorker();
  return shared;
}
