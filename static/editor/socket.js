// The progress websocket: reconnects with back-off. Progress is a convenience; the page re-reads
// job state over HTTP after a reconnect, so a lost message loses nothing. While the socket is down
// (the server refuses it when its channel layer is unreachable) a notice says so; uploads and
// re-renders keep working over HTTP, only the live stages pause.

const NOTICE = "Live progress unavailable, retrying…";

export class ProgressSocket {
  constructor(path, { onEvent, onReconnect, onStatus }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    this.onEvent = onEvent;
    this.onReconnect = onReconnect;
    this.onStatus = onStatus || (() => {});
    this.delay = 500;
    this.opened = false;
    this.notice = noticeCreate(document.querySelector(`[data-ws-path="${path}"]`) || document.body);
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.addEventListener("open", () => {
      this.delay = 500;
      this.notice.style.display = "none";
      this.onStatus(true);
      if (this.opened && this.onReconnect) this.onReconnect();
      this.opened = true;
    });
    ws.addEventListener("message", (e) => {
      let event;
      try { event = JSON.parse(e.data); } catch { return; }
      this.onEvent(event);
    });
    ws.addEventListener("close", () => {
      this.notice.style.display = "";
      this.onStatus(false);
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    });
    this.ws = ws;
  }
}

// A polite status line under the page's heading, hidden until the socket goes down.
function noticeCreate(root) {
  const notice = document.createElement("p");
  notice.className = "editor-alert socket-notice";
  notice.setAttribute("role", "status");
  notice.dataset.testid = "socket-notice";
  notice.textContent = NOTICE;
  notice.style.display = "none";
  const heading = root.querySelector("h1");
  if (heading) heading.after(notice); else root.prepend(notice);
  return notice;
}
