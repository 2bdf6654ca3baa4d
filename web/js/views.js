// Drawing the results: the network's input, output spikes per class and step, hidden-layer heat
// maps and the numbers of one inference.

/** Stops of the "inferno" colour map, from 0 to 1. */
const RAMP = [[0, 0, 4], [66, 10, 104], [147, 38, 103], [221, 81, 58], [252, 165, 10], [252, 255, 164]];

/** RGB of `x` in 0..1 on the colour ramp. */
function ramp(x) {
  const t = Math.min(Math.max(x, 0), 1) * (RAMP.length - 1);
  const i = Math.min(Math.floor(t), RAMP.length - 2);
  const f = t - i;
  return RAMP[i].map((a, k) => Math.round(a + f * (RAMP[i + 1][k] - a)));
}

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

/** Output spikes: one row per class, one coloured segment per time step. */
export function drawBars(container, counts, names, label, sMax) {
  const full = sMax * counts.length;
  const rows = names.map((name, c) => {
    const track = el("div", "track");
    for (const [t, step] of counts.entries()) {
      const seg = el("div", `seg t${t + 1}`);
      seg.style.width = `${(100 * step[c]) / full}%`;
      track.append(seg);
    }
    const perStep = counts.map((step) => step[c]);
    const total = perStep.reduce((a, b) => a + b, 0);
    return [el("span", c === label ? "name win" : "name", name), track, el("span", "count", `${perStep.join(" + ")} = ${total}`)];
  });
  container.replaceChildren(...rows.flat());
}

/** Grid of a layer's units: as square as possible. */
function grid(units) {
  const cols = Math.ceil(Math.sqrt(units));
  return [cols, Math.ceil(units / cols)];
}

/** Heat maps of every hidden layer, one per time step; one cell per neuron (or channel). */
export function drawHeat(container, info, layerCounts, sMax) {
  const figures = info.layers.slice(0, -1).map((layer, l) => {
    const [cols, rows] = grid(layer.units);
    const scale = Math.max(2, Math.floor(240 / Math.max(cols, rows)));
    // Conv layers report spikes summed over the map: scale the ramp to its size.
    const max = sMax * layer.shape[1] * layer.shape[2];
    const fig = el("figure");
    const what = layer.kind === "conv" ? `${layer.units} channels (spikes summed over ${layer.shape[1]}×${layer.shape[2]})` : `${layer.units} neurons`;
    const spikes = layerCounts[l].map((step) => step.reduce((a, b) => a + b, 0));
    fig.append(el("figcaption", "", `Layer ${l + 1}: ${what} — ${spikes.map((s, t) => `step ${t + 1}: ${s}`).join(", ")} spikes`));
    const steps = el("div", "steps");
    for (const [t, counts] of layerCounts[l].entries()) {
      const canvas = el("canvas");
      canvas.width = cols;
      canvas.height = rows;
      canvas.style.width = `${cols * scale}px`;
      canvas.style.height = `${rows * scale}px`;
      canvas.title = `layer ${l + 1}, step ${t + 1}`;
      const img = new ImageData(cols, rows);
      // Square-root scale: most neurons fire a few times, a few fire often.
      counts.forEach((n, i) => img.data.set([...ramp(Math.sqrt(n / max)), 255], 4 * i));
      canvas.getContext("2d").putImageData(img, 0, 0);
      steps.append(canvas);
    }
    fig.append(steps);
    return fig;
  });
  container.replaceChildren(...figures);
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
