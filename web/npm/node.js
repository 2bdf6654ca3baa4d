// The Node entry of the mtsnn package: the browser module as is, except that `init()` without an
// argument reads the wasm file next to this one (Node's `fetch` cannot read files). Node has no
// WebGPU: models run on the CPU path there.
import { readFile } from "node:fs/promises";
import initWasm from "./mtsnn.js";

export * from "./mtsnn.js";

/** Instantiates the wasm module once; later calls return the same instance. */
export default async function init(options) {
  return initWasm(options ?? { module_or_path: await readFile(new URL("./mtsnn_bg.wasm", import.meta.url)) });
}
