// Digits drawn with the mouse, as a person would: strokes in the pad's unit square (0..1).

/** Strokes of a few digits; each stroke is a list of [x, y] points. */
const DIGITS = {
  1: [[[0.52, 0.18], [0.5, 0.5], [0.48, 0.84]]],
  0: [Array.from({ length: 33 }, (_, i) => {
    const a = (2 * Math.PI * i) / 32;
    return [0.5 + 0.2 * Math.sin(a), 0.5 - 0.3 * Math.cos(a)];
  })],
  7: [[[0.28, 0.2], [0.72, 0.2], [0.55, 0.5], [0.42, 0.84]]],
};

/** Draws `digit` on the canvas matching `selector` with the mouse, in small steps. */
export async function drawDigit(page, selector, digit) {
  const box = await page.locator(selector).boundingBox();
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  for (const stroke of DIGITS[digit]) {
    await page.mouse.move(...at(stroke[0]));
    await page.mouse.down();
    for (const p of stroke.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
    await page.mouse.up();
  }
}
