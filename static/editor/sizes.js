// The output size the server will make (removal.render.output_size, then rotation), so the page
// says it before rendering: SPEC's order is resize, then rotate.

const MAX_SIDE = 10000;

export function resizedSize(width, height, { w, h, exact }) {
  if (w && h && exact) return [w, h];
  let scale;
  if (w && h) scale = Math.min(w / width, h / height);
  else if (w) scale = w / width;
  else if (h) scale = h / height;
  else return [width, height];
  scale = Math.min(scale, MAX_SIDE / width, MAX_SIDE / height);
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

// Pillow's rotate(expand=True): the bounding box of the turned corners, rounded outwards.
function expandedSize(width, height, angle) {
  const a = (-angle * Math.PI) / 180;
  const cos = Math.round(Math.cos(a) * 1e15) / 1e15;
  const sin = Math.round(Math.sin(a) * 1e15) / 1e15;
  const xs = [];
  const ys = [];
  for (const [x, y] of [[0, 0], [width, 0], [width, height], [0, height]]) {
    xs.push(cos * x + sin * y);
    ys.push(-sin * x + cos * y);
  }
  const span = (v) => Math.ceil(Math.max(...v) - 1e-9) - Math.floor(Math.min(...v) + 1e-9);
  return [span(xs), span(ys)];
}

export function rotatedSize(width, height, angle, expand) {
  const turns = ((angle % 360) + 360) % 360;
  if (turns === 0 || turns === 180) return [width, height];
  if (turns === 90 || turns === 270) return expand ? [height, width] : [width, height];
  return expand ? expandedSize(width, height, angle) : [width, height];
}

// Fields as the form has them (strings) → [width, height] of the final output, or null.
export function outputSize(width, height, fields) {
  const side = (v) => { const n = parseInt(v, 10); return Number.isFinite(n) && n >= 1 && n <= MAX_SIDE ? n : null; };
  const angle = Number(fields.angle || 0);
  if (!width || !height || !Number.isFinite(angle)) return null;
  const [rw, rh] = resizedSize(width, height, { w: side(fields.w), h: side(fields.h), exact: fields.exact_resize === "true" });
  return rotatedSize(rw, rh, angle, fields.expand !== "false");
}
