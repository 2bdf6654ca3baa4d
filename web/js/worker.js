// The engine's thread: loads the wasm module and a model, turns drawings into 28×28 inputs and
// runs inferences, so that the page never waits on them.
//
// Every answer's spikes are drawn on the page's two canvases (model.drawSpikes).
//
// Messages in:  {id, type: "canvases", heat: OffscreenCanvas, bars: OffscreenCanvas}
//               {id, type: "load", url, dataset, backend}
//               {id, type: "infer", pixels: Float32Array(784)}
//               {id, type: "draw", ink: Float32Array(w·h), width, height}
// Messages out: {id, ok: true, info} after "load"; {id, ok: true, input, result, layout} after
//               "infer" and "draw" (layout: where drawSpikes drew, {heat, bars});
//               {id, ok: true} after "canvases"; {id, ok: false, error} on failure.
import init, { Model, mnistify } from "../pkg/mtsnn_web.js";

const ready = init();
let model = null;
let canvases = null;
/** The demo's look: its font; heat maps and bars on separate canvases. */
const FONT = "13px system-ui, sans-serif";

/** Classifies `input`, draws the answer's spikes; the reply of "infer" and "draw". */
async function answer(input) {
  const result = await model.infer(input);
  const layout = canvases && {
    heat: model.drawSpikes(canvases.heat, result, { parts: "layers", font: FONT }),
    bars: model.drawSpikes(canvases.bars, result, { parts: "output", font: FONT, barWidth: 200 }),
  };
  return { input, result, layout };
}

/** What the page shows about a loaded model. */
function describe(m, bytes, millis) {
  return {
    net: m.net,
    dataset: m.dataset,
    steps: m.steps,
    classes: m.classes,
    classNames: m.classNames,
    sMax: m.sMax,
    backend: m.backend,
    backendNote: m.backendNote,
    layers: m.layers,
    bytes,
    loadMillis: millis,
  };
}

async function handle(msg) {
  await ready;
  switch (msg.type) {
    case "canvases": {
      canvases = { heat: msg.heat, bars: msg.bars };
      return {};
    }
    case "load": {
      const start = performance.now();
      const response = await fetch(msg.url);
      if (!response.ok) throw new Error(`${msg.url}: HTTP ${response.status}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const next = await Model.load(bytes, { dataset: msg.dataset, backend: msg.backend });
      model?.free();
      model = next;
      return { info: describe(model, bytes.length, performance.now() - start) };
    }
    case "infer": {
      if (!model) throw new Error("no model loaded");
      return answer(msg.pixels);
    }
    case "draw": {
      if (!model) throw new Error("no model loaded");
      return answer(mnistify(msg.ink, msg.width, msg.height));
    }
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

// One message at a time, in arrival order: a model is never swapped under a running inference.
let queue = Promise.resolve();
self.onmessage = ({ data }) => {
  queue = queue.then(async () => {
    try {
      self.postMessage({ id: data.id, ok: true, ...(await handle(data)) });
    } catch (e) {
      self.postMessage({ id: data.id, ok: false, error: String(e?.message ?? e) });
    }
  });
};
