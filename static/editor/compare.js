// The result viewer: the original under the cut-out, split by a draggable divider (and a range
// input for the keyboard), shown to fit or at 100 %. The stage takes the image's own shape, so
// the slider's 0-100 % spans the picture, not the grey around it.

export class Compare {
  constructor(el) {
    this.el = el; // {viewer, stage, before, after, divider, split, row, fit, actual, empty, tools}
    this.zoom = "fit";
    this.dragging = false;
    this.wire();
  }

  showBefore(url, { transformed = false } = {}) {
    const old = this.el.before.src;
    if (old.startsWith("blob:") && old !== url && this.el.before.dataset.transformed === "true") URL.revokeObjectURL(old);
    this.el.before.dataset.transformed = String(transformed);
    this.el.before.src = url;
    this.el.before.hidden = false;
    this.el.stage.hidden = false;
    this.el.empty.hidden = true;
    this.el.tools.hidden = false;
    this.layout();
  }

  showResult(url) {
    this.el.after.src = url;
    this.el.after.hidden = false;
    this.el.divider.hidden = this.el.row.hidden = false;
    this.setSplit(Number(this.el.split.value));
  }

  hideResult() {
    this.el.after.hidden = true;
    this.el.after.removeAttribute("src");
    this.el.divider.hidden = this.el.row.hidden = true;
    this.el.before.style.clipPath = "";
  }

  clear() {
    this.hideResult();
    this.el.before.hidden = true;
    this.el.before.removeAttribute("src");
    this.el.stage.hidden = true;
    this.el.empty.hidden = false;
    this.el.tools.hidden = true;
  }

  // Left of the divider: before; right of it: after. Both are clipped, or the original would
  // show through the cut-out's transparent parts.
  setSplit(percent) {
    const v = Math.max(0, Math.min(100, percent));
    this.el.split.value = String(Math.round(v));
    this.el.split.setAttribute("aria-valuetext", `${Math.round(v)} % original`);
    if (this.el.after.hidden) return;
    this.el.before.style.clipPath = `inset(0 ${100 - v}% 0 0)`;
    this.el.after.style.clipPath = `inset(0 0 0 ${v}%)`;
    this.el.divider.style.left = `${v}%`;
  }

  setZoom(zoom) {
    this.zoom = zoom;
    this.el.viewer.dataset.zoom = zoom;
    this.el.fit.setAttribute("aria-pressed", String(zoom === "fit"));
    this.el.actual.setAttribute("aria-pressed", String(zoom === "actual"));
    this.layout();
  }

  // At 100 % the stage takes the shown image's own pixel size and the viewer scrolls; to fit,
  // the largest box of the image's shape that the viewer holds.
  layout() {
    const img = this.el.after.hidden ? this.el.before : this.el.after;
    const apply = () => {
      const { naturalWidth: w, naturalHeight: h } = img;
      if (!w || !h) return;
      let width = w;
      let height = h;
      if (this.zoom !== "actual") {
        const room = this.el.viewer.clientWidth;
        const tall = Math.min(window.innerHeight * 0.6, 560);
        const scale = Math.min(room / w, tall / h);
        [width, height] = [Math.max(1, Math.floor(w * scale)), Math.max(1, Math.floor(h * scale))];
      }
      this.el.stage.style.width = `${width}px`;
      this.el.stage.style.height = `${height}px`;
    };
    if (img.complete) apply(); else img.addEventListener("load", apply, { once: true });
  }

  dragTo(e) {
    const rect = this.el.stage.getBoundingClientRect();
    this.setSplit(((e.clientX - rect.left) / rect.width) * 100);
  }

  wire() {
    const { stage, split, fit, actual, after } = this.el;
    split.addEventListener("input", () => this.setSplit(Number(split.value)));
    fit.addEventListener("click", () => this.setZoom("fit"));
    actual.addEventListener("click", () => this.setZoom("actual"));
    after.addEventListener("load", () => this.layout());
    this.el.before.addEventListener("load", () => this.layout());
    new ResizeObserver(() => this.layout()).observe(this.el.viewer);
    stage.addEventListener("pointerdown", (e) => {
      if (after.hidden || e.button !== 0) return;
      this.dragging = true;
      stage.setPointerCapture(e.pointerId);
      this.dragTo(e);
    });
    stage.addEventListener("pointermove", (e) => { if (this.dragging) this.dragTo(e); });
    for (const name of ["pointerup", "pointercancel"]) stage.addEventListener(name, () => { this.dragging = false; });
  }
}
