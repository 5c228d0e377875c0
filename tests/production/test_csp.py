"""The Content-Security-Policy is sent, and our pages satisfy it: scripts only from our own static
files, no inline script, no inline event handler, no javascript: URL (checked on the rendered HTML)."""

from html.parser import HTMLParser

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}  # data, never executed


class ScriptAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.script_srcs: list[str] = []
        self._inline: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> inline handler")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            if attrs.get("src"):
                self.script_srcs.append(attrs["src"])
            elif attrs.get("type") not in DATA_SCRIPT_TYPES:
                self._inline = attrs

    def handle_data(self, data):
        if self._inline is not None and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline = None


def audit(html: str) -> ScriptAudit:
    parser = ScriptAudit()
    parser.feed(html)
    return parser


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_it_sends_a_policy_that_forbids_inline_and_foreign_scripts(client):
    policy = directives(client.get("/healthz"))
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "ws://testserver" in policy["connect-src"]  # the editor's websocket


def test_it_lets_the_websocket_use_wss_over_https(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    (socket,) = [src for src in directives(response)["connect-src"] if src != "'self'"]
    assert socket.startswith("wss://testserver")


def test_it_can_send_the_policy_as_report_only(client, settings):
    settings.CSP_REPORT_ONLY = True
    response = client.get("/healthz")
    assert "Content-Security-Policy" not in response
    assert "script-src 'self'" in response["Content-Security-Policy-Report-Only"]


@pytest.mark.parametrize("path", ["/editor/", "/profile/", "/"])
def test_it_renders_signed_in_pages_that_satisfy_the_policy(path, alice):
    client = Client()
    client.force_login(alice)
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"]
    result = audit(response.content.decode())
    assert result.problems == []
    assert all(src.startswith("/static/") for src in result.script_srcs), result.script_srcs


def test_it_renders_the_editor_with_its_scripts_as_modules_from_static(alice):
    client = Client()
    client.force_login(alice)
    result = audit(client.get("/editor/").content.decode())
    assert any(src.endswith("editor/editor.js") for src in result.script_srcs)


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_it_renders_account_pages_that_satisfy_the_policy(client, path):
    result = audit(client.get(path).content.decode())
    assert result.problems == []


def test_it_serves_the_api_docs_without_a_cdn(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    result = audit(response.content.decode())
    assert result.problems == []
    assert result.script_srcs and all(src.startswith(("/static/ninja/", "/static/api/")) for src in result.script_srcs)
    assert "cdn" not in response.content.decode().lower()
