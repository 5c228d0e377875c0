// Billing-cycle picker: show the chosen window as soon as it is picked (the Show button works without JS).
const picker = document.querySelector("[data-cycle-picker]");
if (picker) {
  const select = picker.querySelector("select");
  select.addEventListener("change", () => picker.requestSubmit());
}
