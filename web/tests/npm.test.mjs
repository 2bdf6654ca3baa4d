// Tests of the npm package as its users get it: scripts/npm-test.sh installs the tarball into a
// fresh scratch project (APP) with npm-app/ copied in; here the package is used (a) from Node
// (npm-app/node.mjs: the CPU path) on the shipped test images of both models and (b) from pages
// bundled with esbuild (npm-app/page.js and page-cpu.js, on the package's two entries `mtsnn` and
// `mtsnn/cpu`), served on 127.0.0.1 and opened in headless Chromium with and without WebGPU.
// Every answer's output spike counts must equal `mtsnn infer --json`'s.
//
// Environment (set by scripts/npm-test.sh):
//   APP        the scratch project, with the package installed
//   VERSION    the version the package must have (the workspace's)
//   ESBUILD    the esbuild binary
//   MTSNN_BIN  the native `mtsnn` binary
// Prints one line per test and ends with `N passed, M failed`; exits 1 on any failure.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { LAUNCHES, assert, assertEqual, finish, openBrowser, test } from "./harness.mjs";
import { cliPredictions, writeGrayPng } from "./native.mjs";

const APP = resolve(process.env.APP);
const MTSNN_BIN = process.env.MTSNN_BIN ?? "target/release/mtsnn";
const scratch = mkdtempSync(join(tmpdir(), "mtsnn-npm-test-"));

/** `mtsnn infer --json` on the shipped test images of `dataset`. */
function cliAnswers(dataset) {
  const samples = JSON.parse(readFileSync(`web/samples/${dataset}.json`, "utf8"));
  const raw = Buffer.from(samples.pixels, "base64");
  const files = samples.labels.map((_, i) => {
    const path = join(scratch, `${dataset}-${i}.png`);
    writeGrayPng(path, raw.subarray(784 * i, 784 * (i + 1)), 28, 28);
    return path;
  });
  return { labels: samples.labels, native: cliPredictions(MTSNN_BIN, `web/models/${dataset}.safetensors`, dataset, files) };
}

/** Checks answers of the package against the CLI's. */
function compare(answers, { labels, native }, backend, what) {
  assertEqual(answers.length, labels.length, `${what}: number of answers`);
  answers.forEach((a, i) => {
    assertEqual(a.outputCounts, native[i].spikes, `${what} #${i}: output spike counts vs mtsnn infer`);
    assertEqual(a.label, native[i].class, `${what} #${i}: label vs mtsnn infer`);
    assertEqual(a.backend, backend, `${what} #${i}: backend`);
  });
}

const expected = { mnist: cliAnswers("mnist"), "fashion-mnist": cliAnswers("fashion-mnist") };

await test("the installed package: version of the workspace, ES modules, types and wasm of both entries", async () => {
  const dir = join(APP, "node_modules", "mtsnn");
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  assertEqual([pkg.name, pkg.version, pkg.type], ["mtsnn", process.env.VERSION, "module"], "name, version, type");
  for (const entry of [".", "./cpu"]) {
    const e = pkg.exports[entry];
    for (const file of [e.types, e.node, e.default]) assert(existsSync(join(dir, file)), `${entry}: ${file} is missing`);
    assert(/class Model/.test(readFileSync(join(dir, e.types), "utf8")), `${entry}: the types declare no Model`);
  }
  for (const file of ["mtsnn_bg.wasm", "mtsnn_cpu_bg.wasm", "README.md"]) assert(existsSync(join(dir, file)), `${file} is missing`);
  // The point of the CPU-only entry: no wgpu in its wasm, a fraction of the size.
  const gz = (file) => gzipSync(readFileSync(join(dir, file)), { level: 9 }).length;
  const [full, cpu] = [gz("mtsnn_bg.wasm"), gz("mtsnn_cpu_bg.wasm")];
  console.log(`     wasm gzip: mtsnn ${full} B, mtsnn/cpu ${cpu} B`);
  assert(cpu < 0.8 * full, `the CPU-only wasm (${cpu} B gzip) is not much smaller than the full one (${full} B)`);
});

