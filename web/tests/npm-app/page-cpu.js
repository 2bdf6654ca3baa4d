// The same page on the package's CPU-only entry.
import init, { Model } from "mtsnn/cpu";
import wasmUrl from "mtsnn/mtsnn_cpu_bg.wasm";
import { run } from "./run.js";

window.answer = run(init, Model, wasmUrl);
