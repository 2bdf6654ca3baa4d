// A typed consumer of the npm package: scripts/npm-test.sh type-checks it with `tsc --noEmit`
// (strict) against the declarations the packed package ships, so a declaration that no longer
// matches how README uses the API fails the test. It is never run.
import init, { Model, mnistify } from "mtsnn";
import type { DrawOptions, InferResult, LayerDescription, LoadOptions, SpikeLayout } from "mtsnn";
import initCpu, { Model as CpuModel } from "mtsnn/cpu";

export async function classify(bytes: Uint8Array, ink: Float32Array, side: number): Promise<number> {
  await init();
  const options: LoadOptions = { dataset: "fashion-mnist", backend: "auto" };
  const model: Model = await Model.load(bytes, options);
  const pixels: Float32Array = mnistify(ink, side, side);
  const result: InferResult = await model.infer(pixels);
  const perStep: number[][] = result.outputCounts;
  const firstLayer: Uint32Array[] = result.layerCounts[0];
  const layers: LayerDescription[] = model.layers;
  const names: string[] = model.classNames;
  const where: "webgpu" | "cpu" = result.backend;
  const about: string = `${model.net} on ${model.dataset}: ${model.steps} steps, ${model.classes} classes, S_max ${model.sMax}, ${model.backend} (${model.backendNote}), WebGPU ${Model.hasWebGpu}`;
  console.log(about, perStep, firstLayer.length, layers[0].shape, names[result.label], where, result.synops, result.micros);
  model.free();
  return result.label;
}

export function draw(model: Model, canvas: HTMLCanvasElement, result: InferResult): SpikeLayout {
  const options: DrawOptions = { parts: "all", cell: 4, barWidth: 200, text: true, font: "12px sans-serif" };
  return model.drawSpikes(canvas, result, options);
}

export async function classifyOnTheCpu(bytes: Uint8Array, pixels: Float32Array): Promise<number> {
  await initCpu();
  const model = await CpuModel.load(bytes, { backend: "cpu" });
  const { label, totalSpikes }: InferResult = await model.infer(pixels);
  console.log(totalSpikes);
  model.free();
  return label;
}
