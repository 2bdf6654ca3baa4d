// Extracts the sample images the demo ships: the first few test-set images of every class of
// MNIST and FashionMNIST, into web/samples/<dataset>.json (labels + base64 of the 8-bit pixels).
// Usage (from the repository root): node web/tools/make-samples.mjs [per-class, default 4]
// Reads MNIST from data/mnist (scripts/fetch-data.sh mnist) and FashionMNIST from
// /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist); raw or .gz IDX files.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";

const perClass = Number(process.argv[2] ?? 4);
const sources = {
  mnist: "data/mnist",
  "fashion-mnist": "/usr/share/datasets/fashion-mnist",
};

/** The bytes of `dir/stem` or `dir/stem.gz`. */
function readIdx(dir, stem) {
  for (const [name, decode] of [[stem, (b) => b], [`${stem}.gz`, gunzipSync]]) {
    const path = join(dir, name);
    if (existsSync(path)) return decode(readFileSync(path));
  }
  throw new Error(`${dir} has no ${stem} or ${stem}.gz (see scripts/fetch-data.sh)`);
}

/** Parses an IDX file of unsigned bytes: its dimensions and data. */
function parseIdx(buf, rank) {
  if (buf.readUInt16BE(0) !== 0 || buf[2] !== 0x08 || buf[3] !== rank) {
    throw new Error(`not an IDX file of ${rank}-D unsigned bytes`);
  }
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: buf.subarray(4 + 4 * rank) };
}

for (const [dataset, dir] of Object.entries(sources)) {
  const images = parseIdx(readIdx(dir, "t10k-images-idx3-ubyte"), 3);
  const labels = parseIdx(readIdx(dir, "t10k-labels-idx1-ubyte"), 1);
  const [n, h, w] = images.dims;
  const taken = new Map();
  const picked = [];
  for (let i = 0; i < n && picked.length < 10 * perClass; i++) {
    const label = labels.data[i];
    if ((taken.get(label) ?? 0) < perClass) {
      taken.set(label, (taken.get(label) ?? 0) + 1);
      picked.push(i);
    }
  }
  // Interleave the classes: 0, 1, …, 9, 0, 1, … so that "next sample" walks through them.
  picked.sort((a, b) => {
    const rank = (i) => picked.filter((j) => j < i && labels.data[j] === labels.data[i]).length;
    return rank(a) - rank(b) || labels.data[a] - labels.data[b];
  });
  const pixels = Buffer.concat(picked.map((i) => images.data.subarray(i * h * w, (i + 1) * h * w)));
  const out = {
    dataset,
    source: `test set (t10k), images ${picked.join(", ")}`,
    width: w,
    height: h,
    labels: picked.map((i) => labels.data[i]),
    pixels: pixels.toString("base64"),
  };
  const path = join("web", "samples", `${dataset}.json`);
  writeFileSync(path, JSON.stringify(out) + "\n");
  console.log(`${path}: ${picked.length} images`);
}
