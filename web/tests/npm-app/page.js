// A page bundled with esbuild from the installed package, as its README says: classifies the
// shipped MNIST test digits and draws the last one's spikes; `window.answer` resolves with the
// answers.
// URL parameter: `backend=auto|webgpu|cpu`.
import init, { Model } from "mtsnn";
import wasmUrl from "mtsnn/mtsnn_bg.wasm";

async function run() {
  // esbuild's file loader gives the wasm file's path relative to the bundle.
  await init({ module_or_path: new URL(wasmUrl, import.meta.url) });
  const backend = new URLSearchParams(location.search).get("backend") ?? "auto";
  const bytes = new Uint8Array(await (await fetch("mnist.safetensors")).arrayBuffer());
  const model = await Model.load(bytes, { backend });
  const samples = await (await fetch("mnist.json")).json();
  const raw = Uint8Array.from(atob(samples.pixels), (c) => c.charCodeAt(0));
  const answers = [];
  let r;
  for (let i = 0; i < samples.labels.length; i++) {
    r = await model.infer(Float32Array.from(raw.subarray(784 * i, 784 * (i + 1)), (b) => b / 255));
    answers.push({ label: r.label, outputCounts: r.outputCounts, backend: r.backend });
  }
  document.getElementById("out").textContent = `${answers.length} digits on ${model.backend}`;
  const layout = model.drawSpikes(document.getElementById("spikes"), r);
  return { net: model.net, backend: model.backend, answers, drawn: [layout.width, layout.height] };
}

window.answer = run();
