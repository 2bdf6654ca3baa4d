// Browser tests of the demo page: headless Chromium (harness.mjs) against the page served on
// 127.0.0.1, once with WebGPU (--enable-unsafe-webgpu: SwiftShader, which the tests ask for by name:
// "auto" takes the CPU over a software adapter) and once without (no adapter: the CPU fallback). Every answer's output spike counts are compared with those of the native CLI
// (`mtsnn infer --json`) on the same 28×28 input.
//
// Run by scripts/web-test.sh, which builds everything and sets:
//   BASE_URL     the served page, e.g. http://127.0.0.1:8123/
//   MTSNN_BIN    the native `mtsnn` binary
//   ARTIFACTS    where screenshots and the timing report go
//   CHROMIUM     the browser (default /usr/bin/chromium)
// Prints one line per test and ends with `N passed, M failed`; exits 1 on any failure.
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { LAUNCHES, assert, assertEqual, finish, openBrowser, test } from "./harness.mjs";
import { cliPredictions, writeGrayPng } from "./native.mjs";
import { drawDigit } from "./strokes.mjs";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080/";
const MTSNN_BIN = process.env.MTSNN_BIN ?? "target/release/mtsnn";
const ARTIFACTS = process.env.ARTIFACTS ?? "target/web-artifacts";

const timings = [];

/** The 28×28 input the page last showed, as 8-bit pixels. */
const toBytes = (input) => Uint8Array.from(input, (v) => Math.round(v * 255));

/** The page's state after the page has settled, with typed arrays made plain. */
async function snapshot(page) {
  return page.evaluate(async () => {
    await window.demo.idle();
    const s = window.demo.state;
    return {
      dataset: s.dataset,
      info: s.info,
      error: s.error,
      source: s.source,
      labels: s.samples?.labels,
      input: Array.from(s.input ?? []),
      layout: s.layout,
      result: s.result && { ...s.result, layerCounts: s.result.layerCounts.map((l) => l.map((step) => Array.from(step))) },
    };
  });
}

/** Classifies every shipped sample of the current model; returns the page's answers. */
async function runSamples(page) {
  const n = await page.evaluate(() => window.demo.state.samples.images.length);
  const answers = [];
  for (let i = 0; i < n; i++) {
    await page.evaluate((i) => window.demo.showSample(i), i);
    answers.push(await snapshot(page));
  }
  return answers;
}

/** Checks the page's answers against `mtsnn infer` on the same inputs. */
function compareWithCli(answers, dataset, scratch, tag) {
  const files = answers.map((a, i) => {
    const path = join(scratch, `${tag}-${i}.png`);
    writeGrayPng(path, toBytes(a.input), 28, 28);
    return path;
  });
  const native = cliPredictions(MTSNN_BIN, `web/models/${dataset}.safetensors`, dataset, files);
  answers.forEach((a, i) => {
    assertEqual(a.result.outputCounts, native[i].spikes, `${tag} #${i}: output spike counts vs mtsnn infer`);
    assertEqual(a.result.label, native[i].class, `${tag} #${i}: label vs mtsnn infer`);
  });
}

