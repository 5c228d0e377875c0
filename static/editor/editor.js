// The browser editor: pick/drop/paste one image or many, set options, upload with progress,
// follow the processing stages over the websocket, compare before/after, touch up the mask,
// change the background, download (one, or a batch as a ZIP), re-render for free.

import { Batch, BatchCard } from "./batch.js";
import { dimensionProblem, fileProblem, optionProblems } from "./checks.js";
import { Compare } from "./compare.js";
import { outputSize, resizedSize } from "./sizes.js";
import { cropBox, loadImage, marginParse, subjectBox } from "./subject.js";
import { LABELS, StageTracker } from "./progress.js";
import { ReportDialog } from "./report.js";
import { ProgressSocket } from "./socket.js";
import { TouchUp } from "./touchup.js";
import { getJson, postForm } from "./transport.js";

const root = document.getElementById("editor");
const limits = JSON.parse(document.getElementById("editor-limits").textContent);
const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
const $ = (id) => document.getElementById(id);

const el = {
  drop: $("dropzone"), file: $("file-input"), picked: $("picked"), form: $("options"),
  format: $("opt-format"), mask: $("opt-mask"), w: $("opt-w"), h: $("opt-h"), lock: $("opt-lock"),
  exact: $("opt-exact"), outputSize: $("output-size"), bgTransparent: $("bg-transparent"), bgSolid: $("bg-solid"),
  bgImage: $("bg-image"), bgPicker: $("opt-bg-picker"), bg: $("opt-bg"), bgNamed: $("opt-bg-named"),
  bgColorControls: $("bg-color-controls"), bgImageControls: $("bg-image-controls"), bgFile: $("bg-file"),
  bgFileName: $("bg-file-name"), bgFill: $("bg-fill"), bgFit: $("bg-fit"), angle: $("opt-angle"),
  refine: $("opt-refine"), crop: $("opt-crop"), cropMargin: $("opt-crop-margin"),
  expand: $("opt-expand"), upload: $("btn-upload"), apply: $("btn-apply"), bar: $("bar"),
  barFill: $("bar-fill"), barLabel: $("bar-label"), error: $("error"), beforeInfo: $("before-info"),
  afterInfo: $("after-info"), output: $("output"), outputActions: $("output-actions"), download: $("download"),
  touchup: $("btn-touchup"), resetTouchups: $("btn-reset-touchups"), recent: $("recent"),
  refineNote: $("refine-note"),
};

let files = [];         // the picked images (File); more than one = a batch
let source = null;      // {width, height} of the image shown, for the output size
let job = null;         // the job shown (state from the server)
let subject = null;     // {id, box}: the shown job's subject box in image pixels (null box: none)
let strokes = [];       // the shown job's touch-ups (image pixels), sent with every re-render
let bgFile = null;      // a background image picked but not yet sent
let op = null;          // the single-image operation in flight: {ref, kind, percent, finished}
let batchBusy = false;
const listeners = new Map(); // progress ref → handler, for the operations of this page

const compare = new Compare({
  viewer: $("viewer"), stage: $("stage"), before: $("img-before"), after: $("img-after"), divider: $("divider"),
  split: $("split"), row: $("compare-row"), fit: $("view-fit"), actual: $("view-actual"), empty: $("viewer-empty"),
  tools: $("view-tools"),
});
const batch = new Batch({ section: $("batch"), list: $("batch-list"), zip: $("batch-zip"), summary: $("batch-summary"),
  zipUrl: root.dataset.zipUrl });
const report = new ReportDialog($("report-dialog"), {
  csrf, jobsUrl: root.dataset.jobsUrl,
  onSent: () => setBar(100, "Report sent to the operators. Thank you.", "done"),
});
const touchup = new TouchUp($("touchup-dialog"), {
  onApply: (edited) => { strokes = edited; apply(); },
});

// --- progress bar ----------------------------------------------------------------------------

function setBar(percent, label, state = "") {
  const value = Math.max(0, Math.min(100, Math.round(percent)));
  el.barFill.style.width = `${value}%`;
  el.bar.setAttribute("aria-valuenow", String(value));
  el.bar.dataset.stage = state;
  el.barLabel.textContent = label;
}

