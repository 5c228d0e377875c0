// Batch: one card per picked file with its own stages, a download each, and all of them as a ZIP.

const PERCENT = { received: 52, queued: 58, segmenting: 66, refining: 75, compositing: 85, encoding: 93, done: 100 };

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class BatchCard {
  constructor(file, { labels, onOpen }) {
    this.file = file;
    this.labels = labels;
    this.state = null;
    this.url = URL.createObjectURL(file);
    this.li = make("li", "batch-card");
    this.li.dataset.testid = "batch-card";
    const thumb = make("span", "checker thumb");
    this.img = make("img");
    this.img.src = this.url;
    this.img.alt = "";
    thumb.append(this.img);
    this.name = make("span", "recent-name", file.name);
    this.bar = make("div", "bar");
    this.bar.setAttribute("role", "progressbar");
    this.bar.setAttribute("aria-valuemin", "0");
    this.bar.setAttribute("aria-valuemax", "100");
    this.bar.setAttribute("aria-label", `Progress of ${file.name}`);
    this.fill = make("div", "bar-fill");
    this.bar.append(this.fill);
    this.label = make("p", "bar-label", "Waiting…");
    this.label.dataset.testid = "batch-stage";
    this.actions = make("div", "card-actions");
    this.actions.hidden = true;
    this.download = make("a", "button small", "Download");
    this.download.setAttribute("aria-label", `Download ${file.name}`);
    this.open = make("button", "small secondary", "Open");
    this.open.type = "button";
    this.open.setAttribute("aria-label", `Open ${file.name} in the editor`);
    this.open.addEventListener("click", () => onOpen(this.state));
    this.actions.append(this.download, this.open);
    this.li.append(thumb, this.name, this.bar, this.label, this.actions);
  }

  progress(percent, text) {
    const value = Math.round(Math.max(0, Math.min(100, percent)));
    this.fill.style.width = `${value}%`;
    this.bar.setAttribute("aria-valuenow", String(value));
    this.label.textContent = text;
  }

  stage(stage) {
    if (PERCENT[stage] !== undefined) this.progress(PERCENT[stage], this.labels[stage]);
  }

  done(state) {
    this.state = state;
    this.li.dataset.state = "done";
    this.progress(100, this.labels.done);
    this.img.src = state.result.thumbnail_url;
    URL.revokeObjectURL(this.url);
    this.download.href = state.result.download_url;
    this.download.setAttribute("download", state.result.filename);
    this.actions.hidden = false;
  }

  fail(body) {
    this.li.dataset.state = "error";
    this.progress(0, `${this.labels.error}: ${body.error} (not charged)`);
  }
}

export class Batch {
  constructor({ section, list, zip, summary, zipUrl }) {
    Object.assign(this, { section, list, zip, summary, zipUrl });
    this.cards = [];
  }

  reset(cards) {
    this.cards = cards;
    this.list.replaceChildren(...cards.map((c) => c.li));
    this.section.hidden = !cards.length;
    this.zip.hidden = true;
    this.summary.textContent = cards.length ? `${cards.length} images ready. One credit each; failed ones are free.` : "";
  }

  update() {
    const done = this.cards.filter((c) => c.state);
    const failed = this.cards.filter((c) => c.li.dataset.state === "error").length;
    this.zip.hidden = !done.length;
    this.zip.href = `${this.zipUrl}?ids=${done.map((c) => c.state.id).join(",")}`;
    const left = this.cards.length - done.length - failed;
    this.summary.textContent = `${done.length} done` + (failed ? ` · ${failed} failed (free)` : "") +
      (left ? ` · ${left} to go` : "") + ` · ${done.length} credit${done.length === 1 ? "" : "s"} used`;
  }
}
