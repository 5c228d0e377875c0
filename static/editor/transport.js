// HTTP to the editor's endpoints. XHR for posts, so the upload reports real progress events.

export function postForm(url, formData, { csrf, onUploadProgress, onUploaded } = {}) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    if (onUploadProgress) {
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) onUploadProgress(e.loaded / e.total);
      });
    }
    if (onUploaded) xhr.upload.addEventListener("load", onUploaded);
    xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.response || networkError(xhr.status) }));
    xhr.addEventListener("error", () => resolve({ status: 0, body: networkError(0) }));
    xhr.addEventListener("abort", () => resolve({ status: 0, body: networkError(0) }));
    xhr.send(formData);
  });
}

export async function getJson(url) {
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const body = await response.json().catch(() => networkError(response.status));
    return { status: response.status, body };
  } catch {
    return { status: 0, body: networkError(0) };
  }
}

function networkError(status) {
  return {
    error: status ? `The server answered with an error (${status}).` : "The connection to the server was lost. Please try again.",
    status,
  };
}