function stageEvent(event) {
  const listener = listeners.get(event.ref);
  if (listener) listener(event);
  else if (event.stage === "done" && event.state) recentAdd(event.state); // another tab's work
}

function singleStage(event) {
  if (!op || op.finished || event.stage === "error") return; // the HTTP answer carries the error
  op.tracker.advance(event.stage);
}

// --- errors ----------------------------------------------------------------------------------

// An error replaces whatever the bar said: never a red message under a green "Done".
function showError(body) {
  el.error.replaceChildren();
  if (!body) { el.error.hidden = true; return; }
  setBar(0, LABELS.error, "error");
  const message = document.createElement("p");
  message.textContent = body.error;
  el.error.append(message);
  if (body.details && body.details.length > 1) {
    const list = document.createElement("ul");
    for (const d of body.details) {
      const item = document.createElement("li");
      item.textContent = d.message;
      list.append(item);
    }
    el.error.append(list);
  }
  if (body.action) {
    const link = document.createElement("a");
    link.href = body.action.href;
    link.textContent = body.action.label;
    el.error.append(link);
  }
  el.error.hidden = false;
}

// --- options ---------------------------------------------------------------------------------

function bgMode() {
  return root.querySelector("input[name=bg_mode]:checked").value;
}

function optionFields() {
  const fields = {
    format: el.format.value,
    w: el.w.value.trim(),
    h: el.h.value.trim(),
    exact_resize: el.exact.checked ? "true" : "false",
    mask: el.mask.checked ? "true" : "false",
    angle: el.angle.value.trim() || "0",
    expand: el.expand.checked ? "true" : "false",
    refine: el.refine.checked ? "matting" : "none",
    crop: el.crop.checked ? "true" : "false",
    crop_margin: el.cropMargin.value.trim(),
  };
  if (bgMode() === "color" && !el.mask.checked) fields.bg_color = el.bg.value.trim();
  return fields;
}

const yes = (v) => ["true", "1", "yes", "on"].includes(String(v || "").toLowerCase());

function optionsShow(options, touchups) {
  el.format.value = options.format ? options.format.toLowerCase().replace("jpg", "jpeg") : "webp";
  el.w.value = options.w || "";
  el.h.value = options.h || "";
  el.exact.checked = yes(options.exact_resize);
  el.mask.checked = yes(options.mask);
  el.angle.value = options.angle || "0";
  el.expand.checked = options.expand === undefined ? true : yes(options.expand);
  el.refine.checked = options.refine === "matting";
  el.crop.checked = yes(options.crop);
  el.cropMargin.value = options.crop_margin || "";
  if (options.bg_color) {
    el.bg.value = options.bg_color;
    syncPicker();
  }
  const mode = touchups?.background_url ? "image" : options.bg_color ? "color" : "transparent";
  root.querySelector(`input[name=bg_mode][value=${mode}]`).checked = true;
  (touchups?.background_fit === "fit" ? el.bgFit : el.bgFill).checked = true;
  el.bgFileName.textContent = touchups?.background_url ? "Background image set." : "";
  syncBackgroundControls();
  outputSizeShow();
}

function syncBackgroundControls() {
  const mode = bgMode();
  for (const c of [el.bgPicker, el.bg, el.bgNamed]) c.disabled = el.mask.checked || mode !== "color";
  // A preset is one click: it also switches to a colour background.
  for (const c of el.bgColorControls.querySelectorAll("button")) c.disabled = el.mask.checked;
  el.bgColorControls.hidden = mode === "image";
  el.bgImageControls.hidden = mode !== "image";
  for (const radio of root.querySelectorAll("input[name=bg_mode]")) radio.disabled = el.mask.checked;
}

