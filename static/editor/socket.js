// The progress websocket: reconnects with back-off. Progress is a convenience; the page re-reads
// job state over HTTP after a reconnect, so a lost message loses nothing.

export class ProgressSocket {
  constructor(path, { onEvent, onReconnect, onStatus }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    this.onEvent = onEvent;
    this.onReconnect = onReconnect;
    this.onStatus = onStatus || (() => {});
    this.delay = 500;
    this.opened = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.addEventListener("open", () => {
      this.delay = 500;
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
      this.onStatus(false);
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    });
    this.ws = ws;
  }
}
