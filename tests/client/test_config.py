"""API key and base URL: argument, then environment, then a .env file."""

import pytest
from cutout_client import Client, ConfigurationError
from cutout_client.config import DEFAULT_BASE_URL, api_key_resolve, base_url_resolve


def test_it_prefers_the_argument(monkeypatch):
    monkeypatch.setenv("CUTOUT_API_KEY", "from-env")
    assert api_key_resolve("from-arg") == "from-arg"


def test_it_reads_the_environment(monkeypatch):
    monkeypatch.setenv("CUTOUT_API_KEY", "from-env")
    monkeypatch.setenv("CUTOUT_BASE_URL", "https://cutout.example.com/")
    assert api_key_resolve(None) == "from-env"
    assert base_url_resolve(None) == "https://cutout.example.com"


def test_it_reads_a_dotenv_file_without_touching_the_environment(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("CUTOUT_API_KEY=from-dotenv\nCUTOUT_BASE_URL=http://10.0.0.5:9000\n")
    nested = tmp_path / "project" / "src"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert api_key_resolve(None) == "from-dotenv"
    assert base_url_resolve(None) == "http://10.0.0.5:9000"
    monkeypatch.setenv("CUTOUT_API_KEY", "from-env")
    assert api_key_resolve(None) == "from-env"


def test_it_reads_an_explicit_env_file(tmp_path):
    env_file = tmp_path / "cutout.env"
    env_file.write_text("CUTOUT_API_KEY=explicit\n")
    with Client(env_file=env_file) as client:
        assert client.api_key == "explicit"
        assert client.base_url == DEFAULT_BASE_URL


def test_it_explains_a_missing_key():
    with pytest.raises(ConfigurationError, match="CUTOUT_API_KEY"):
        Client()


def test_it_refuses_a_base_url_without_scheme():
    with pytest.raises(ConfigurationError, match="http"):
        base_url_resolve("cutout.example.com")
