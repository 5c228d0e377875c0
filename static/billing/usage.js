// Billing-cycle picker: show the chosen window as soon as it is picked (the Show button works without JS).
const picker = document.querySelector("[data-cycle-picker]");
if (picker) {
  const select = picker.querySelector("select");
  select.addEventListener("change", () => picker.requestSubmit());
}

// Chart tooltip: the day's numbers on hover and on focus. The chart is one tab stop; the arrow keys,
// Home and End move between days (roving tabindex). Screen readers read each day's aria-label, and
// the table under the chart has the same numbers.
const box = document.querySelector("[data-chart]");
if (box) {
  const tip = box.querySelector("[data-chart-tip]");
  const scroller = box.querySelector(".chart-scroll");
  scroller.scrollLeft = scroller.scrollWidth;  // on a narrow screen, start at the newest days
  // A day label the box's edge would cut ("12" of "Nov 12") is left out until scrolled in whole.
  const labels = [...box.querySelectorAll("text.day-label")];
  const uncut = () => {
    const frame = scroller.getBoundingClientRect();
    for (const label of labels) {
      const r = label.getBoundingClientRect();
      const whole = r.left >= frame.left - 0.5 && r.right <= frame.right + 0.5;
      const gone = r.right <= frame.left || r.left >= frame.right;
      label.style.visibility = whole || gone ? "" : "hidden";
    }
  };
  scroller.addEventListener("scroll", uncut, { passive: true });
  window.addEventListener("resize", uncut);
  uncut();
  const days = [...box.querySelectorAll("g.day")];
  const dateText = (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString(undefined,
    { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

  const show = (day) => {
    const app = Number(day.dataset.app), api = Number(day.dataset.api);
    tip.replaceChildren();
    const title = document.createElement("strong");
    title.textContent = dateText(day.dataset.date);
    tip.append(title, `Editor ${app} · API ${api} · Total ${app + api}`);
    const bar = day.getBoundingClientRect(), frame = box.getBoundingClientRect();
    tip.hidden = false;
    const half = tip.offsetWidth / 2;
    const centre = Math.min(Math.max(bar.left + bar.width / 2 - frame.left, half), frame.width - half);
    tip.style.left = `${centre}px`;
    tip.style.top = `${Math.max(bar.top - frame.top, tip.offsetHeight + 8)}px`;
  };
  const hide = () => { tip.hidden = true; };

  const move = (from, to) => {
    const next = days[Math.max(0, Math.min(days.length - 1, to))];
    from.setAttribute("tabindex", "-1");
    next.setAttribute("tabindex", "0");
    next.focus();
  };
  const keys = { ArrowLeft: (i) => i - 1, ArrowRight: (i) => i + 1, Home: () => 0, End: () => days.length - 1 };

  days.forEach((day, i) => {
    day.addEventListener("pointerenter", () => show(day));
    day.addEventListener("pointerleave", hide);
    day.addEventListener("focus", () => show(day));
    day.addEventListener("blur", hide);
    day.addEventListener("keydown", (event) => {
      if (event.key === "Escape") return hide();
      if (!(event.key in keys)) return;
      event.preventDefault();
      move(day, keys[event.key](i));
    });
  });
}
