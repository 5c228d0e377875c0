"""Servers on loopback that speak Stripe's HTTP API, for the official SDK to talk to:

- `localstripe` (PyPI), a stateful fake Stripe run as a subprocess: customers, plans, subscriptions,
  invoices, payment methods, and signed webhook delivery (`Stripe-Signature`);
- `StripeRecorder` for what localstripe lacks (Checkout sessions, the billing portal, Prices): it
  records each request exactly as the SDK sent it (method, path, form body) and answers what Stripe's
  API reference documents for that call.

`stripe_at(url)` points the SDK's global `stripe.api_base` there (the in-process server sees it too).
"""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import stripe

from tests.live import free_port, process_stop


@contextmanager
def stripe_at(url: str) -> Iterator[None]:
    saved = stripe.api_base
    stripe.api_base = url
    try:
        yield
    finally:
        stripe.api_base = saved


@contextmanager
def localstripe_running(log_path: Path) -> Iterator[str]:
    """`python -m localstripe` on a free loopback port, from scratch; yields its base URL."""
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
                                stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{url}/v1/customers", auth=("sk_test_x", ""), timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "localstripe did not start"
                time.sleep(0.1)
            yield url
        finally:
            process_stop(proc, timeout=10)


def localstripe_webhook(url: str, *, name: str, target: str, secret: str) -> None:
    """Have localstripe deliver every event, signed with `secret`, to `target` (its /_config API)."""
    response = httpx.post(f"{url}/_config/webhooks/{name}", data={"url": target, "secret": secret}, timeout=5)
    response.raise_for_status()


class StripeRecorder:
    """A loopback HTTP server standing in for api.stripe.com: it records requests and answers the
    documented objects for the three calls localstripe does not implement."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                split = urlsplit(self.path)
                recorded = {"method": self.command, "path": split.path, "query": split.query,
                            "form": parse_qsl(body, keep_blank_values=True),
                            "authorization": self.headers.get("Authorization")}
                recorder.requests.append(recorded)
                status, answer = recorder.answer(recorded)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", f"req_{len(recorder.requests)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle  # noqa: N815 (http.server's naming)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.prices: dict[str, dict] = {}
        self.fail_with: int | None = None  # answer every request with this status (Stripe's error shape)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request: dict) -> tuple[int, dict]:
        path = request["path"]
        if self.fail_with is not None:
            return self.fail_with, {"error": {"type": "api_error", "message": "Something went wrong."}}
        if request["method"] == "POST" and path == "/v1/checkout/sessions":
            n = len(self.requests)
            return 200, {"id": f"cs_test_{n}", "object": "checkout.session",
                         "url": f"https://checkout.stripe.com/c/pay/cs_test_{n}"}
        if request["method"] == "POST" and path == "/v1/billing_portal/sessions":
            return 200, {"id": "bps_test_1", "object": "billing_portal.session",
                         "url": "https://billing.stripe.com/p/session/test_1"}
        if request["method"] == "GET" and path.startswith("/v1/prices/"):
            price_id = path.rsplit("/", 1)[1]
            if price_id in self.prices:
                return 200, {"id": price_id, "object": "price", **self.prices[price_id]}
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "message": f"No such price: '{price_id}'", "param": "id"}}
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})"}}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