function syncPicker() {
  const v = el.bg.value.trim();
  if (/^#[0-9a-f]{6}$/i.test(v)) el.bgPicker.value = v.toLowerCase();
  else if (/^#[0-9a-f]{3}$/i.test(v)) el.bgPicker.value = `#${[...v.slice(1)].map((c) => c + c).join("")}`.toLowerCase();
}

function keepAspect(changed) {
  const base = resizeBase();
  if (!el.lock.checked || !base) return;
  const aspect = base[0] / base[1];
  const n = parseInt(changed.value, 10);
  const other = changed === el.w ? el.h : el.w;
  if (!n || n < 1) { other.value = ""; return; }
  other.value = String(Math.max(1, Math.round(changed === el.w ? n / aspect : n * aspect)));
}

// What gets resized: the crop box when cropping (known once the job's mask is), else the image.
function resizeBase() {
  if (!source) return null;
  if (!el.crop.checked) return [source.width, source.height];
  const margin = marginParse(el.cropMargin.value);
  if (!subject?.box || !margin || subject.id !== job?.id) return null;
  const [, , w, h] = cropBox(subject.box, margin, [source.width, source.height]);
  return [w, h];
}

// The final size, said before rendering: SPEC crops, then resizes, then rotates.
function outputSizeShow() {
  if (!source) { el.outputSize.textContent = ""; return; }
  const base = resizeBase();
  const turned = Number(el.angle.value) % 180 !== 0 && el.expand.checked;
  if (!base) {
    el.outputSize.textContent = "Output: after crop to the subject (the size shows once the subject is found)";
    return;
  }
  const size = outputSize(base[0], base[1], optionFields());
  const after = [el.crop.checked && "crop", turned && "rotation"].filter(Boolean).join(" and ");
  el.outputSize.textContent = size ? `Output: ${size[0]} × ${size[1]} px${after ? ` (after ${after})` : ""}` : "";
}

// The subject's box from the job's mask and strokes, as the server finds it for a crop.
async function subjectFind(state) {
  const o = state.original;
  if (subject?.id === state.id && subject.strokes === JSON.stringify(state.touchups?.strokes || [])) return;
  subject = null;
  if (!o?.mask_url) return;
  const strokesKey = JSON.stringify(state.touchups?.strokes || []);
  let box;
  if (state.touchups?.background_url) {
    // Behind the subject, a filling background image is opaque everywhere: the box is the image.
    box = state.touchups.background_fit === "fill" ? [0, 0, o.width, o.height] : null;
  } else {
    box = await subjectBox(o.mask_url, o.width, o.height, state.touchups?.strokes || []).catch(() => null);
  }
  if (job?.id !== state.id) return;
  subject = { id: state.id, box, strokes: strokesKey };
  outputSizeShow();
  compareBeforeShow();
}

// "Before" is the original put through the result's crop, resize and rotation: the two halves
// of the compare view line up.
async function compareBeforeShow() {
  const state = job;
  if (!state?.original) return;
  const o = state.original;
  const opts = state.options || {};
  const crop = yes(opts.crop);
  const angle = Number(opts.angle || 0) || 0;
  if (!state.result || (!crop && angle % 360 === 0 && !opts.w && !opts.h)) {
    compare.showBefore(o.url);
    return;
  }
  if (crop && !subject?.box) return; // shown once the box is found
  const img = await loadImage(o.url).catch(() => null);
  if (!img || job !== state) return;
  const area = crop ? cropBox(subject.box, marginParse(opts.crop_margin) || { margin: 0, percent: false },
    [o.width, o.height]) : [0, 0, o.width, o.height];
  const side = (v) => { const n = parseInt(v, 10); return n >= 1 ? n : null; };
  const [rw, rh] = resizedSize(area[2], area[3], { w: side(opts.w), h: side(opts.h), exact: yes(opts.exact_resize) });
  const canvas = document.createElement("canvas");
  Object.assign(canvas, { width: state.result.width, height: state.result.height });
  const ctx = canvas.getContext("2d");
  ctx.translate(canvas.width / 2, canvas.height / 2);
  ctx.rotate((-angle * Math.PI) / 180); // the server's angle is counter-clockwise
  ctx.drawImage(img, area[0], area[1], area[2], area[3], -rw / 2, -rh / 2, rw, rh);
  canvas.toBlob((blob) => {
    if (blob && job === state) compare.showBefore(URL.createObjectURL(blob), { transformed: true });
  });
}

// --- picking files ---------------------------------------------------------------------------

function pick(picked) {
  picked = [...picked].filter(Boolean);
  if (!picked.length || busy()) return;
  showError(null);
  const problems = picked.map((f) => fileProblem(f, limits)).filter(Boolean);
  if (picked.length === 1 && problems.length) {
    showError({ error: problems[0] });
    return;
  }
  files = picked.filter((f) => !fileProblem(f, limits));
  if (problems.length) showError({ error: `${problems.length} file(s) skipped: ${problems[0]}` });
  job = null;
  strokes = [];
  jobControlsShow();
  if (files.length > 1) {
    batchPrepare();
    upload(); // starts at once: the options apply afterwards as free re-renders
  } else if (files.length) {
    batch.reset([]);
    singlePrepare(files[0]);
  }
  updateButtons();
}

function singlePrepare(picked) {
  const url = URL.createObjectURL(picked);
  el.picked.textContent = `${picked.name} · ${formatBytes(picked.size)}`;
  const probe = new Image();
  // Shown only once the browser could decode it: never a broken-image box. What it cannot
  // decode still goes to the server, whose answer says exactly what is wrong.
  probe.addEventListener("load", () => {
    const tooBig = dimensionProblem(probe.naturalWidth, probe.naturalHeight, limits);
    if (tooBig) {
      showError({ error: tooBig });
      files = [];
      updateButtons();
      return;
    }
    source = { width: probe.naturalWidth, height: probe.naturalHeight };
    el.beforeInfo.textContent = `Before: ${probe.naturalWidth} × ${probe.naturalHeight} px`;
    compare.showBefore(url);
    outputSizeShow();
    upload(); // starts at once, like remove.bg: options apply afterwards as free re-renders
  });
  probe.addEventListener("error", () => upload()); // the server says what is wrong with it
  probe.src = url;
  compare.clear();
  source = null;
  el.beforeInfo.textContent = el.afterInfo.textContent = "";
  setBar(0, "Starting…");
}

function batchPrepare() {
  el.picked.textContent = `${files.length} images · ${formatBytes(files.reduce((n, f) => n + f.size, 0))}`;
  compare.clear();
  el.beforeInfo.textContent = el.afterInfo.textContent = "";
  source = null;
  outputSizeShow();
  const onOpen = (state) => jobOpen(state.id).then(() => el.output.scrollIntoView({ block: "start" }));
  batch.reset(files.map((f) => new BatchCard(f, { onOpen })));
  setBar(0, `${files.length} images picked.`);
}

// --- operations ------------------------------------------------------------------------------

function busy() {
  return (op !== null && !op.finished) || batchBusy;
}

function updateButtons() {
  // Work starts on pick: "Remove background" is only there to try again after a refusal.
  el.upload.hidden = busy() || !files.length;
  el.upload.disabled = busy() || !files.length;
  el.upload.textContent = files.length > 1 ? `Remove background from ${files.length} images` : "Remove background";
  el.apply.disabled = busy() || !job || job.stage !== "done";
  el.apply.classList.toggle("primary", el.upload.hidden); // the one main button there is
  el.touchup.disabled = el.resetTouchups.disabled = busy();
}

function newRef() {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function validOptions() {
  const problems = optionProblems(optionFields());
  if (problems.length) {
    showError({
      error: problems.length === 1 ? problems[0].message : "Multiple validation errors",
      details: problems,
    });
    return null;
  }
  return optionFields();
}

// POST a form with a fresh progress ref; `onStage` gets this operation's websocket events.
async function send(url, formData, { onStage, onUploadProgress, onUploaded }) {
  const ref = newRef();
  formData.append("ref", ref);
  listeners.set(ref, onStage);
  try {
    return await postForm(url, formData, { csrf, onUploadProgress, onUploaded });
  } finally {
    listeners.delete(ref);
  }
}

async function run(kind, url, formData) {
  const tracker = new StageTracker(kind === "upload" ? "uploading" : "queued",
    (percent, label, stage) => setBar(percent, label, stage === "done" ? "done" : ""));
  op = { kind, finished: false, tracker };
  showError(null);
  updateButtons();
  if (kind === "upload") tracker.advance("uploading", 0); else setBar(0, "Rendering…");
  const started = performance.now();
  const { status, body } = await send(url, formData, {
    onStage: singleStage,
    onUploadProgress: kind === "upload" ? (f) => tracker.advance("uploading", f) : null,
    onUploaded: kind === "upload" ? () => tracker.advance("uploaded") : null,
  });
  op.finished = true;
  root.dataset.lastStages = tracker.seen.filter((s) => !s.startsWith("upload")).join(",");
  root.dataset.lastMs = String(Math.round(performance.now() - started));
  if (status === 200) {
    if (kind === "upload") files = [];
    tracker.advance("done");
    setBar(100, LABELS.done, "done");
    jobShow(body);
    recentAdd(body);
  } else {
    showError(body);
  }
  updateButtons();
  if (status === 200 && kind === "upload") el.output.scrollIntoView({ block: "start" }); // the result, not the form
  return status === 200;
}

function optionsForm(fields) {
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) data.append(k, v);
  return data;
}

async function upload(event) {
  event?.preventDefault();
  if (!files.length || busy()) return;
  const fields = validOptions();
  if (!fields) return;
  if (files.length > 1) { batchRun(fields); return; }
  const data = optionsForm(fields);
  data.append("image", files[0], files[0].name || "image.png");
  // A background image is a touch-up of the processed job: the free re-render adds it.
  if (await run("upload", root.dataset.uploadUrl, data) && bgMode() === "image" && bgFile) apply();
}

function apply() {
  if (!job || busy()) return;
  const fields = validOptions();
  if (!fields) return;
  const data = optionsForm(fields);
  data.append("strokes", JSON.stringify(strokes));
  if (bgMode() === "image" && !el.mask.checked) {
    if (!bgFile && !job.touchups?.background_url) {
      showError({ error: "Choose a background image first." });
      return;
    }
    if (bgFile) data.append("background", bgFile, bgFile.name);
    data.append("background_fit", el.bgFit.checked ? "fit" : "fill");
  } else if (job.touchups?.background_url && !el.mask.checked) {
    data.append("background_remove", "true");
  }
  run("render", `${root.dataset.jobsUrl}${job.id}/render/`, data).then((ok) => { if (ok) bgFile = null; });
}

async function batchRun(fields) {
  batchBusy = true;
  updateButtons();
  const cards = batch.cards.filter((c) => !c.state);
  setBar(0, `Processing ${cards.length} images…`);
  for (const [i, card] of cards.entries()) {
    const data = optionsForm(fields);
    data.append("image", card.file, card.file.name || "image.png");
    card.stage("uploading");
    const { status, body } = await send(root.dataset.uploadUrl, data, {
      onStage: (event) => card.stage(event.stage),
      onUploadProgress: (f) => card.stage("uploading", f),
      onUploaded: () => card.stage("uploaded"),
    });
    if (status === 200) { card.done(body); recentAdd(body); } else card.fail(body);
    batch.update();
    setBar(((i + 1) / cards.length) * 100, `${i + 1} of ${cards.length} processed`);
  }
  batchBusy = false;
  setBar(100, LABELS.done, "done");
  files = [];
  updateButtons();
}

// --- showing a job ---------------------------------------------------------------------------

function jobControlsShow() {
  const done = Boolean(job && job.result);
  el.outputActions.hidden = !done;
  el.resetTouchups.hidden = !done || !strokes.length;
  el.touchup.hidden = !done || !job.original?.mask_url;
}

// What refinement did, from the result's X-Refine value and X-Refine-Reason (SPEC §7).
const REFINE_NOTES = { matting: "Edges refined", reduced: "Refined on a reduced copy" };
const SKIP_REASONS = {
  "mask-uncertain": "the mask looks wrong here (the brush can fix it)",
  "too-large": "the image is too large to refine",
  "time-budget": "it took too long",
  "not-converged": "the solver did not settle",
};

function refineShow(result) {
  const refine = result?.refine;
  el.refineNote.hidden = !refine;
  el.refineNote.dataset.refine = refine || "";
  if (!refine) { el.refineNote.textContent = ""; return; }
  el.refineNote.textContent = REFINE_NOTES[refine]
    || `Not refined: ${SKIP_REASONS[result.refine_reason] || result.refine_reason || "skipped"}`;
}

function jobShow(state) {
  job = state;
  strokes = state.touchups?.strokes || [];
  if (state.original) {
    const o = state.original;
    source = { width: o.width, height: o.height };
    el.beforeInfo.textContent = `Before: ${o.width} × ${o.height} px · ${o.format.toUpperCase()} · ${formatBytes(o.size)}`;
  }
  if (state.result) {
    const r = state.result;
    compare.showResult(r.url);
    el.afterInfo.textContent = `· After: ${r.width} × ${r.height} px · ${r.format.toUpperCase()} · ${formatBytes(r.size)}`;
    el.download.href = r.download_url;
    el.download.setAttribute("download", r.filename);
  } else {
    compare.hideResult();
  }
  refineShow(state.result);
  jobControlsShow();
  outputSizeShow();
  compareBeforeShow();
  subjectFind(state);
  if (state.stage === "error" && state.error) showError(state.error);
  updateButtons();
}

async function jobOpen(id) {
  if (busy()) return;
  const { status, body } = await getJson(`${root.dataset.jobsUrl}${id}/`);
  if (status !== 200) {
    showError(body);
    return;
  }
  files = [];
  bgFile = null;
  el.picked.textContent = body.original ? body.original.name : "";
  showError(null);
  optionsShow(body.options || {}, body.touchups);
  setBar(body.stage === "done" ? 100 : 0, LABELS[body.stage] || body.stage, body.stage === "done" ? "done" : "");
  jobShow(body);
  history.replaceState(null, "", `?job=${id}`);
}

function recentItem(state) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = `?job=${state.id}`;
  link.dataset.job = state.id;
  link.className = "recent-item";
  link.setAttribute("aria-describedby", "recent-help");
  const thumb = document.createElement("span");
  thumb.className = "checker thumb";
  const img = document.createElement("img");
  img.src = state.result.thumbnail_url;
  img.alt = "";
  thumb.append(img);
  const name = document.createElement("span");
  name.className = "recent-name";
  name.textContent = state.original ? state.original.name : "image";
  const meta = document.createElement("span");
  meta.className = "recent-meta";
  meta.textContent = `just now · ${state.result.format.toUpperCase()}`;
  link.append(thumb, name, meta);
  const discard = document.createElement("button");
  discard.type = "button";
  discard.className = "discard";
  discard.dataset.discard = state.id;
  discard.setAttribute("aria-label", `Discard ${name.textContent}`);
  discard.textContent = "×";
  item.append(link, discard);
  return item;
}

function recentAdd(state) {
  const existing = el.recent.querySelector(`[data-job="${state.id}"]`);
  if (!state.result || existing) {
    const img = existing?.querySelector("img");
    if (img && state.result) img.src = state.result.thumbnail_url;
    return;
  }
  $("recent-empty")?.remove();
  el.recent.prepend(recentItem(state));
}

// Discarding deletes the files on the server for good: it asks first (Esc or "Keep it" cancels).
function recentDiscardAsk(id) {
  const dialog = $("discard-dialog");
  const link = el.recent.querySelector(`[data-job="${id}"]`);
  $("discard-name").textContent = link?.querySelector(".recent-name")?.textContent || "This image";
  dialog.dataset.job = id;
  dialog.returnFocus = document.activeElement;
  dialog.showModal();
}

$("discard-confirm").addEventListener("click", () => {
  const dialog = $("discard-dialog");
  dialog.close();
  recentDiscard(dialog.dataset.job);
});
$("discard-dialog").addEventListener("close", (e) => {
  const back = e.target.returnFocus;
  if (back?.isConnected) back.focus();
});

async function recentDiscard(id) {
  const item = el.recent.querySelector(`[data-job="${id}"]`)?.closest("li");
  const { status, body } = await postForm(`${root.dataset.jobsUrl}${id}/delete/`, new FormData(), { csrf });
  if (status !== 200) { showError(body); return; }
  const next = item?.nextElementSibling?.querySelector("a") || item?.previousElementSibling?.querySelector("a");
  item?.remove();
  next?.focus();
  if (job && job.id === id) {
    job = null;
    compare.clear();
    el.beforeInfo.textContent = el.afterInfo.textContent = "";
    jobControlsShow();
    updateButtons();
    history.replaceState(null, "", location.pathname);
  }
  setBar(0, "Image discarded.");
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// --- wiring ----------------------------------------------------------------------------------

el.drop.addEventListener("click", (e) => { if (e.target.tagName !== "LABEL") el.file.click(); });
el.drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); el.file.click(); }
});
el.file.addEventListener("change", () => { pick(el.file.files); el.file.value = ""; });
for (const name of ["dragenter", "dragover"]) {
  el.drop.addEventListener(name, (e) => { e.preventDefault(); el.drop.classList.add("over"); });
}
el.drop.addEventListener("dragleave", () => el.drop.classList.remove("over"));
el.drop.addEventListener("drop", (e) => {
  e.preventDefault();
  el.drop.classList.remove("over");
  pick(e.dataTransfer.files);
});
// Paste anywhere on the page (a text field still pastes text as usual).
document.addEventListener("paste", (e) => {
  const pasted = [...(e.clipboardData?.files || [])].filter((f) => f.type.startsWith("image/"));
  if (pasted.length) { e.preventDefault(); pick(pasted); }
});

