// One operation's progress: an ordered list of stages, and a tracker that only ever moves
// forward. The upload's own events (XHR) and the server's (websocket) arrive on two channels in no
// guaranteed order, so "Uploaded, waiting…" may come after "Queued…": it is then ignored.
// A new server stage (e.g. "refining") is one entry in STAGES; percents follow from the order.

// [stage, label, weight]: weight is the share of the bar the stage covers (upload = the first half).
export const STAGES = [
  ["uploading", "Uploading…", 48],
  ["uploaded", "Uploaded, waiting for the server…", 2],
  ["received", "Received", 2],
  ["queued", "Queued…", 6],
  ["segmenting", "Finding the subject…", 20],
  ["refining", "Refining the edges…", 0], // sent only when refine is asked; takes no share then
  ["compositing", "Compositing…", 10],
  ["encoding", "Encoding…", 12],
  ["done", "Done", 0],
];

export const LABELS = Object.fromEntries([...STAGES.map(([s, label]) => [s, label]), ["error", "Failed"]]);

const ORDER = STAGES.map(([s]) => s);

// The percent at which each stage starts, for an operation that begins at `first`.
function starts(first) {
  const from = ORDER.indexOf(first);
  const total = STAGES.slice(from).reduce((n, [, , w]) => n + w, 0) || 1;
  const out = {};
  let at = 0;
  for (const [s, , w] of STAGES.slice(from)) {
    out[s] = Math.round((at / total) * 100);
    at += w;
  }
  out.done = 100;
  return out;
}

export class StageTracker {
  // `first`: "uploading" for an upload, "queued" for a free re-render (nothing to send).
  constructor(first, onChange) {
    this.percents = starts(first);
    this.index = -1;
    this.percent = 0;
    this.onChange = onChange;
    this.seen = [];
  }

  get stage() {
    return this.index < 0 ? null : ORDER[this.index];
  }

  // Move to `stage` (with `fraction` of it done, for the upload). False when it would go back.
  advance(stage, fraction = 0) {
    const index = ORDER.indexOf(stage);
    if (index < 0 || this.percents[stage] === undefined) return false;
    if (index < this.index || (index === this.index && fraction === 0)) return false;
    const next = ORDER[index + 1];
    const start = this.percents[stage];
    const end = next === undefined ? 100 : this.percents[next] ?? 100;
    const percent = Math.round(start + (end - start) * Math.max(0, Math.min(1, fraction)));
    if (percent < this.percent) return false;
    if (index !== this.index) this.seen.push(stage);
    this.index = index;
    this.percent = percent;
    this.fraction = fraction;
    this.onChange(percent, this.label(), stage);
    return true;
  }

  label() {
    const stage = this.stage;
    if (stage === "done") return LABELS.done;
    if (stage === "uploading") return `${LABELS.uploading} ${Math.round(this.fraction * 100)}%`;
    return `${LABELS[stage]} (${this.percent}%)`;
  }
}
