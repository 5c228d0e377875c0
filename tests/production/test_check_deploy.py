"""`manage.py check --deploy` with the production variables of docs/deploy.md: no warnings.

Settings read the environment once, at import, so each case runs in its own process."""

import os
import secrets
import subprocess
import sys

from tests.production.conftest import ROOT

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SITE_URL": "https://cutout.example.com",
    "ALLOWED_HOSTS": "cutout.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://cutout.example.com",
    "TRUSTED_PROXIES": "10.0.0.2",
    "SECURE_HSTS_PRELOAD": "true",
}


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key not in PRODUCTION and key != "SECURE"}
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=120)


def test_it_is_clean_with_the_production_variables():
    done = _check(PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_it_only_asks_about_preload_when_hsts_preload_is_left_off():
    # Preloading is a promise to browsers that cannot be taken back quickly: it stays opt-in,
    # and this warning (W021) is the one thing check --deploy says then.
    done = _check(PRODUCTION | {"SECURE_HSTS_PRELOAD": "false"})
    assert done.returncode == 1
    assert "security.W021" in done.stderr
    assert done.stderr.count("(security.") == 1 and "identified 1 issue" in done.stderr


def test_it_warns_when_a_production_host_runs_without_secure_settings():
    done = _check(PRODUCTION | {"SECURE": "false"})
    assert done.returncode == 1
    for code in ("W004", "W008", "W012", "W016"):  # HSTS, SSL redirect, both cookies
        assert f"security.{code}" in done.stderr
