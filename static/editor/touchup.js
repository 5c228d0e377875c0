// The touch-up dialog: erase / restore the mask with a soft brush, zoom (wheel, pinch, buttons; up
// to 400 % of the image's pixels) and pan, undo / redo. Strokes are kept in image pixels; the
// server applies them to the full-size mask in the free re-render, the canvas only previews them.

import { clearBox, coverApply, segmentCover, strokeApply, unionBox } from "./brush.js";

const PREVIEW_MAX = 2048; // preview pixels per side: enough to judge, small enough to repaint live
const MAX_ZOOM = 4;
const ZOOM_STEP = 1.25;

function loadImage(url) {
  const img = new Image();
  img.crossOrigin = "anonymous"; // object storage redirects to another origin: pixels need CORS
  img.src = url;
  return img.decode().then(() => img);
}

function pixelsOf(img, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(img, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

const round1 = (v) => Math.round(v * 10) / 10;
const typing = (t) => t.matches?.("input:not([type=range]):not([type=radio]):not([type=checkbox]), select, textarea");

export class TouchUp {
  constructor(dialog, { onApply }) {
    this.dialog = dialog;
    this.onApply = onApply;
    const q = (id) => dialog.querySelector(`#${id}`);
    this.el = {
      viewport: q("tu-viewport"), canvas: q("tu-canvas"), cursor: q("tu-cursor"), size: q("tu-size"),
      sizeOut: q("tu-size-out"), hardness: q("tu-hardness"), hardnessOut: q("tu-hardness-out"),
      zoom: q("tu-zoom"), undo: q("tu-undo"), redo: q("tu-redo"), reset: q("tu-reset"), apply: q("tu-apply"),
    };
    this.ctx = this.el.canvas.getContext("2d");
    this.strokes = [];
    this.redoStack = [];
    this.pointers = new Map();
    this.view = { s: 1, tx: 0, ty: 0 };
    this.spaceDown = false;
    this.wire();
  }

  get tool() {
    return this.dialog.querySelector("input[name=tu-tool]:checked").value;
  }

  async open(job, strokes) {
    this.strokes = strokes.map((s) => ({ ...s, points: s.points.map((p) => [...p]) }));
    this.redoStack = [];
    this.spaceDown = false;
    this.dialog.showModal();
    this.dialog.dataset.ready = "false";
    const { width, height, url, mask_url: maskUrl } = job.original;
    this.width = width;
    this.height = height;
    this.p = Math.min(1, PREVIEW_MAX / Math.max(width, height));
    this.pw = Math.max(1, Math.round(width * this.p));
    this.ph = Math.max(1, Math.round(height * this.p));
    const [img, mask] = await Promise.all([loadImage(url), loadImage(maskUrl)]);
    this.rgb = pixelsOf(img, this.pw, this.ph).data;
    this.imageData = new ImageData(this.pw, this.ph);
    this.imageData.data.fill(255);
    const maskData = pixelsOf(mask, this.pw, this.ph).data;
    this.base = new Float32Array(this.pw * this.ph);
    for (let i = 0; i < this.base.length; i++) this.base[i] = maskData[i * 4];
    this.alpha = new Float32Array(this.base.length);
    this.coverage = new Float32Array(this.base.length);
    Object.assign(this.el.canvas, { width: this.pw, height: this.ph });
    this.el.canvas.style.width = `${this.pw}px`;
    this.el.canvas.style.height = `${this.ph}px`;
    this.el.size.max = String(Math.max(400, Math.round(Math.max(width, height) / 4)));
    this.sizeShow();
    this.replay();
    this.fit();
    this.dialog.dataset.ready = "true";
  }

  // --- drawing -------------------------------------------------------------------------------

  // The preview keeps the cut-out's transparency: the viewport's own CSS checkerboard shows
  // through at screen size whatever the zoom. Only the changed box is written each time: one
  // stroke segment costs its own area.
  paint(box) {
    const [left, top, right, bottom] = box || [0, 0, this.pw, this.ph];
    const out = this.imageData.data;
    const rgb = this.rgb;
    for (let y = top; y < bottom; y++) {
      for (let x = left, i = y * this.pw + left; x < right; x++, i++) {
        const o = i * 4;
        out[o] = rgb[o];
        out[o + 1] = rgb[o + 1];
        out[o + 2] = rgb[o + 2];
        out[o + 3] = this.alpha[i];
      }
    }
    this.ctx.putImageData(this.imageData, 0, 0, left, top, right - left, bottom - top);
  }

  replay() {
    this.alpha.set(this.base);
    for (const stroke of this.strokes) strokeApply(this.alpha, this.coverage, this.pw, this.ph, stroke, this.p);
    this.paint(null);
    this.historyShow();
  }

  strokeStart(point) {
    this.current = { mode: this.tool, radius: Number(this.el.size.value) / 2,
      hardness: Number(this.el.hardness.value) / 100, points: [point] };
    this.before = Float32Array.from(this.alpha);
    this.box = null;
    this.strokeExtend(point);
  }

  strokeExtend(point) {
    const s = this.current;
    const last = s.points[s.points.length - 1];
    if (point !== last) {
      // The same spacing the server keeps (removal/strokes.py): closer points add nothing visible.
      if (Math.hypot(point[0] - last[0], point[1] - last[1]) < Math.max(0.5, s.radius / 8)) return;
      s.points.push(point);
    }
    const p = this.p;
    const box = segmentCover(this.coverage, this.pw, this.ph, [last[0] * p, last[1] * p], [point[0] * p, point[1] * p],
      Math.max(0.5, s.radius * p), s.hardness);
    if (box[0] >= box[2] || box[1] >= box[3]) return;
    coverApply(this.alpha, this.before, this.coverage, this.pw, box, s.mode);
    this.paint(box);
    this.box = unionBox(this.box, box);
  }

  strokeEnd(keep) {
    if (!this.current) return;
    if (this.box) clearBox(this.coverage, this.pw, this.box);
    if (keep) {
      this.strokes.push(this.current);
      this.redoStack = [];
    } else {
      this.alpha.set(this.before);
      this.paint(null);
    }
    this.current = null;
    this.before = null;
    this.historyShow();
  }

  undo() {
    if (!this.strokes.length) return;
    this.redoStack.push(this.strokes.pop());
    this.replay();
  }

  redo() {
    if (!this.redoStack.length) return;
    this.strokes.push(this.redoStack.pop());
    this.replay();
  }

  reset() {
    if (!this.strokes.length) return;
    // One undoable step back to the model's mask.
    this.redoStack = [...this.strokes].reverse();
    this.strokes = [];
    this.replay();
  }

  historyShow() {
    this.el.undo.disabled = !this.strokes.length;
    this.el.redo.disabled = !this.redoStack.length;
    this.el.reset.disabled = !this.strokes.length;
    this.dialog.dataset.strokes = String(this.strokes.length);
  }

  // --- zoom and pan --------------------------------------------------------------------------

  transform() {
    const { s, tx, ty } = this.view;
    this.el.canvas.style.transform = `translate(${tx}px, ${ty}px) scale(${s})`;
    this.el.zoom.textContent = `${Math.round(s * this.p * 100)} %`;
  }

  fit() {
    const vw = this.el.viewport.clientWidth;
    const vh = this.el.viewport.clientHeight;
    const s = Math.min(vw / this.pw, vh / this.ph, MAX_ZOOM / this.p);
    this.view = { s, tx: (vw - this.pw * s) / 2, ty: (vh - this.ph * s) / 2 };
    this.fitScale = s;
    this.transform();
  }

  zoomAt(factor, cx, cy) {
    const { s, tx, ty } = this.view;
    const next = Math.min(MAX_ZOOM / this.p, Math.max(Math.min(this.fitScale, 1) / 2, s * factor));
    this.view = { s: next, tx: cx - ((cx - tx) * next) / s, ty: cy - ((cy - ty) * next) / s };
    this.transform();
  }

  zoomCentre(factor) {
    this.zoomAt(factor, this.el.viewport.clientWidth / 2, this.el.viewport.clientHeight / 2);
  }

  local(e) {
    const rect = this.el.viewport.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  }

  toImage(e) {
    const [x, y] = this.local(e);
    const k = this.view.s * this.p;
    return [round1((x - this.view.tx) / k), round1((y - this.view.ty) / k)];
  }

  // --- events --------------------------------------------------------------------------------

  pointerDown(e) {
    try {
      this.el.viewport.setPointerCapture(e.pointerId); // keep the stroke when the pointer leaves
    } catch {
      // a pointer the browser no longer tracks: the stroke still works while it is inside
    }
    this.pointers.set(e.pointerId, this.local(e));
    if (this.pointers.size === 2) {
      this.strokeEnd(false); // a second finger: this is a pinch, not a stroke
      this.panning = false;
      return;
    }
    if (this.tool === "pan" || this.spaceDown || e.button === 1) {
      this.panning = true;
      return;
    }
    if (e.button === 0) this.strokeStart(this.toImage(e));
  }

  pointerMove(e) {
    this.cursorShow(e);
    const previous = this.pointers.get(e.pointerId);
    if (!previous) return;
    const now = this.local(e);
    if (this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()];
      const other = a === previous ? b : a;
      const before = Math.hypot(previous[0] - other[0], previous[1] - other[1]);
      const after = Math.hypot(now[0] - other[0], now[1] - other[1]);
      this.view.tx += (now[0] - previous[0]) / 2;
      this.view.ty += (now[1] - previous[1]) / 2;
      if (before > 0) this.zoomAt(after / before, (now[0] + other[0]) / 2, (now[1] + other[1]) / 2);
      else this.transform();
    } else if (this.panning) {
      this.view.tx += now[0] - previous[0];
      this.view.ty += now[1] - previous[1];
      this.transform();
    } else if (this.current) {
      this.strokeExtend(this.toImage(e));
    }
    this.pointers.set(e.pointerId, now);
  }

  pointerUp(e) {
    this.pointers.delete(e.pointerId);
    if (this.current) this.strokeEnd(e.type === "pointerup");
    if (!this.pointers.size) this.panning = false;
  }

  cursorShow(e) {
    const painting = this.tool !== "pan" && !this.spaceDown && e.pointerType !== "touch";
    this.el.cursor.hidden = !painting;
    if (!painting) return;
    const [x, y] = this.local(e);
    const d = Number(this.el.size.value) * this.p * this.view.s;
    Object.assign(this.el.cursor.style, { width: `${d}px`, height: `${d}px`, left: `${x - d / 2}px`, top: `${y - d / 2}px` });
  }

  sizeShow() {
    this.el.sizeOut.textContent = `${this.el.size.value} px`;
    this.el.hardnessOut.textContent = `${this.el.hardness.value} %`;
  }

  keyDown(e) {
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (mod && key === "z") {
      e.preventDefault();
      if (e.shiftKey) this.redo(); else this.undo();
    } else if (mod && key === "y") {
      e.preventDefault();
      this.redo();
    } else if (mod || typing(e.target)) {
      return;
    } else if (key === "e" || key === "r") {
      this.dialog.querySelector(`input[name=tu-tool][value=${key === "e" ? "erase" : "restore"}]`).checked = true;
    } else if (key === "[" || key === "]") {
      const step = Math.max(1, Math.round(Number(this.el.size.value) * 0.15));
      this.el.size.value = String(Number(this.el.size.value) + (key === "]" ? step : -step));
      this.sizeShow();
    } else if (key === " ") {
      // Held Space pans wherever focus is (a button or radio would otherwise take it as a click,
      // and the drag would paint); a stroke already under way is dropped, not kept.
      e.preventDefault();
      this.spaceDown = true;
      if (this.current) this.strokeEnd(false);
      if (this.pointers.size) this.panning = true;
      this.el.cursor.hidden = true;
    }
  }

  keyUp(e) {
    if (e.key !== " ") return;
    if (this.spaceDown && !typing(e.target)) e.preventDefault(); // no click on the focused button
    this.spaceDown = false;
  }

  wire() {
    const v = this.el.viewport;
    v.addEventListener("pointerdown", (e) => this.pointerDown(e));
    v.addEventListener("pointermove", (e) => this.pointerMove(e));
    v.addEventListener("pointerup", (e) => this.pointerUp(e));
    v.addEventListener("pointercancel", (e) => this.pointerUp(e));
    v.addEventListener("pointerleave", () => { this.el.cursor.hidden = true; });
    v.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [x, y] = this.local(e);
      this.zoomAt(Math.exp(-e.deltaY / 300), x, y);
    }, { passive: false });
    this.el.size.addEventListener("input", () => this.sizeShow());
    this.el.hardness.addEventListener("input", () => this.sizeShow());
    this.dialog.querySelector("#tu-zoom-in").addEventListener("click", () => this.zoomCentre(ZOOM_STEP));
    this.dialog.querySelector("#tu-zoom-out").addEventListener("click", () => this.zoomCentre(1 / ZOOM_STEP));
    this.dialog.querySelector("#tu-zoom-fit").addEventListener("click", () => this.fit());
    this.el.undo.addEventListener("click", () => this.undo());
    this.el.redo.addEventListener("click", () => this.redo());
    this.el.reset.addEventListener("click", () => this.reset());
    this.el.apply.addEventListener("click", () => {
      this.dialog.close();
      this.onApply(this.strokes);
    });
    this.dialog.addEventListener("keydown", (e) => this.keyDown(e));
    this.dialog.addEventListener("keyup", (e) => this.keyUp(e));
    this.dialog.addEventListener("close", () => { this.spaceDown = false; });
    window.addEventListener("blur", () => { this.spaceDown = false; });
    window.addEventListener("resize", () => { if (this.dialog.open && this.pw) this.fit(); });
  }
}
