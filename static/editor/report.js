// "Report a bad cut-out": the shown job's original, mask and result go to the operators' queue
// (POST /editor/jobs/<id>/report/), with the user's consent (required) and an optional note.

import { postForm } from "./transport.js";

export class ReportDialog {
  constructor(dialog, { csrf, jobsUrl, onSent }) {
    Object.assign(this, { dialog, csrf, jobsUrl, onSent });
    this.form = dialog.querySelector("#report-form");
    this.error = dialog.querySelector("#report-error");
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.send(); });
  }

  open(job) {
    this.job = job;
    this.form.reset();
    this.error.hidden = true;
    this.dialog.querySelector("#report-name").textContent = job.original?.name || "this image";
    this.dialog.showModal();
  }

  async send() {
    const consent = this.form.querySelector("#report-consent");
    const data = new FormData();
    data.append("consent", consent.checked ? "true" : "false");
    data.append("note", this.form.querySelector("#report-note").value);
    const { status, body } = await postForm(`${this.jobsUrl}${this.job.id}/report/`, data, { csrf: this.csrf });
    if (status !== 201) {
      this.error.textContent = body.error;
      this.error.hidden = false;
      if (!consent.checked) consent.focus();
      return;
    }
    this.dialog.close();
    this.onSent(body);
  }
}
