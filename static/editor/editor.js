// The browser editor: pick/drop/paste an image, set options, upload with progress, follow the
// processing stages over the websocket, show before/after, download, re-render for free.

import { dimensionProblem, fileProblem, optionProblems } from "./checks.js";
import { ProgressSocket } from "./socket.js";
import { getJson, postForm } from "./transport.js";

const root = document.getElementById("editor");
const limits = JSON.parse(document.getElementById("editor-limits").textContent);
const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
const $ = (id) => document.getElementById(id);

const el = {
  drop: $("dropzone"), file: $("file-input"), picked: $("picked"), form: $("options"),
  format: $("opt-format"), mask: $("opt-mask"), w: $("opt-w"), h: $("opt-h"), lock: $("opt-lock"),
  exact: $("opt-exact"), bgTransparent: $("bg-transparent"), bgSolid: $("bg-solid"),
  bgPicker: $("opt-bg-picker"), bg: $("opt-bg"), bgNamed: $("opt-bg-named"), angle: $("opt-angle"),
  expand: $("opt-expand"), upload: $("btn-upload"), apply: $("btn-apply"), bar: $("bar"),
  barFill: $("bar-fill"), barLabel: $("bar-label"), error: $("error"), before: $("img-before"),
  after: $("img-after"), beforeInfo: $("before-info"), afterInfo: $("after-info"),
  download: $("download"), recent: $("recent"),
};

// Where each stage puts the bar: the upload itself fills the first half.
const STAGES = {
  upload: { received: 52, queued: 58, segmenting: 66, compositing: 85, encoding: 93, done: 100 },
  render: { queued: 15, compositing: 45, encoding: 80, done: 100 },
};
const LABELS = {
  received: "Received", queued: "Queued…", segmenting: "Finding the subject…",
  compositing: "Compositing…", encoding: "Encoding…", done: "Done", error: "Failed",
};

let file = null;        // the picked image (File)
let fileUrl = null;     // its object URL for the "before" view
let aspect = null;      // width / height of the current source image
let job = null;         // the job shown (state from the server)
let op = null;          // the operation in flight: {ref, kind, percent, finished}

// --- progress bar ----------------------------------------------------------------------------

function setBar(percent, label) {
  const value = Math.max(0, Math.min(100, Math.round(percent)));
  el.barFill.style.width = `${value}%`;
  el.bar.setAttribute("aria-valuenow", String(value));
  el.bar.dataset.stage = label === LABELS.done ? "done" : "";
  el.barLabel.textContent = label;
}

function stageEvent(event) {
  if (!op || event.ref !== op.ref || op.finished) {
    if (event.stage === "done" && event.state && (!op || event.ref !== op.ref)) recentAdd(event.state);
    return;
  }
  if (event.stage === "error") return; // the HTTP answer carries the full error
  const percent = STAGES[op.kind][event.stage];
  if (percent === undefined || percent < op.percent) return; // never move backwards
  op.percent = percent;
  op.job = event.job;
  op.sawStages.push(event.stage);
  setBar(percent, `${LABELS[event.stage]}${event.stage === "done" ? "" : ` (${percent}%)`}`);
}

// --- errors ----------------------------------------------------------------------------------

