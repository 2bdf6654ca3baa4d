// From Node, as the package's README says: classifies the shipped test images of one model and
// prints the answers as one JSON object. Usage: node node.mjs MODEL.safetensors SAMPLES.json
import { readFile } from "node:fs/promises";
import init, { Model } from "mtsnn";

const [modelPath, samplesPath] = process.argv.slice(2);
await init();
const model = await Model.load(await readFile(modelPath));
const samples = JSON.parse(await readFile(samplesPath, "utf8"));
const raw = Buffer.from(samples.pixels, "base64");
const answers = [];
for (let i = 0; i < samples.labels.length; i++) {
  const r = await model.infer(Float32Array.from(raw.subarray(784 * i, 784 * (i + 1)), (b) => b / 255));
  answers.push({ label: r.label, outputCounts: r.outputCounts, backend: r.backend });
}
console.log(JSON.stringify({ net: model.net, backend: model.backend, answers }));
model.free();
