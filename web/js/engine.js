// The page's side of the engine worker (worker.js): request/reply over postMessage.

/** A worker running the wasm engine; every call returns a promise of the worker's reply. It draws
 *  the spikes of every answer on two offscreen canvases: the hidden layers' heat maps, the
 *  output bars. */
export class Engine {
  constructor(heat, bars) {
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.nextId = 1;
    this.waiting = new Map();
    this.worker.onmessage = ({ data }) => {
      const pending = this.waiting.get(data.id);
      this.waiting.delete(data.id);
      if (data.ok) pending.resolve(data);
      else pending.reject(new Error(data.error));
    };
    this.worker.onerror = (e) => {
      const error = new Error(`the engine worker failed: ${e.message ?? "unknown error"}`);
      for (const pending of this.waiting.values()) pending.reject(error);
      this.waiting.clear();
    };
    this.call({ type: "canvases", heat, bars }, [heat, bars]);
  }

  /** Sends `msg` (with `transfer`able buffers) and resolves with the reply. */
  call(msg, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** Loads the model at `url`; resolves with its description. */
  async load(url, dataset, backend) {
    return (await this.call({ type: "load", url, dataset, backend })).info;
  }

  /** Classifies a 28×28 input of 0..1 intensities. */
  infer(pixels) {
    const copy = Float32Array.from(pixels);
    return this.call({ type: "infer", pixels: copy }, [copy.buffer]);
  }

  /** Prepares a drawing MNIST-style and classifies it; the reply holds the 28×28 input too. */
  draw({ ink, width, height }) {
    return this.call({ type: "draw", ink, width, height }, [ink.buffer]);
  }
}

/**
 * Runs `task` again whenever asked, but never twice at once: requests made while it runs are
 * folded into one more run, so a fast stream of drawing events never queues up stale work.
 */
export class Latest {
  constructor(task) {
    this.task = task;
    this.running = null;
    this.dirty = false;
  }

  /** Asks for a run that starts after this call; resolves when the runs have caught up. */
  request() {
    this.dirty = true;
    if (!this.running) this.running = this.drain();
    return this.running;
  }

  async drain() {
    try {
      while (this.dirty) {
        this.dirty = false;
        await this.task();
      }
    } finally {
      this.running = null;
    }
  }

  /** Resolves once nothing is running or asked for. */
  async idle() {
    while (this.running) await this.running;
  }
}
