// The demo page: wires the drawing pad, the shipped test images and the model switch to the
// engine worker, and shows every answer.
//
// URL parameters: `model=mnist|fashion-mnist` (the first model), `backend=auto|webgpu|cpu`.
// Tests drive the page through `window.demo` (see the end of this file).
import { Engine, Latest } from "./engine.js";
import { Pad } from "./pad.js";
import { drawThumbnails, intensities, loadSamples } from "./samples.js";
import { drawInput, drawStats } from "./views.js";

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
$("backend").value = params.get("backend") ?? "auto";

/** What the input panel says about where its 28×28 pixels came from. */
const NOTES = {
  drawing: "Your drawing as 28×28 pixels: the ink's bounding box fit into 20×20 (aspect kept), centred by its centre of mass, as the MNIST digits were made.",
  sample: (dataset, name) => `A ${dataset === "mnist" ? "MNIST" : "FashionMNIST"} test image (true class: ${name}), as is.`,
};

/** The canvases the engine draws the spikes on (from its worker: model.drawSpikes). */
const spikes = { heat: document.createElement("canvas"), bars: document.createElement("canvas") };
$("heat").append(spikes.heat);
$("bars").append(spikes.bars);
const engine = new Engine(spikes.heat.transferControlToOffscreen(), spikes.bars.transferControlToOffscreen());
/** What the page currently shows; tests read it. */
const state = { dataset: null, info: null, samples: null, sample: -1, input: null, result: null, layout: null, source: null, error: null };

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
  if (isError) state.error = text;
}

/** Shows one answer: the input the network saw, the output spikes, the hidden layers, the numbers. */
function show({ input, result, layout }, source) {
  Object.assign(state, { input, result, layout, source });
  const names = state.info.classNames;
  drawInput($("seen"), input);
  $("seen-note").textContent = source.kind === "sample" ? NOTES.sample(state.dataset, names[source.label]) : NOTES.drawing;
  $("label").textContent = state.dataset === "mnist" ? names[result.label] : String(result.label);
  $("label-name").textContent = state.dataset === "mnist" ? "" : names[result.label];
  for (const canvas of Object.values(spikes)) canvas.style.visibility = "visible";
  drawStats($("stats"), result, state.info);
  document.querySelectorAll("#samples canvas").forEach((c, i) => c.classList.toggle("current", source.kind === "sample" && i === source.index));
}

/** Blanks the answer. */
function reset() {
  Object.assign(state, { input: null, result: null, layout: null, source: null });
  drawInput($("seen"), new Float32Array(784));
  $("seen-note").textContent = "";
  $("label").textContent = "–";
  $("label-name").textContent = "";
  for (const canvas of Object.values(spikes)) canvas.style.visibility = "hidden";
  $("stats").replaceChildren();
}

/** Runs the latest drawing through the network (at most one at a time, newest first). */
const drawing = new Latest(async () => {
  if (pad.blank) return reset();
  try {
    show(await engine.draw(pad.ink()), { kind: "drawing" });
  } catch (e) {
    status(`Inference failed: ${e.message}`, true);
  }
});
const pad = new Pad($("pad"), () => drawing.request());

/** Shows shipped test image `index` on the pad and classifies it. */
async function showSample(index) {
  await drawing.idle();
  const { images, labels } = state.samples;
  state.sample = ((index % images.length) + images.length) % images.length;
  pad.showImage(images[state.sample]);
  const reply = await engine.infer(intensities(images[state.sample]));
  show(reply, { kind: "sample", index: state.sample, label: labels[state.sample] });
  return state;
}

/** Switches to the model of `dataset` and its test images. */
async function setModel(dataset) {
  await drawing.idle();
  status(`Loading the ${dataset} model…`);
  document.querySelectorAll(".switch button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.model === dataset)));
  const url = new URL(`../models/${dataset}.safetensors`, import.meta.url).href;
  const [info, samples] = await Promise.all([engine.load(url, dataset, $("backend").value), loadSamples(dataset)]);
  Object.assign(state, { dataset, info, samples, sample: -1 });
  drawThumbnails($("samples"), samples, info.classNames, (i) => showSample(i));
  $("next").textContent = dataset === "mnist" ? "Next test digit ▸" : "Next test item ▸";
  const where = info.backend === "webgpu" ? "WebGPU" : "the CPU (wasm)";
  status(`${info.net} (${dataset}) loaded in ${Math.round(info.loadMillis)} ms; running on ${where}${info.backendNote ? ` — ${info.backendNote}` : ""}.`);
  pad.clear();
  return showSample(0);
}

$("clear").addEventListener("click", () => {
  pad.clear();
  drawing.request();
});
$("next").addEventListener("click", () => showSample(state.sample + 1));
document.querySelectorAll(".switch button").forEach((b) =>
  b.addEventListener("click", () => setModel(b.dataset.model).catch((e) => status(e.message, true))),
);
$("backend").addEventListener("change", () => setModel(state.dataset ?? "mnist").catch((e) => status(e.message, true)));

const ready = setModel(params.get("model") ?? "mnist").catch((e) => {
  status(`Cannot start: ${e.message}`, true);
  throw e;
});

/** Hooks for the browser tests (and the curious, from the console). */
window.demo = { ready, state, showSample, setModel, idle: () => drawing.idle() };