function showError(body) {
  el.error.replaceChildren();
  if (!body) { el.error.hidden = true; return; }
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

function optionFields() {
  const fields = {
    format: el.format.value,
    w: el.w.value.trim(),
    h: el.h.value.trim(),
    exact_resize: el.exact.checked ? "true" : "false",
    mask: el.mask.checked ? "true" : "false",
    angle: el.angle.value.trim() || "0",
    expand: el.expand.checked ? "true" : "false",
  };
  if (el.bgSolid.checked && !el.mask.checked) fields.bg_color = el.bg.value.trim();
  return fields;
}

function optionsShow(options) {
  el.format.value = options.format ? options.format.toLowerCase().replace("jpg", "jpeg") : "webp";
  el.w.value = options.w || "";
  el.h.value = options.h || "";
  const yes = (v) => ["true", "1", "yes", "on"].includes(String(v || "").toLowerCase());
  el.exact.checked = yes(options.exact_resize);
  el.mask.checked = yes(options.mask);
  el.angle.value = options.angle || "0";
  el.expand.checked = options.expand === undefined ? true : yes(options.expand);
  if (options.bg_color) {
    el.bgSolid.checked = true;
    el.bg.value = options.bg_color;
    syncPicker();
  } else {
    el.bgTransparent.checked = true;
  }
  syncBackgroundControls();
}

function syncBackgroundControls() {
  const disabled = el.mask.checked || !el.bgSolid.checked;
  for (const c of [el.bgPicker, el.bg, el.bgNamed]) c.disabled = disabled;
  el.bgSolid.disabled = el.bgTransparent.disabled = el.mask.checked;
}

function syncPicker() {
  const v = el.bg.value.trim();
  if (/^#[0-9a-f]{6}$/i.test(v)) el.bgPicker.value = v.toLowerCase();
  else if (/^#[0-9a-f]{3}$/i.test(v)) el.bgPicker.value = `#${[...v.slice(1)].map((c) => c + c).join("")}`.toLowerCase();
}

function keepAspect(changed) {
  if (!el.lock.checked || !aspect) return;
  const n = parseInt(changed.value, 10);
  const other = changed === el.w ? el.h : el.w;
  if (!n || n < 1) { other.value = ""; return; }
  other.value = String(Math.max(1, Math.round(changed === el.w ? n / aspect : n * aspect)));
}

// --- picking a file --------------------------------------------------------------------------

function pick(picked) {
  if (!picked || busy()) return;
  showError(null);
  const problem = fileProblem(picked, limits);
  if (problem) {
    showError({ error: problem });
    return;
  }
  file = picked;
  if (fileUrl) URL.revokeObjectURL(fileUrl);
  fileUrl = URL.createObjectURL(picked);
  el.picked.textContent = `${picked.name} · ${formatBytes(picked.size)}`;
  const probe = new Image();
  probe.addEventListener("load", () => {
    const tooBig = dimensionProblem(probe.naturalWidth, probe.naturalHeight, limits);
    if (tooBig) {
      showError({ error: tooBig });
      file = null;
      updateButtons();
      return;
    }
    aspect = probe.naturalWidth / probe.naturalHeight;
    el.beforeInfo.textContent = `${probe.naturalWidth} × ${probe.naturalHeight} px`;
  });
  probe.src = fileUrl;
  el.before.src = fileUrl;
  el.before.hidden = false;
  el.after.hidden = true;
  el.afterInfo.textContent = "";
  el.download.hidden = true;
  job = null;
  setBar(0, "Ready to upload.");
  updateButtons();
}

// --- operations ------------------------------------------------------------------------------

function busy() {
  return op !== null && !op.finished;
}

function updateButtons() {
  el.upload.disabled = busy() || !file;
  el.apply.disabled = busy() || !job || job.stage !== "done";
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

async function run(kind, url, formData) {
  op = { ref: newRef(), kind, percent: 0, finished: false, sawStages: [] };
  formData.append("ref", op.ref);
  showError(null);
  updateButtons();
  setBar(0, kind === "upload" ? "Uploading… 0%" : "Rendering…");
  const started = performance.now();
  const { status, body } = await postForm(url, formData, {
    csrf,
    onUploadProgress: kind === "upload" ? (f) => {
      if (op.percent < 50) { op.percent = f * 50; setBar(op.percent, `Uploading… ${Math.round(f * 100)}%`); }
    } : null,
    onUploaded: kind === "upload" ? () => setBar(Math.max(op.percent, 50), "Uploaded, waiting for the server…") : null,
  });
  op.finished = true;
  root.dataset.lastStages = op.sawStages.join(",");
  root.dataset.lastMs = String(Math.round(performance.now() - started));
  if (status === 200) {
    setBar(100, LABELS.done);
    jobShow(body);
    recentAdd(body);
  } else {
    setBar(0, LABELS.error);
    showError(body);
  }
  updateButtons();
}

function upload(event) {
  event.preventDefault();
  if (!file || busy()) return;
  const fields = validOptions();
  if (!fields) return;
  const data = new FormData();
  data.append("image", file, file.name || "image.png");
  for (const [k, v] of Object.entries(fields)) data.append(k, v);
  run("upload", root.dataset.uploadUrl, data);
}

function apply() {
  if (!job || busy()) return;
  const fields = validOptions();
  if (!fields) return;
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) data.append(k, v);
  run("render", `${root.dataset.jobsUrl}${job.id}/render/`, data);
}

// --- showing a job ---------------------------------------------------------------------------

function jobShow(state) {
  job = state;
  if (state.original) {
    el.before.src = state.original.url;
    el.before.hidden = false;
    aspect = state.original.width / state.original.height;
    el.beforeInfo.textContent = `${state.original.width} × ${state.original.height} px · ` +
      `${state.original.format.toUpperCase()} · ${formatBytes(state.original.size)}`;
  }
  if (state.result) {
    const r = state.result;
    el.after.src = r.url;
    el.after.hidden = false;
    el.afterInfo.textContent = `${r.width} × ${r.height} px · ${r.format.toUpperCase()} · ${formatBytes(r.size)}`;
    el.download.href = r.download_url;
    el.download.setAttribute("download", r.filename);
    el.download.hidden = false;
  } else {
    el.after.hidden = true;
    el.download.hidden = true;
  }
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
  file = null;
  el.picked.textContent = body.original ? body.original.name : "";
  showError(null);
  optionsShow(body.options || {});
  setBar(body.stage === "done" ? 100 : 0, LABELS[body.stage] || body.stage);
  jobShow(body);
}

function recentAdd(state) {
  if (!state.result || el.recent.querySelector(`[data-job="${state.id}"]`)) {
    const img = el.recent.querySelector(`[data-job="${state.id}"] img`);
    if (img && state.result) img.src = state.result.thumbnail_url;
    return;
  }
  $("recent-empty")?.remove();
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = `?job=${state.id}`;
  link.dataset.job = state.id;
  link.className = "recent-item";
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
  item.append(link);
  el.recent.prepend(item);
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
el.file.addEventListener("change", () => { pick(el.file.files[0]); el.file.value = ""; });
for (const name of ["dragenter", "dragover"]) {
  el.drop.addEventListener(name, (e) => { e.preventDefault(); el.drop.classList.add("over"); });
}
el.drop.addEventListener("dragleave", () => el.drop.classList.remove("over"));
el.drop.addEventListener("drop", (e) => {
  e.preventDefault();
  el.drop.classList.remove("over");
  pick(e.dataTransfer.files[0]);
});
document.addEventListener("paste", (e) => {
  const pasted = [...(e.clipboardData?.files || [])].find((f) => f.type.startsWith("image/"));
  if (pasted) { e.preventDefault(); pick(pasted); }
});

el.form.addEventListener("submit", upload);
el.apply.addEventListener("click", apply);
el.w.addEventListener("input", () => keepAspect(el.w));
el.h.addEventListener("input", () => keepAspect(el.h));
el.lock.addEventListener("change", () => { if (el.lock.checked) keepAspect(el.w.value ? el.w : el.h); });
el.mask.addEventListener("change", syncBackgroundControls);
for (const radio of [el.bgTransparent, el.bgSolid]) radio.addEventListener("change", syncBackgroundControls);
el.bgPicker.addEventListener("input", () => { el.bg.value = el.bgPicker.value; el.bgNamed.value = ""; });
el.bg.addEventListener("input", () => { syncPicker(); el.bgNamed.value = ""; });
el.bgNamed.addEventListener("change", () => {
  if (!el.bgNamed.value) return;
  el.bg.value = el.bgNamed.value;
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = el.bgNamed.value; // the browser turns a name into #rrggbb for the picker
  if (/^#[0-9a-f]{6}$/i.test(probe.fillStyle)) el.bgPicker.value = probe.fillStyle;
});
for (const button of root.querySelectorAll("[data-rotate]")) {
  button.addEventListener("click", () => {
    let angle = (parseFloat(el.angle.value) || 0) + parseFloat(button.dataset.rotate);
    if (angle > 360) angle -= 360;
    if (angle < -360) angle += 360;
    el.angle.value = String(angle);
  });
}
el.recent.addEventListener("click", (e) => {
  const link = e.target.closest("[data-job]");
  if (!link) return;
  e.preventDefault();
  jobOpen(link.dataset.job);
  history.replaceState(null, "", `?job=${link.dataset.job}`);
});

new ProgressSocket(root.dataset.wsPath, {
  onEvent: stageEvent,
  onStatus: (up) => { root.dataset.socket = up ? "open" : "closed"; },
  // After a reconnect, re-read the shown job: any message we missed is in its state.
  onReconnect: () => { if (job && !busy()) jobOpen(job.id); },
});

syncBackgroundControls();
if (root.dataset.openJob) jobOpen(root.dataset.openJob);