async function runLaunch(launch, scratch) {
  const { context, page, errors: consoleErrors } = await openBrowser(launch, scratch, { width: 1180, height: 1100 });
  const tag = launch.name;
  try {
    await test(`[${tag}] the page loads the MNIST model on ${launch.backend} (backend ${launch.ask})`, async () => {
      await page.goto(`${BASE_URL}?backend=${launch.ask}`);
      await page.evaluate(() => window.demo.ready);
      const s = await snapshot(page);
      assert(!s.error, `page error: ${s.error}`);
      assertEqual(s.info.net, "784-800-10", "network");
      assertEqual(s.info.backend, launch.backend, `backend (${s.info.backendNote})`);
      assertEqual(s.result.backend, launch.backend, "backend of the first answer");
      assertEqual([s.layout.heat.layers.length, s.layout.bars.bars.width], [1, 200], "the spikes drawn by model.drawSpikes");
    });

    await test(`[${tag}] shipped MNIST test digits: labels and spike counts equal mtsnn infer`, async () => {
      const answers = await runSamples(page);
      compareWithCli(answers, "mnist", scratch, `${tag}-mnist`);
      const right = answers.filter((a) => a.result.label === a.source.label).length;
      assert(right >= answers.length - 2, `only ${right} of ${answers.length} test digits right`);
      for (const a of answers) {
        assertEqual(a.result.backend, launch.backend, "backend");
        assertEqual(a.result.outputCounts.length, 2, "time steps");
        assertEqual(a.result.layerCounts.map((l) => l.map((s) => s.length)), [[800, 800], [10, 10]], "layer layout");
        const total = a.result.layerCounts.flat(2).reduce((x, y) => x + y, 0);
        assertEqual(a.result.totalSpikes, total, "total spikes");
      }
      timings.push({ launch: tag, what: "MNIST 784-800-10 (page, per digit)", micros: answers.map((a) => a.result.micros) });
    });

    await test(`[${tag}] drawn digits are recognised and equal mtsnn infer`, async () => {
      const answers = [];
      for (const digit of [1, 0, 7]) {
        await page.click("#clear");
        await drawDigit(page, "#pad", digit);
        const a = await snapshot(page);
        assertEqual(a.source.kind, "drawing", "source");
        assertEqual(a.result.label, digit, `label of a drawn ${digit}`);
        answers.push(a);
      }
      compareWithCli(answers, "mnist", scratch, `${tag}-drawn`);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, `demo-${tag}-drawn.png`), fullPage: true });
    });

    await test(`[${tag}] FashionMNIST model: labels and spike counts equal mtsnn infer`, async () => {
      await page.evaluate(() => window.demo.setModel("fashion-mnist"));
      const answers = await runSamples(page);
      assertEqual(answers[0].info.net, "784-400-400-10", "network");
      assertEqual(answers[0].info.backend, launch.backend, "backend");
      compareWithCli(answers, "fashion-mnist", scratch, `${tag}-fashion`);
      const right = answers.filter((a) => a.result.label === a.source.label).length;
      assert(right >= 0.75 * answers.length, `only ${right} of ${answers.length} items right`);
      timings.push({ launch: tag, what: "FashionMNIST 784-400-400-10 (page, per item)", micros: answers.map((a) => a.result.micros) });
      await page.evaluate(() => window.demo.showSample(3));
      await page.screenshot({ path: join(ARTIFACTS, `demo-${tag}-fashion.png`), fullPage: true });
    });

    await test(`[${tag}] the wasm API: malformed models and inputs are clear errors`, async () => {
      const errors = await page.evaluate(async () => {
        const { default: init, Model } = await import("/pkg/mtsnn_web.js");
        await init();
        const messages = [];
        const attempt = async (f) => {
          try {
            await f();
            messages.push("no error");
          } catch (e) {
            messages.push(`${e instanceof Error}: ${e.message}`);
          }
        };
        await attempt(() => Model.load(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])));
        await attempt(() => Model.load(new Uint8Array(0)));
        const bytes = new Uint8Array(await (await fetch("/models/mnist.safetensors")).arrayBuffer());
        await attempt(() => Model.load(bytes.slice(0, 5000)));
        await attempt(() => Model.load(bytes, { dataset: "cifar" }));
        await attempt(() => Model.load(bytes, { dataset: "fashion-mnist" }));
        await attempt(() => Model.load(bytes, { backend: "metal" }));
        const m = await Model.load(bytes, { backend: "cpu" });
        await attempt(() => m.infer(new Float32Array(10)));
        await attempt(() => m.infer(new Float32Array(784).fill(3)));
        await attempt(async () => (await Model.load(bytes, { backend: "webgpu" })).free());
        m.free();
        return messages;
      });
      const expected = [
        /^true: cannot load the model: checkpoint <uploaded>: not a safetensors file/,
        /^true: cannot load the model: checkpoint <uploaded>: not a safetensors file/,
        /^true: cannot load the model: checkpoint <uploaded>: not a safetensors file/,
        /^true: bad option: dataset "cifar" is not one of "mnist", "fashion-mnist"/,
        /^true: bad option: the model file was exported for "mnist", the options say "fashion-mnist"/,
        /^true: bad option: backend "metal" is not one of "auto", "webgpu", "cpu"/,
        /^true: bad input: the network takes 784 pixels \(28×28, row-major\), got 10/,
        /^true: bad input: pixel 0 is 3; intensities must lie in 0..1/,
        launch.backend === "webgpu" ? /^no error$/ : /^true: WebGPU: no adapter/,
      ];
      assertEqual(errors.length, expected.length, `number of answers (${errors})`);
      errors.forEach((m, i) => assert(expected[i].test(m), `error ${i}: ${m}`));
    });

    await test(`[${tag}] the wasm API: calls fired together take turns; every layer's spikes equal the CPU path's`, async () => {
      const r = await page.evaluate(async (ask) => {
        const { default: init, Model } = await import("/pkg/mtsnn_web.js");
        await init();
        const bytes = new Uint8Array(await (await fetch("/models/mnist.safetensors")).arrayBuffer());
        const samples = await (await fetch("/samples/mnist.json")).json();
        const raw = atob(samples.pixels);
        const digits = [0, 1, 2, 3, 4, 5].map((i) => Float32Array.from(raw.slice(784 * i, 784 * (i + 1)), (c) => c.charCodeAt(0) / 255));
        const plain = (res) => [res.outputCounts, res.layerCounts.map((l) => l.map((step) => Array.from(step)))];
        const asked = await Model.load(bytes, { backend: ask });
        const cpu = await Model.load(bytes, { backend: "cpu" });
        const together = await Promise.all(digits.map((d) => asked.infer(d)));
        const oneByOne = [];
        for (const d of digits) oneByOne.push(await cpu.infer(d));
        const out = { backend: asked.backend, backends: together.map((x) => x.backend), auto: together.map(plain), cpu: oneByOne.map(plain) };
        asked.free();
        cpu.free();
        return out;
      }, launch.ask);
      assertEqual(r.backend, launch.backend, `backend of Model.load with backend ${launch.ask}`);
      assert(r.backends.every((b) => b === launch.backend), `backends ${r.backends}`);
      assertEqual(r.auto, r.cpu, `spike counts of every layer, ${launch.backend} vs cpu`);
    });

    await test(`[${tag}] drawSpikes: heat maps and bars where the spikes are, on a canvas and an OffscreenCanvas`, async () => {
      const r = await page.evaluate(async (ask) => {
        const { default: init, Model } = await import("/pkg/mtsnn_web.js");
        await init();
        const bytes = new Uint8Array(await (await fetch("/models/fashion-mnist.safetensors")).arrayBuffer());
        const m = await Model.load(bytes, { backend: ask });
        const samples = await (await fetch("/samples/fashion-mnist.json")).json();
        const digit = Float32Array.from(atob(samples.pixels).slice(0, 784), (c) => c.charCodeAt(0) / 255);
        const result = await m.infer(digit);
        /** Pixels at the centre of the first cell with spikes and the first without, per layer and step. */
        const cells = (ctx, layout) =>
          layout.layers.map((L, l) =>
            L.steps.map(([x, y], t) => {
              const at = (i) => Array.from(ctx.getImageData(x + (i % L.cols) * L.cell + (L.cell >> 1), y + Math.floor(i / L.cols) * L.cell + (L.cell >> 1), 1, 1).data);
              const counts = Array.from(result.layerCounts[l][t]);
              return { on: at(counts.findIndex((n) => n > 0)), off: at(counts.indexOf(0)) };
            }),
          );
        const canvas = document.createElement("canvas");
        const ctx = canvas.getContext("2d");
        const blank = ctx.getImageData(0, 0, canvas.width, canvas.height).data.every((v) => v === 0);
        const layout = m.drawSpikes(canvas, result);
        const totals = result.outputCounts[0].map((_, c) => result.outputCounts.reduce((s, step) => s + step[c], 0));
        const bar = (c) => Array.from(ctx.getImageData(layout.bars.x + 1, layout.bars.y + c * layout.bars.pitch + (layout.bars.height >> 1), 1, 1).data);
        const off = new OffscreenCanvas(1, 1);
        const offLayout = m.drawSpikes(off, result, { parts: "layers", cell: 3, text: false });
        const errors = [];
        for (const f of [() => m.drawSpikes({}, result), () => m.drawSpikes(canvas, { ...result, outputCounts: [] }), () => m.drawSpikes(canvas, result, { parts: "all of it" })]) {
          try {
            f();
            errors.push("no error");
          } catch (e) {
            errors.push(e.message);
          }
        }
        const out = {
          backend: m.backend,
          blank,
          size: [canvas.width, canvas.height, layout.width, layout.height],
          cells: cells(ctx, layout),
          firstStep: result.outputCounts[0][result.label],
          winner: bar(result.label),
          silentClass: totals.indexOf(0),
          silent: bar(totals.indexOf(0)),
          offLayout,
          offCells: cells(off.getContext("2d"), offLayout),
          errors,
        };
        m.free();
        return out;
      }, launch.ask);
      assertEqual(r.backend, launch.backend, "backend");
      assert(r.blank, "the canvas was not blank before");
      assertEqual(r.size.slice(0, 2), r.size.slice(2), "canvas size vs layout");
      const silentCell = [0, 0, 4, 255]; // the colour ramp at 0
      for (const cells of [r.cells, r.offCells]) {
        assertEqual(cells.length, 2, "hidden layers drawn");
        for (const { on, off } of cells.flat()) {
          assertEqual(off, silentCell, "a neuron without spikes");
          assert(on[3] === 255 && JSON.stringify(on) !== JSON.stringify(silentCell), `a neuron with spikes is drawn ${on}`);
        }
      }
      assertEqual(r.winner, r.firstStep > 0 ? [76, 201, 240, 255] : [247, 37, 133, 255], "the winning class's bar starts with its first step's colour");
      assert(r.silentClass >= 0, "some class has no spikes");
      assertEqual(r.silent, [17, 21, 27, 255], "the bar of a class without spikes is empty");
      assertEqual([r.offLayout.layers[0].cell, r.offLayout.bars], [3, undefined], "options of the offscreen drawing");
      assert(/HTMLCanvasElement or OffscreenCanvas/.test(r.errors[0]), r.errors[0]);
      assert(/not an answer of this model/.test(r.errors[1]), r.errors[1]);
      assert(/bad option: parts/.test(r.errors[2]), r.errors[2]);
    });

    // SwiftShader runs WebGPU in software and slowly: fewer rounds there.
    const rounds = launch.backend === "cpu" ? 200 : 20;
    await test(`[${tag}] timing: ${rounds} inferences of one digit through the wasm API`, async () => {
      const micros = await page.evaluate(async ([rounds, ask]) => {
        const { default: init, Model } = await import("/pkg/mtsnn_web.js");
        await init();
        const bytes = new Uint8Array(await (await fetch("/models/mnist.safetensors")).arrayBuffer());
        const m = await Model.load(bytes, { backend: ask });
        const samples = await (await fetch("/samples/mnist.json")).json();
        const digit = Float32Array.from(atob(samples.pixels).slice(0, 784), (c) => c.charCodeAt(0) / 255);
        const out = [];
        for (let i = 0; i < rounds; i++) out.push((await m.infer(digit)).micros);
        m.free();
        return out;
      }, [rounds, launch.ask]);
      timings.push({ launch: tag, what: "MNIST 784-800-10 (API loop, per digit)", micros });
    });

    await test(`[${tag}] auto: the CPU, which is faster than a software adapter, and why; "webgpu" still takes one`, async () => {
      const r = await page.evaluate(async (ask) => {
        const { default: init, Model } = await import("/pkg/mtsnn_web.js");
        await init();
        const bytes = new Uint8Array(await (await fetch("/models/mnist.safetensors")).arrayBuffer());
        const auto = await Model.load(bytes);
        const asked = await Model.load(bytes, { backend: ask });
        const out = { hasWebGpu: Model.hasWebGpu, auto: [auto.backend, auto.backendNote], asked: [asked.backend, asked.backendNote] };
        auto.free();
        asked.free();
        return out;
      }, launch.ask);
      assertEqual([r.hasWebGpu, r.auto[0]], [true, "cpu"], "Model.hasWebGpu, backend of auto");
      assert(launch.autoNote.test(r.auto[1]), `auto's backendNote: ${r.auto[1]}`);
      assertEqual(r.asked[0], launch.backend, `backend ${launch.ask} (${r.asked[1]})`);
      if (launch.backend === "webgpu") assertEqual(r.asked[1], "google swiftshader, software fallback", "the adapter");
    });

    // The embedding page asks for "auto": the CPU with or without SwiftShader.
    await test(`[${tag}] the minimal embedding page (embed.html) answers on the CPU`, async () => {
      await page.goto(new URL("embed.html", BASE_URL).href);
      await page.waitForFunction(() => document.getElementById("out").textContent.startsWith("label"));
      const text = await page.textContent("#out");
      assert(/^label 0 \(true 0\) on cpu in/.test(text), text);
    });

    await test(`[${tag}] no errors in the console`, async () => {
      assertEqual(consoleErrors, [], "console errors");
    });
  } finally {
    await context.close();
  }
}

/** Median and 90th percentile. */
function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, medianMs: Math.round(at(0.5)) / 1000, p90Ms: Math.round(at(0.9)) / 1000 };
}

const scratch = mkdtempSync(join(tmpdir(), "mtsnn-web-test-"));
for (const launch of LAUNCHES) await runLaunch(launch, scratch);
mkdirSync(ARTIFACTS, { recursive: true });
const report = timings.map((t) => ({ launch: t.launch, what: t.what, ...summary(t.micros) }));
writeFileSync(join(ARTIFACTS, "timings.json"), JSON.stringify(report, null, 2) + "\n");
for (const r of report) console.log(`time ${r.launch.padEnd(9)} ${r.what}: median ${r.medianMs.toFixed(3)} ms, p90 ${r.p90Ms.toFixed(3)} ms (n=${r.n})`);
finish();
