// What both bundled pages do (page.js with `mtsnn`, page-cpu.js with `mtsnn/cpu`): classify the
// shipped MNIST test digits and draw the last one's spikes. URL parameter: `backend=auto|webgpu|cpu`
// (default auto).
export async function run(init, Model, wasmUrl) {
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
  let webgpu;
  try {
    (await Model.load(bytes, { backend: "webgpu" })).free();
    webgpu = "no error";
  } catch (e) {
    webgpu = e.message;
  }
  return { net: model.net, backend: model.backend, note: model.backendNote, hasWebGpu: Model.hasWebGpu, webgpu, answers, drawn: [layout.width, layout.height] };
}
