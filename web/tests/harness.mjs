// What the browser tests share: named tests with a tally, assertions, and headless Chromium
// (Debian's, driven by playwright-core) with and without WebGPU.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** The two launches: WebGPU (--enable-unsafe-webgpu: SwiftShader, a software fallback adapter)
 *  and none (no adapter). `ask` is the backend option that gets WebGPU where there is some, and
 *  `backend` what it gives. `"auto"` takes the CPU in both: SwiftShader is slower than the CPU
 *  path; `autoNote` matches the reason `model.backendNote` gives. */
export const LAUNCHES = [
  {
    name: "webgpu",
    flags: ["--enable-unsafe-webgpu"],
    ask: "webgpu",
    backend: "webgpu",
    autoNote: /^auto: WebGPU's adapter \(google swiftshader, software fallback\) runs in software, slower than the CPU path; ask for "webgpu" to use it anyway$/,
  },
  {
    name: "no-webgpu",
    flags: [],
    ask: "auto",
    backend: "cpu",
    autoNote: /^auto: (no WebGPU here \(navigator\.gpu is missing\)|the browser offers no WebGPU adapter)$/,
  },
];

const tally = { passed: 0, failed: 0 };

/** Runs one named test and records its outcome. */
export async function test(name, body) {
  const start = Date.now();
  try {
    await body();
    tally.passed++;
    console.log(`ok   ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    tally.failed++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  assert(a === b, `${what}: got ${a}, expected ${b}`);
}

/** Prints `N passed, M failed` and exits, 1 on any failure. */
export function finish() {
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed ? 1 : 0);
}

/** Chromium for `launch` with a fresh profile under `scratch`: its context, its page and the
 *  console errors, failed page scripts and HTTP errors it has seen. */
export async function openBrowser(launch, scratch, viewport) {
  const userDataDir = mkdtempSync(join(scratch, `profile-${launch.name}-`));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...launch.flags],
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("response", (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} for ${r.url()}`));
  return { context, page, errors };
}
