// Client-side checks: the same limits and messages as the server (SPEC §1), for a fast answer.
// The server checks everything again; it is the truth.

export function extensionOf(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

export function fileProblem(file, limits) {
  const ext = extensionOf(file.name || "");
  if (!limits.extensions.includes(ext.slice(1))) {
    return `File type '${ext}' is not supported. Allowed formats: ${limits.extensions.join(", ")}`;
  }
  if (file.size === 0) return "Uploaded file is empty (0 bytes).";
  if (file.size > limits.maxBytes) {
    const mb = (file.size / 1024 / 1024).toFixed(1);
    return `File size (${mb} MB) exceeds the maximum allowed size of ${limits.maxBytes / 1024 / 1024} MB.`;
  }
  return null;
}

export function dimensionProblem(width, height, limits) {
  if (width > limits.maxSide) {
    return `Image width (${width}px) exceeds the maximum allowed width of ${limits.maxSide}px.`;
  }
  if (height > limits.maxSide) {
    return `Image height (${height}px) exceeds the maximum allowed height of ${limits.maxSide}px.`;
  }
  return null;
}

const HEX = /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;

export function colorValid(value) {
  const v = value.trim();
  if (HEX.test(v)) return true;
  // CSS named colours only (the server accepts names, not rgb() or "transparent").
  if (!/^[a-z]+$/i.test(v) || ["transparent", "currentcolor", "inherit", "initial", "unset"].includes(v.toLowerCase())) {
    return false;
  }
  return typeof CSS !== "undefined" && CSS.supports("color", v);
}

function sideProblem(field, raw) {
  const value = raw.trim();
  if (value === "") return null;
  if (!/^[+-]?\d+$/.test(value)) return `'${field}' must be an integer, got: '${raw}'`;
  const n = parseInt(value, 10);
  if (n === 0) return null;
  if (n < 1) return `'${field}' must be at least 1, got: ${n}`;
  if (n > 10000) return `'${field}' must be at most 10000, got: ${n}`;
  return null;
}

function pyFloat(n) {
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

// Field errors in SPEC's field order: [{field, message}].
export function optionProblems(fields) {
  const problems = [];
  const add = (field, message) => message && problems.push({ field, message });
  add("w", sideProblem("w", fields.w || ""));
  add("h", sideProblem("h", fields.h || ""));
  if (fields.bg_color !== undefined && !colorValid(fields.bg_color)) {
    add("bg_color", `Invalid color format '${fields.bg_color}'. Use hex format: #RGB, #RGBA, #RRGGBB, or #RRGGBBAA`);
  }
  const angle = (fields.angle || "").trim();
  if (angle !== "") {
    const n = Number(angle);
    if (!Number.isFinite(n)) add("angle", `'angle' must be a number, got: '${fields.angle}'`);
    else if (n < -360 || n > 360) add("angle", `'angle' must be between -360 and 360 degrees, got: ${pyFloat(n)}`);
  }
  return problems;
}
