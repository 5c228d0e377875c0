"""The `cutout` command against the live server: a folder with concurrency, skipping, usage tables."""

import subprocess
import sys
from pathlib import Path

import pytest
from cutout_client.cli import main
from PIL import Image

from tests.client.images import encode, figure

COLOURS = ["crimson", "navy", "darkgreen", "orange"]


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "in"
    images.mkdir()
    for index, colour in enumerate(COLOURS):
        fmt, suffix = [("PNG", "png"), ("JPEG", "jpg")][index % 2]
        (images / f"photo{index}.{suffix}").write_bytes(encode(figure(colour=colour), fmt))
    (images / "notes.txt").write_text("not an image, not sent")
    return images


def run(live_api, key, *argv):
    return main(["--api-key", key, "--base-url", live_api, *argv])


def test_it_processes_a_folder_with_concurrency_then_skips_what_is_done(live_api, dave_key, folder, tmp_path,
                                                                        capsys):
    out = tmp_path / "out"
    assert run(live_api, dave_key, "remove", str(folder), "-o", str(out), "--concurrency", "3",
               "--format", "png", "--w", "48") == 0
    summary = capsys.readouterr().out
    assert "4 processed, 0 skipped (output exists), 0 failed; credits used: 4" in summary
    assert sorted(p.name for p in out.iterdir()) == [f"photo{i}.png" for i in range(4)]
    for path in out.iterdir():
        with Image.open(path) as image:
            assert (image.format, image.size) == ("PNG", (48, 32))

    assert run(live_api, dave_key, "remove", str(folder), "-o", str(out), "--concurrency", "3",
               "--format", "png") == 0
    assert "0 processed, 4 skipped (output exists), 0 failed; credits used: 0" in capsys.readouterr().out

    assert run(live_api, dave_key, "remove", str(folder / "photo1.jpg"), "-o", str(out), "--format", "png",
               "--force", "--mask") == 0
    assert "1 processed, 0 skipped (output exists), 0 failed; credits used: 1" in capsys.readouterr().out
    with Image.open(out / "photo1.png") as image:
        assert image.mode == "L"


def test_it_passes_refine_crop_and_model_to_the_server(live_api, dave_key, folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(live_api, dave_key, "remove", str(folder / "photo1.jpg"), "-o", str(out), "--format", "png",
               "--refine", "matting", "--crop", "--crop-margin", "5%", "--model", "u2netp") == 0
    assert "1 processed" in capsys.readouterr().out
    assert run(live_api, dave_key, "remove", str(folder / "photo0.png"), "-o", str(out), "--model", "nope") == 1
    assert "Invalid model 'nope'. Installed models:" in capsys.readouterr().err


def test_it_passes_the_quality_to_the_server(live_api, dave_key, folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(live_api, dave_key, "remove", str(folder / "photo1.jpg"), "-o", str(out), "--quality", "high") == 0
    assert "1 processed" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse refuses anything else before any request
        run(live_api, dave_key, "remove", str(folder / "photo1.jpg"), "-o", str(out), "--quality", "best")


def test_it_reports_failures_and_keeps_going(live_api, dave_key, folder, tmp_path, capsys):
    (folder / "broken.png").write_bytes(b"this is not a png")
    out = tmp_path / "out"
    assert run(live_api, dave_key, "remove", str(folder), "-o", str(out), "-c", "2", "--angle", "90",
               "--no-expand", "--bg-color", "white", "--exact-resize") == 1
    captured = capsys.readouterr()
    assert "4 processed, 0 skipped (output exists), 1 failed; credits used: 4" in captured.out
    assert "File does not appear to be a valid image (invalid file signature)" in captured.err
    assert not (out / "broken.webp").exists()
    assert len(list(out.glob("photo*.webp"))) == 4


def test_it_refuses_two_inputs_with_the_same_output(live_api, dave_key, tmp_path, capsys):
    for suffix in ("png", "jpg"):
        (tmp_path / f"same.{suffix}").write_bytes(encode(figure(), "PNG" if suffix == "png" else "JPEG"))
    assert run(live_api, dave_key, "remove", str(tmp_path / "same.png"), str(tmp_path / "same.jpg"),
               "-o", str(tmp_path / "out")) == 2
    assert "would both be written to" in capsys.readouterr().err


def test_it_prints_the_usage_table_in_each_mode(live_api, dave_key, folder, tmp_path, capsys):
    run(live_api, dave_key, "remove", str(folder), "-o", str(tmp_path / "out"), "-q")
    capsys.readouterr()

    assert run(live_api, dave_key, "usage", "--billing-cycle") == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["plan", "Premium-20000"]
    assert "api usage" in table and "remaining included" in table
    assert [line.split()[-1] for line in table.splitlines() if line.startswith("api usage")] == ["4"]

    assert run(live_api, dave_key, "usage", "--cycles") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["period", "start", "period", "end", "app", "api", "total"]
    assert lines[2].split()[-3:] == ["0", "4", "4"]

    assert run(live_api, dave_key, "usage", "--month", "13") == 1
    assert "400" in capsys.readouterr().err


def test_it_is_installed_as_a_console_script():
    bin_dir = Path(sys.executable).parent
    done = subprocess.run([bin_dir / "cutout", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "cutout-client 0.1.0"


def test_it_needs_a_key(tmp_path, capsys):
    assert main(["remove", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    assert "CUTOUT_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_remove_writes_files_that_honour_the_umask_like_batch(live_api, dave_key, folder, tmp_path, capsys, umask):
    """`cutout remove` wrote 0600 whatever the umask (a temporary file renamed into place)."""
    import os

    previous = os.umask(umask)
    try:
        out = tmp_path / "out"
        assert run(live_api, dave_key, "remove", str(folder / "photo0.png"), "-o", str(out), "--format", "png") == 0
    finally:
        os.umask(previous)
    assert "1 processed" in capsys.readouterr().out
    assert (out / "photo0.png").stat().st_mode & 0o777 == 0o666 & ~umask
