// Swagger UI puts each operation's deep-link anchor inside the button that opens it: a focusable
// control nested in another (axe "nested-interactive"). The button already opens the operation, so
// the anchors become plain text (Swagger UI still updates the address bar: deepLinking).
const unnest = () => {
  for (const link of document.querySelectorAll(".opblock-summary-control a[href]")) link.removeAttribute("href");
};
new MutationObserver(unnest).observe(document.body, { childList: true, subtree: true });
unnest();
