// A page bundled with esbuild from the installed package's main entry (WebGPU and the CPU), as its
// README says; `window.answer` resolves with what run.js found.
import init, { Model } from "mtsnn";
import wasmUrl from "mtsnn/mtsnn_bg.wasm";
import { run } from "./run.js";

window.answer = run(init, Model, wasmUrl);
