"""Where the API key and the server address come from: an argument, the environment, or a .env file.

Order: explicit argument > `CUTOUT_API_KEY` / `CUTOUT_BASE_URL` in the environment > the same names
in the nearest `.env` file (searched from the working directory upwards). The .env file is read,
never written into `os.environ`, so importing this package has no side effects.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values, find_dotenv

from cutout_client.errors import ConfigurationError

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
API_KEY_ENV = "CUTOUT_API_KEY"
BASE_URL_ENV = "CUTOUT_BASE_URL"


def _dotenv(env_file: str | os.PathLike | None) -> dict[str, str | None]:
    if env_file is None:
        found = find_dotenv(usecwd=True)
        return dotenv_values(found) if found else {}
    path = Path(env_file)
    return dotenv_values(path) if path.is_file() else {}


def setting_get(name: str, *, env_file: str | os.PathLike | None = None) -> str | None:
    value = os.environ.get(name)
    if value:
        return value
    return _dotenv(env_file).get(name) or None


def api_key_resolve(api_key: str | None, *, env_file: str | os.PathLike | None = None) -> str:
    key = api_key or setting_get(API_KEY_ENV, env_file=env_file)
    if not key:
        raise ConfigurationError(
            f"No API key: pass api_key=..., or set {API_KEY_ENV} in the environment or a .env file"
        )
    return key.strip()


def base_url_resolve(base_url: str | None, *, env_file: str | os.PathLike | None = None) -> str:
    url = base_url or setting_get(BASE_URL_ENV, env_file=env_file) or DEFAULT_BASE_URL
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"base_url must start with http:// or https://, got {url!r}")
    return url.rstrip("/")
