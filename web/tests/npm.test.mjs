// Tests of the npm package as its users get it: scripts/npm-test.sh installs the tarball into a
// fresh scratch project (APP) with npm-app/ copied in; here the package is used (a) from Node
// (npm-app/node.mjs: the CPU path) on the shipped test images of both models and (b) from a page
// bundled with esbuild (npm-app/page.js), served on 127.0.0.1 and opened in headless Chromium
// with and without WebGPU. Every answer's output spike counts must equal `mtsnn infer --json`'s.
//
// Environment (set by scripts/npm-test.sh):
//   APP        the scratch project, with the package installed
//   VERSION    the version the package must have (the workspace's)
//   ESBUILD    the esbuild binary
//   MTSNN_BIN  the native `mtsnn` binary
// Prints one line per test and ends with `N passed, M failed`; exits 1 on any failure.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
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

await test("the installed package: version of the workspace, ES module, types and wasm in it", async () => {
  const dir = join(APP, "node_modules", "mtsnn");
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  assertEqual([pkg.name, pkg.version, pkg.type], ["mtsnn", process.env.VERSION, "module"], "name, version, type");
  for (const file of [pkg.types, pkg.exports["."].node, pkg.exports["."].default, "mtsnn_bg.wasm", "README.md"]) {
    assert(existsSync(join(dir, file)), `${file} is missing`);
  }
  assert(/class Model/.test(readFileSync(join(dir, pkg.types), "utf8")), "the types declare no Model");
});

for (const [dataset, net] of [["mnist", "784-800-10"], ["fashion-mnist", "784-400-400-10"]]) {
  await test(`Node: ${dataset} test images through the package equal mtsnn infer`, async () => {
    const out = execFileSync("node", ["node.mjs", resolve(`web/models/${dataset}.safetensors`), resolve(`web/samples/${dataset}.json`)], { cwd: APP, encoding: "utf8" });
    const r = JSON.parse(out);
    assertEqual([r.net, r.backend], [net, "cpu"], "network and backend");
    compare(r.answers, expected[dataset], "cpu", `node ${dataset}`);
  });
}

await test("esbuild bundles a page that imports the package", async () => {
  execFileSync(process.env.ESBUILD, ["page.js", "--bundle", "--format=esm", "--loader:.wasm=file", "--outdir=dist", "--log-level=warning"], { cwd: APP, stdio: "inherit" });
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

const { server, url } = await serve();
try {
  for (const launch of LAUNCHES) {
    const { context, page, errors } = await openBrowser(launch, scratch);
    try {
      await test(`[${launch.name}] the bundled page: MNIST test digits equal mtsnn infer on ${launch.backend}`, async () => {
        await page.goto(url);
        const r = await page.evaluate(() => window.answer);
        assertEqual([r.net, r.backend], ["784-800-10", launch.backend], "network and backend");
        compare(r.answers, expected.mnist, launch.backend, `page ${launch.name}`);
        assert(r.drawn[0] > 240 && r.drawn[1] > 240, `drawSpikes drew ${r.drawn}`);
        assertEqual(errors, [], "console errors");
      });
    } finally {
      await context.close();
    }
  }
} finally {
  server.kill();
}
finish();
