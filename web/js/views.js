// Drawing the results: the network's input and the numbers of one inference. The spikes
// themselves (hidden-layer heat maps, output bars) are drawn by the engine: `model.drawSpikes`
// in the worker.

/** Shows 784 intensities in 0..1 on a 28×28 canvas. */
export function drawInput(canvas, pixels) {
  const img = new ImageData(28, 28);
  pixels.forEach((p, i) => {
    const v = Math.round(p * 255);
    img.data.set([v, v, v, 255], 4 * i);
  });
  canvas.getContext("2d").putImageData(img, 0, 0);
}

/** One element with a class and optional text. */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A number with thin-space thousands separators. */
const fmt = (n) => Math.round(n).toLocaleString("en-US").replaceAll(",", "\u2009");

/** The numbers of one inference. */
export function drawStats(dl, result, info) {
  const backend = result.backend === "webgpu" ? "WebGPU" : "CPU (wasm)";
  const rows = [
    ["Total spikes", fmt(result.totalSpikes)],
    ["Synaptic operations", `${fmt(result.synops)} accumulates`],
    ["Backend", info.backendNote ? `${backend} — ${info.backendNote}` : backend],
    ["Inference time", `${(result.micros / 1000).toFixed(2)} ms`],
    ["Network", `${info.net}, T = ${info.steps}, ${(info.bytes / 1e6).toFixed(2)} MB of weights`],
  ];
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", "", k), el("dd", "", v)]));
  dl.dataset.backend = result.backend;
}
