// From Node, as the package's README says: classifies the shipped test images of one model and
// prints the answers as one JSON object. Usage: node node.mjs MODEL.safetensors SAMPLES.json [ENTRY]
// where ENTRY is the package entry to import: `mtsnn` (the default) or `mtsnn/cpu`.
import { readFile } from "node:fs/promises";

const [modelPath, samplesPath, entry = "mtsnn"] = process.argv.slice(2);
const { default: init, Model } = await import(entry);
await init();
const bytes = await readFile(modelPath);
const model = await Model.load(bytes);
const samples = JSON.parse(await readFile(samplesPath, "utf8"));
const raw = Buffer.from(samples.pixels, "base64");
const answers = [];
for (let i = 0; i < samples.labels.length; i++) {
  const r = await model.infer(Float32Array.from(raw.subarray(784 * i, 784 * (i + 1)), (b) => b / 255));
  answers.push({ label: r.label, outputCounts: r.outputCounts, backend: r.backend });
}
// What asking for WebGPU gives: Node has none, and the CPU-only build never has it.
let webgpu;
try {
  await Model.load(bytes, { backend: "webgpu" });
  webgpu = "no error";
} catch (e) {
  webgpu = e.message;
}
console.log(JSON.stringify({ net: model.net, backend: model.backend, note: model.backendNote, hasWebGpu: Model.hasWebGpu, webgpu, answers }));
model.free();