const NODE_WEBGPU = {
  mtsnn: /^WebGPU: no adapter \(navigator\.gpu is missing\)$/,
  "mtsnn/cpu": /^WebGPU: this build has no WebGPU path: it is the CPU-only one \(the package's `mtsnn\/cpu` entry\); import `mtsnn` for WebGPU$/,
};
for (const entry of ["mtsnn", "mtsnn/cpu"]) {
  for (const [dataset, net] of [["mnist", "784-800-10"], ["fashion-mnist", "784-400-400-10"]]) {
    await test(`Node, ${entry}: ${dataset} test images through the package equal mtsnn infer`, async () => {
      const args = ["node.mjs", resolve(`web/models/${dataset}.safetensors`), resolve(`web/samples/${dataset}.json`), entry];
      const r = JSON.parse(execFileSync("node", args, { cwd: APP, encoding: "utf8" }));
      assertEqual([r.net, r.backend, r.hasWebGpu], [net, "cpu", entry === "mtsnn"], "network, backend, hasWebGpu");
      compare(r.answers, expected[dataset], "cpu", `node ${entry} ${dataset}`);
      assert(/^auto: /.test(r.note), `backendNote: ${r.note}`);
      assert(NODE_WEBGPU[entry].test(r.webgpu), `asking for WebGPU: ${r.webgpu}`);
    });
  }
}

await test("esbuild bundles a page for each entry of the package", async () => {
  execFileSync(process.env.ESBUILD, ["page.js", "page-cpu.js", "--bundle", "--format=esm", "--loader:.wasm=file", "--outdir=dist", "--log-level=warning"], { cwd: APP, stdio: "inherit" });
  copyFileSync("web/models/mnist.safetensors", join(APP, "mnist.safetensors"));
  copyFileSync("web/samples/mnist.json", join(APP, "mnist.json"));
});

/** Serves APP on a free port; resolves with the server process and its URL. */
function serve() {
  const server = spawn("node", ["web/tools/serve.mjs", "0", APP], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((done, fail) => {
    let log = "";
    server.stdout.on("data", (d) => {
      log += d;
      const url = /on (http:\S+)/.exec(log)?.[1];
      if (url) done({ server, url });
    });
    server.on("exit", (code) => fail(new Error(`the server exited with ${code}: ${log}`)));
  });
}

/** Runs a bundled page and checks its answers; returns what it found. */
async function bundled(page, url, backend, errors) {
  await page.goto(url);
  const r = await page.evaluate(() => window.answer);
  assertEqual([r.net, r.backend], ["784-800-10", backend], `network and backend (${r.note})`);
  compare(r.answers, expected.mnist, backend, `page ${url}`);
  assert(r.drawn[0] > 240 && r.drawn[1] > 240, `drawSpikes drew ${r.drawn}`);
  assertEqual(errors, [], "console errors");
  return r;
}

const { server, url } = await serve();
try {
  for (const launch of LAUNCHES) {
    const { context, page, errors } = await openBrowser(launch, scratch);
    try {
      await test(`[${launch.name}] the bundled page (mtsnn, backend ${launch.ask}): MNIST test digits equal mtsnn infer on ${launch.backend}`, async () => {
        const r = await bundled(page, `${url}?backend=${launch.ask}`, launch.backend, errors);
        assertEqual(r.hasWebGpu, true, "Model.hasWebGpu");
      });
      await test(`[${launch.name}] the bundled page (mtsnn, backend auto) runs on the CPU and says why`, async () => {
        const r = await bundled(page, url, "cpu", errors);
        assert(launch.autoNote.test(r.note), `backendNote: ${r.note}`);
      });
      await test(`[${launch.name}] the bundled page (mtsnn/cpu): the CPU, and a clear error for WebGPU`, async () => {
        const r = await bundled(page, new URL("cpu.html", url).href, "cpu", errors);
        assertEqual([r.hasWebGpu, r.note], [false, "auto: this build has no WebGPU path (CPU only)"], "Model.hasWebGpu, backendNote");
        assert(NODE_WEBGPU["mtsnn/cpu"].test(r.webgpu), `asking for WebGPU: ${r.webgpu}`);
      });
    } finally {
      await context.close();
    }
  }
} finally {
  server.kill();
}
finish();
