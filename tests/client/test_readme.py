"""The README's Python examples run as written against the live server."""

import re
from pathlib import Path

import pytest

from tests.client.images import encode, figure

README = Path(__file__).resolve().parents[2] / "client" / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_it_runs_the_readme_example(index, live_api, dave_key, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CUTOUT_API_KEY", dave_key)
    monkeypatch.setenv("CUTOUT_BASE_URL", live_api)
    (tmp_path / "photo.jpg").write_bytes(encode(figure(), "JPEG"))
    exec(compile(python_blocks()[index], f"README block {index}", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out
