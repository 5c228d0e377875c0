// Buttons with data-confirm ask before their form is sent (no inline handlers: the CSP forbids them).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
