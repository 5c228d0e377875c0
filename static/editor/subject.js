// The subject's box and the crop around it, as the server finds them (removal/crop.py,
// removal/subject.py): so the page can say the output size of a crop and show the original
// through the same crop and rotation as the result.

import { strokeApply } from "./brush.js";

const FOREGROUND_MIN_ALPHA = 8; // removal.crop.FOREGROUND_MIN_ALPHA
const EXACT_MAX_PIXELS = 16_000_000; // above this the box comes from a smaller copy of the mask

// Python's round(): halves go to the even neighbour (the server's arithmetic).
export function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function loadImage(url) {
  const img = new Image();
  img.crossOrigin = "anonymous"; // object storage redirects to another origin: pixels need CORS
  img.src = url;
  return img.decode().then(() => img);
}

// The box [left, top, width, height] (image pixels) of the mask after the job's strokes, or null.
export async function subjectBox(maskUrl, width, height, strokes = []) {
  const mask = await loadImage(maskUrl);
  const scale = Math.min(1, Math.sqrt(EXACT_MAX_PIXELS / (width * height)));
  const mw = Math.max(1, Math.round(width * scale));
  const mh = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement("canvas");
  Object.assign(canvas, { width: mw, height: mh });
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(mask, 0, 0, mw, mh);
  const data = ctx.getImageData(0, 0, mw, mh).data;
  let alpha = null;
  if (strokes.length) {
    alpha = new Float32Array(mw * mh);
    for (let i = 0; i < alpha.length; i++) alpha[i] = data[i * 4];
    const coverage = new Float32Array(alpha.length);
    for (const stroke of strokes) strokeApply(alpha, coverage, mw, mh, stroke, scale);
  }
  const value = alpha ? (i) => Math.round(alpha[i]) : (i) => data[i * 4];
  let left = mw;
  let top = mh;
  let right = -1;
  let bottom = -1;
  for (let y = 0; y < mh; y++) {
    for (let x = 0, i = y * mw; x < mw; x++, i++) {
      if (value(i) < FOREGROUND_MIN_ALPHA) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      bottom = y;
    }
  }
  if (right < 0) return null;
  if (scale === 1) return [left, top, right - left + 1, bottom - top + 1];
  const [sx, sy] = [width / mw, height / mh];
  const [l, t] = [Math.floor(left * sx), Math.floor(top * sy)];
  const [r, b] = [Math.min(width, Math.ceil((right + 1) * sx)), Math.min(height, Math.ceil((bottom + 1) * sy))];
  return [l, t, r - l, b - t];
}

// "20", "20px", "10%" → {margin, percent}; null when it is not one.
export function marginParse(raw) {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(px|%)?\s*$/i.exec(String(raw || "0"));
  return match ? { margin: Number(match[1]), percent: match[2] === "%" } : null;
}

// removal.crop.crop_box: the subject's box grown by the margin, clamped to the image.
export function cropBox(box, { margin, percent }, [width, height]) {
  const [left, top, w, h] = box;
  const dx = roundHalfEven(percent ? (w * margin) / 100 : margin);
  const dy = roundHalfEven(percent ? (h * margin) / 100 : margin);
  const x0 = Math.max(0, left - dx);
  const y0 = Math.max(0, top - dy);
  const x1 = Math.min(width, left + w + dx);
  const y1 = Math.min(height, top + h + dy);
  return [x0, y0, x1 - x0, y1 - y0];
}
