// The landing page's try-out: a photo → an anonymous POST /rmbg (the API's anonymous trial, its
// daily limit and its errors) asking for a preview of at most data-max-pixels (w/h), shown next
// to the photo. Nothing is stored: the answer lives in this page only.

const box = document.querySelector("[data-testid=tryout]");
const $ = (id) => document.getElementById(id);

function previewSize(width, height, maxPixels) {
  if (width * height <= maxPixels) return null; // already small: its own size
  const scale = Math.sqrt(maxPixels / (width * height));
  // Both sides, rounded down: the server fits inside w × h, so the area stays under the cap.
  return [Math.max(1, Math.floor(width * scale)), Math.max(1, Math.floor(height * scale))];
}

function decoded(url) {
  const img = new Image();
  img.src = url;
  return img.decode().then(() => img);
}

async function tryout(file) {
  const status = $("tryout-status");
  const result = $("tryout-result");
  status.textContent = "Removing the background…";
  box.dataset.state = "busy";
  const before = URL.createObjectURL(file);
  let img;
  try {
    img = await decoded(before);
  } catch {
    status.textContent = "This browser cannot read that file: choose a PNG, JPEG, WebP or BMP photo.";
    box.dataset.state = "error";
    return;
  }
  const form = new FormData();
  form.append("image", file, file.name || "photo");
  form.append("format", "webp");
  const size = previewSize(img.naturalWidth, img.naturalHeight, Number(box.dataset.maxPixels));
  if (size) {
    form.append("w", String(size[0]));
    form.append("h", String(size[1]));
  }
  let response;
  try {
    // Anonymous on purpose (no cookies): the trial is the API's, the same for everyone.
    response = await fetch(box.dataset.url, { method: "POST", body: form, credentials: "omit" });
  } catch {
    status.textContent = "The connection to the server was lost. Please try again.";
    box.dataset.state = "error";
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({ error: `The server answered with an error (${response.status}).` }));
    status.textContent = body.error;
    box.dataset.state = "error";
    return;
  }
  const after = URL.createObjectURL(await response.blob());
  $("tryout-before").src = before;
  const shown = $("tryout-after");
  shown.src = after;
  await shown.decode().catch(() => {});
  $("tryout-after-caption").textContent = `After (preview, ${shown.naturalWidth} × ${shown.naturalHeight} px)`;
  result.hidden = false;
  status.textContent = "Done.";
  box.dataset.state = "done";
}

if (box) {
  const input = $("tryout-file");
  input.addEventListener("change", () => {
    const file = input.files[0];
    input.value = "";
    if (file) tryout(file);
  });
}
