// The native side of the browser tests: 28×28 inputs saved as PNG files and classified by the
// `mtsnn` CLI, whose answers the page must reproduce exactly.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

/** CRC-32 (ISO-HDLC), as PNG chunks need it. */
function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** One PNG chunk: length, type, data, CRC of type and data. */
function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** Writes 8-bit grayscale `pixels` (`width`×`height`, row-major) as a PNG file. */
export function writeGrayPng(path, pixels, width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // bit depth 8, grayscale, deflate, no filter, no interlace
  const rows = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) rows.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
  writeFileSync(path, png);
}

/** `mtsnn infer --json` on the CPU, no inversion: one `{class, spikes, …}` per image. */
export function cliPredictions(bin, model, dataset, images) {
  const args = ["infer", "--json", "--model", model, "--dataset", dataset, "--invert", "no", "--backend", "cpu", ...images];
  const out = execFileSync(bin, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  const answers = out.trim().split("\n").map((line) => JSON.parse(line));
  if (answers.length !== images.length) throw new Error(`mtsnn infer answered ${answers.length} of ${images.length} images`);
  return answers;
}
