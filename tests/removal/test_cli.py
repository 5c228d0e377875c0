"""`python -m removal`: the same pipeline from the command line."""

import subprocess
import sys

from PIL import Image

from removal.__main__ import main

from .conftest import decode


def test_it_writes_the_output_file(tmp_path, chelsea_jpeg):
    source = tmp_path / "cat.jpg"
    source.write_bytes(chelsea_jpeg)
    target = tmp_path / "cat.png"
    code = main([str(source), "-o", str(target), "--w", "200", "--angle", "90", "--quiet"])
    assert code == 0
    image = decode(target.read_bytes())
    assert image.format == "PNG" and image.size == (133, 200) and image.mode == "RGBA"


def test_it_takes_the_format_flag_over_the_suffix_and_writes_masks(tmp_path, chelsea_jpeg):
    source = tmp_path / "cat.jpg"
    source.write_bytes(chelsea_jpeg)
    target = tmp_path / "mask.out"
    assert main([str(source), "-o", str(target), "--format", "bmp", "--mask", "--quiet"]) == 0
    image = decode(target.read_bytes())
    assert image.format == "BMP" and image.mode == "L"


def test_it_refines_and_crops_to_the_subject(tmp_path, chelsea_jpeg, capsys):
    source = tmp_path / "cat.jpg"
    source.write_bytes(chelsea_jpeg)
    target = tmp_path / "cat.png"
    assert main([str(source), "-o", str(target), "--refine", "matting", "--crop", "--crop-margin", "0"]) == 0
    note = capsys.readouterr().err
    assert "refine " in note and "subject " in note
    width, height = note.split("subject ")[1].split(" at ")[0].split("×")
    assert decode(target.read_bytes()).size == (int(width), int(height))


def test_it_prints_every_validation_error(tmp_path, chelsea_jpeg, capsys):
    source = tmp_path / "cat.jpg"
    source.write_bytes(chelsea_jpeg)
    code = main([str(source), "-o", str(tmp_path / "x.webp"), "--w", "abc", "--angle", "500"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Multiple validation errors" in err
    assert "'w' must be an integer, got: 'abc'" in err
    assert "'angle' must be between -360 and 360 degrees, got: 500.0" in err
    assert not (tmp_path / "x.webp").exists()


def test_it_refuses_what_the_api_refuses(tmp_path, capsys):
    source = tmp_path / "fake.png"
    source.write_bytes(b"definitely not a png")
    assert main([str(source), "-o", str(tmp_path / "x.webp")]) == 2
    assert "File does not appear to be a valid image (invalid file signature)" in capsys.readouterr().err


def test_it_runs_as_a_module(tmp_path, chelsea):
    source = tmp_path / "cat.jpg"
    chelsea.save(source, "JPEG")
    target = tmp_path / "out.webp"
    command = [sys.executable, "-m", "removal", str(source), "-o", str(target), "--bg-color", "red"]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[:4] == ["decoding…", "segmenting…", "compositing…", "encoding…"]
    image = Image.open(target)
    assert image.format == "WEBP" and image.size == chelsea.size
