// The output size the server will make (crop, removal.render.output_size, then rotation), so the
// page says it before rendering: SPEC's order is crop, resize, then rotate.

import { roundHalfEven } from "./subject.js";

const MAX_SIDE = 10000;

export function resizedSize(width, height, { w, h, exact }) {
  if (w && h && exact) return [w, h];
  let scale;
  if (w && h) scale = Math.min(w / width, h / height);
  else if (w) scale = w / width;
  else if (h) scale = h / height;
  else return [width, height];
  scale = Math.min(scale, MAX_SIDE / width, MAX_SIDE / height);
  return [Math.max(1, roundHalfEven(width * scale)), Math.max(1, roundHalfEven(height * scale))];
}

// Pillow's rotate(expand=True), step for step (Image.rotate): the corners turned about the
// centre, then ceil(max) - floor(min). Pillow rounds the matrix to 15 decimals; so does this.
const round15 = (v) => Math.round(v * 1e15) / 1e15;

function expandedSize(width, height, angle) {
  const a = -(((angle % 360) + 360) % 360) * Math.PI / 180;
  const m = [round15(Math.cos(a)), round15(Math.sin(a)), 0, round15(-Math.sin(a)), round15(Math.cos(a)), 0];
  const turn = (x, y) => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
  [m[2], m[5]] = turn(-width / 2, -height / 2);
  m[2] += width / 2;
  m[5] += height / 2;
  const xs = [];
  const ys = [];
  for (const [x, y] of [[0, 0], [width, 0], [width, height], [0, height]]) {
    const [tx, ty] = turn(x, y);
    xs.push(tx);
    ys.push(ty);
  }
  const span = (v) => Math.ceil(Math.max(...v)) - Math.floor(Math.min(...v));
  return [span(xs), span(ys)];
}

export function rotatedSize(width, height, angle, expand) {
  const turns = ((angle % 360) + 360) % 360;
  if (turns === 0 || turns === 180) return [width, height];
  if (turns === 90 || turns === 270) return expand ? [height, width] : [width, height];
  return expand ? expandedSize(width, height, angle) : [width, height];
}

// Fields as the form has them (strings) → [width, height] of the final output, or null. `width` and
// `height` are those of what gets resized: the crop box when cropping.
export function outputSize(width, height, fields) {
  const side = (v) => { const n = parseInt(v, 10); return Number.isFinite(n) && n >= 1 && n <= MAX_SIDE ? n : null; };
  const angle = Number(fields.angle || 0);
  if (!width || !height || !Number.isFinite(angle)) return null;
  const [rw, rh] = resizedSize(width, height, { w: side(fields.w), h: side(fields.h), exact: fields.exact_resize === "true" });
  return rotatedSize(rw, rh, angle, fields.expand !== "false");
}
