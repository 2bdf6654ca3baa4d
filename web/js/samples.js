// Test images shipped with the page (web/samples/*.json, made by web/tools/make-samples.mjs).

/** Loads the samples of `dataset`: `{labels, images}`, each image 784 8-bit pixels. */
export async function loadSamples(dataset) {
  const url = new URL(`../samples/${dataset}.json`, import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const data = await response.json();
  const bytes = Uint8Array.from(atob(data.pixels), (c) => c.charCodeAt(0));
  const size = data.width * data.height;
  const images = data.labels.map((_, i) => bytes.subarray(i * size, (i + 1) * size));
  return { labels: data.labels, images };
}

/** 0..1 intensities of an 8-bit image, as the network takes them. */
export function intensities(image) {
  return Float32Array.from(image, (p) => p / 255);
}

/** Thumbnails of the samples in `container`; clicking one calls `pick(index)`. */
export function drawThumbnails(container, samples, names, pick) {
  const thumbs = samples.images.map((image, i) => {
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    const img = new ImageData(28, 28);
    image.forEach((p, k) => img.data.set([p, p, p, 255], 4 * k));
    canvas.getContext("2d").putImageData(img, 0, 0);
    canvas.title = `test image ${i + 1}: ${names[samples.labels[i]]}`;
    canvas.addEventListener("click", () => pick(i));
    return canvas;
  });
  container.replaceChildren(...thumbs);
}