el.form.addEventListener("submit", upload);
el.apply.addEventListener("click", apply);
el.form.addEventListener("input", outputSizeShow);
el.form.addEventListener("change", outputSizeShow);
el.w.addEventListener("input", () => keepAspect(el.w));
el.h.addEventListener("input", () => keepAspect(el.h));
el.lock.addEventListener("change", () => { if (el.lock.checked) keepAspect(el.w.value ? el.w : el.h); });
el.mask.addEventListener("change", syncBackgroundControls);
for (const radio of root.querySelectorAll("input[name=bg_mode]")) radio.addEventListener("change", syncBackgroundControls);
el.bgPicker.addEventListener("input", () => { el.bg.value = el.bgPicker.value; el.bgNamed.value = ""; });
el.bg.addEventListener("input", () => { syncPicker(); el.bgNamed.value = ""; });
el.bgNamed.addEventListener("change", () => {
  if (!el.bgNamed.value) return;
  el.bg.value = el.bgNamed.value;
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = el.bgNamed.value; // the browser turns a name into #rrggbb for the picker
  if (/^#[0-9a-f]{6}$/i.test(probe.fillStyle)) el.bgPicker.value = probe.fillStyle;
});
for (const swatch of el.bgColorControls.querySelectorAll("[data-color]")) {
  swatch.addEventListener("click", () => {
    el.bgSolid.checked = true;
    syncBackgroundControls();
    el.bg.value = swatch.dataset.color;
    el.bgNamed.value = "";
    syncPicker();
  });
}
el.bgFile.addEventListener("change", () => {
  const picked = el.bgFile.files[0];
  el.bgFile.value = "";
  if (!picked) return;
  const problem = fileProblem(picked, limits);
  if (problem) { showError({ error: problem }); return; }
  bgFile = picked;
  el.bgFileName.textContent = picked.name;
});
for (const button of root.querySelectorAll("[data-rotate]")) {
  button.addEventListener("click", () => {
    let angle = (parseFloat(el.angle.value) || 0) + parseFloat(button.dataset.rotate);
    if (angle > 360) angle -= 360;
    if (angle < -360) angle += 360;
    el.angle.value = String(angle);
    outputSizeShow();
  });
}
el.recent.addEventListener("click", (e) => {
  const discard = e.target.closest("[data-discard]");
  if (discard) { recentDiscardAsk(discard.dataset.discard); return; }
  const link = e.target.closest("[data-job]");
  if (!link) return;
  e.preventDefault();
  jobOpen(link.dataset.job);
});
el.recent.addEventListener("keydown", (e) => {
  const link = e.target.closest("[data-job]");
  if (!link || !(e.key === "Delete" || e.key === "Backspace")) return;
  e.preventDefault();
  recentDiscardAsk(link.dataset.job);
});
el.touchup.addEventListener("click", () => { if (job) touchup.open(job, strokes); });
$("btn-report").addEventListener("click", () => { if (job) report.open(job); });
el.resetTouchups.addEventListener("click", () => { strokes = []; apply(); });
$("btn-shortcuts").addEventListener("click", () => $("shortcuts-dialog").showModal());
// Esc closes a <dialog> natively; the close buttons do the same.
for (const button of root.querySelectorAll("dialog [data-close]")) {
  button.addEventListener("click", () => button.closest("dialog").close());
}

new ProgressSocket(root.dataset.wsPath, {
  onEvent: stageEvent,
  onStatus: (up) => { root.dataset.socket = up ? "open" : "closed"; },
  // After a reconnect, re-read the shown job: any message we missed is in its state.
  onReconnect: () => { if (job && !busy()) jobOpen(job.id); },
});

syncBackgroundControls();
if (root.dataset.openJob) jobOpen(root.dataset.openJob);
