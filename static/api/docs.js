// Swagger UI puts each operation's deep-link anchor inside the button that opens it: a focusable
// control nested in another (axe "nested-interactive"). The button already opens the operation, so
// the anchors become plain text (Swagger UI still updates the address bar: deepLinking).
// Swagger UI's headings go from the title's h1 straight to h3 (tags), h4 (Schemas) and, in an
// opened operation, h4 again: told as levels 2 and 3 the outline has no gap (axe "heading-order").
const LEVELS = [["h3.opblock-tag, section.models > h4, .models > h4", "2"], [".opblock-body h4", "3"]];
const setOnce = (node, name, value) => { if (node.getAttribute(name) !== value) node.setAttribute(name, value); };
const unnest = () => {
  for (const link of document.querySelectorAll(".opblock-summary-control a[href]")) link.removeAttribute("href");
  for (const [selector, level] of LEVELS) {
    for (const heading of document.querySelectorAll(selector)) setOnce(heading, "aria-level", level);
  }
  // A parameter's value picker (true/false) has no label of its own: the parameter's name.
  for (const select of document.querySelectorAll(".parameters-col_description select:not([aria-label])")) {
    const name = select.closest("tr[data-param-name]")?.dataset.paramName;
    if (name) select.setAttribute("aria-label", name);
  }
  // Example bodies scroll sideways: reachable from the keyboard.
  for (const code of document.querySelectorAll(".highlight-code > .microlight:not([tabindex])")) code.tabIndex = 0;
  // Each operation's responses region is named after its operation, not "Responses" twice over.
  for (const region of document.querySelectorAll(".opblock .responses-wrapper [id$='_responses']")) {
    const op = region.closest(".opblock");
    const path = op?.querySelector(".opblock-summary-path")?.textContent;
    const method = op?.querySelector(".opblock-summary-method")?.textContent;
    if (path && method) setOnce(region, "aria-label", `Responses of ${method} ${path}`);
  }
};
new MutationObserver(unnest).observe(document.body, { childList: true, subtree: true });
unnest();
