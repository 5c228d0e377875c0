// Brush arithmetic shared by the touch-up preview: the same as removal/strokes.py on the server
// (coverage falls from 1 inside hardness × radius to 0 at radius; the maximum over a stroke's
// segments; erase multiplies by 1 − coverage, restore raises toward 255), at preview scale.

function segmentDistance(x, y, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / len2));
  return Math.hypot(x - (a[0] + t * dx), y - (a[1] + t * dy));
}

// Raise `coverage` (Float32Array, width × height) to this segment's coverage, in its box only.
export function segmentCover(coverage, width, height, a, b, radius, hardness) {
  let inner = radius * hardness;
  if (radius - inner < 0.5) inner = radius - 0.5;
  const ramp = radius - inner;
  const left = Math.max(0, Math.floor(Math.min(a[0], b[0]) - radius));
  const top = Math.max(0, Math.floor(Math.min(a[1], b[1]) - radius));
  const right = Math.min(width, Math.ceil(Math.max(a[0], b[0]) + radius) + 1);
  const bottom = Math.min(height, Math.ceil(Math.max(a[1], b[1]) + radius) + 1);
  for (let y = top; y < bottom; y++) {
    for (let x = left; x < right; x++) {
      const c = Math.min(1, Math.max(0, (radius - segmentDistance(x + 0.5, y + 0.5, a, b)) / ramp));
      const i = y * width + x;
      if (c > coverage[i]) coverage[i] = c;
    }
  }
  return [left, top, right, bottom];
}

// alpha[i] = from[i] changed by coverage, inside the box.
export function coverApply(alpha, from, coverage, width, box, mode) {
  const [left, top, right, bottom] = box;
  for (let y = top; y < bottom; y++) {
    for (let i = y * width + left, end = y * width + right; i < end; i++) {
      const c = coverage[i];
      alpha[i] = mode === "erase" ? from[i] * (1 - c) : from[i] + (255 - from[i]) * c;
    }
  }
}

// A whole stroke (points already in preview pixels) onto alpha, in place.
export function strokeApply(alpha, coverage, width, height, stroke, scale) {
  const pts = stroke.points.map(([x, y]) => [x * scale, y * scale]);
  if (pts.length === 1) pts.push(pts[0]);
  const radius = Math.max(0.5, stroke.radius * scale);
  let box = null;
  for (let k = 1; k < pts.length; k++) {
    box = unionBox(box, segmentCover(coverage, width, height, pts[k - 1], pts[k], radius, stroke.hardness));
  }
  if (box && box[0] < box[2] && box[1] < box[3]) {
    coverApply(alpha, alpha, coverage, width, box, stroke.mode);
    clearBox(coverage, width, box);
  }
}

export function unionBox(a, b) {
  if (!a) return b;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

export function clearBox(coverage, width, box) {
  for (let y = box[1]; y < box[3]; y++) coverage.fill(0, y * width + box[0], y * width + box[2]);
}
