// Swagger UI puts each operation's deep-link anchor inside the button that opens it: a focusable
// control nested in another (axe "nested-interactive"). The button already opens the operation, so
// the anchors become plain text (Swagger UI still updates the address bar: deepLinking).
// Swagger UI's headings go from the title's h1 straight to h3 (tags) and h4 (Schemas): told as
// level 2, the outline has no gap (axe "heading-order").
const SECTION_HEADINGS = "h3.opblock-tag, .models > h4, section.models h4";
const unnest = () => {
  for (const link of document.querySelectorAll(".opblock-summary-control a[href]")) link.removeAttribute("href");
  for (const heading of document.querySelectorAll(SECTION_HEADINGS)) {
    if (heading.getAttribute("aria-level") !== "2") heading.setAttribute("aria-level", "2");
  }
};
new MutationObserver(unnest).observe(document.body, { childList: true, subtree: true });
unnest();
