// The drawing area: white ink on black, drawn with mouse, pen or finger (pointer events).

/** Ink width as a fraction of the pad's side: about the stroke of an MNIST digit once scaled. */
const INK = 1 / 13;

export class Pad {
  /** `onInk()` runs after every change made by drawing. */
  constructor(canvas, onInk) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.onInk = onInk;
    this.last = null;
    this.showing = false;
    this.clear();
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const end of ["pointerup", "pointercancel", "lostpointercapture"]) {
      canvas.addEventListener(end, () => (this.last = null));
    }
  }

  /** Blanks the pad. */
  clear() {
    const { ctx, canvas } = this;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    this.blank = true;
    this.showing = false;
  }

  /** Shows a 28×28 image of 8-bit pixels; the next stroke starts a fresh drawing. */
  showImage(pixels) {
    const small = new ImageData(28, 28);
    pixels.forEach((p, i) => small.data.set([p, p, p, 255], 4 * i));
    const tmp = new OffscreenCanvas(28, 28);
    tmp.getContext("2d").putImageData(small, 0, 0);
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(tmp, 0, 0, this.canvas.width, this.canvas.height);
    this.blank = false;
    this.showing = true;
  }

  /** The ink as `width`×`height` intensities in 0..1. */
  ink() {
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    const ink = new Float32Array(width * height);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i] / 255;
    return { ink, width, height };
  }

  /** Pad coordinates of a pointer event. */
  at(e) {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
  }

  down(e) {
    if (e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    if (this.showing) this.clear();
    this.last = this.at(e);
    this.stroke([this.last]);
  }

  move(e) {
    if (!this.last) return;
    const events = e.getCoalescedEvents?.() ?? [e];
    const points = [this.last, ...events.map((c) => this.at(c))];
    this.stroke(points);
    this.last = points[points.length - 1];
  }

  /** Draws a polyline through `points` (a dot for one point) and reports the change. */
  stroke(points) {
    const { ctx, canvas } = this;
    const width = canvas.width * INK;
    ctx.beginPath();
    if (points.length === 1) {
      // Canvas drops zero-length segments, so a tap is drawn as a disc.
      ctx.fillStyle = "#fff";
      ctx.arc(...points[0], width / 2, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = width;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.moveTo(...points[0]);
      for (const p of points.slice(1)) ctx.lineTo(...p);
      ctx.stroke();
    }
    this.blank = false;
    this.onInk();
  }
}
