// Copy buttons: `data-copy="<element id>"` copies that element's text, exactly (no trailing newline,
// unlike a triple-click selection), and says so in the matching `data-copy-status` element.
const say = (id, text) => {
  const status = document.querySelector(`[data-copy-status="${id}"]`);
  if (status) status.textContent = text;
};

const selectText = (element) => {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
};

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const id = button.dataset.copy;
  const source = document.getElementById(id);
  if (!source) return;
  try {
    // navigator.clipboard exists only in secure contexts (https, or http on localhost)
    await navigator.clipboard.writeText(source.textContent.trim());
    say(id, "Copied to the clipboard.");
  } catch {
    selectText(source);
    say(id, "Your browser did not allow copying: the text is selected, press Ctrl+C (⌘C on a Mac).");
  }
});
