"""removal.quantize and MODEL_PRECISION: u2netp's int8 variant (the default where it is built), the
accuracy gate it is held to against true mattes, and the IoU bars against rembg and the float model."""

import io
import statistics
import subprocess
import sys

import numpy as np
import openvino as ov
import pytest
from PIL import Image

from removal import segment
from removal.config import ConfigError, int8_paths
from removal.decode import image_load
from removal.errors import ModelNotInstalled, ProviderUnavailable
from removal.quantize import INT8_CONVOLUTIONS

from .conftest import MODEL_HOME, encode, iou

ISSUE_PHOTOS = ["people", "baby", "animal", "car", "product", "graphic", "astronaut", "coffee"]
MATTING_PHOTOS = ["GT01", "GT04", "GT07", "GT10", "GT13", "GT16", "GT19", "GT22", "GT25"]


def _mask(image: Image.Image, precision: str, monkeypatch) -> Image.Image:
    monkeypatch.setenv("MODEL_PRECISION", precision)
    monkeypatch.setattr(segment, "_sessions", {})
    assert segment.session_get().precision == precision
    return segment.mask_predict(image, image.size)


def _resaved(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=95)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")  # decoded here, not lazily


def _sad(mask: Image.Image, truth: Image.Image) -> float:
    """The matting papers' SAD: sum |predicted − true alpha| (alpha in 0..1) / 1000 (bench/quality.py)."""
    diff = np.asarray(mask, dtype=np.float32) - np.asarray(truth.convert("L"), dtype=np.float32)
    return float(np.abs(diff).sum() / 255 / 1000)


def test_int8_is_as_close_to_the_true_mattes_as_the_float_model(quality_dir, monkeypatch):
    """The gate that made int8 the default (issue 28): on the alphamatting photos with true mattes,
    its SAD mean and median at most 1.02× the float model's, and no photo above 1.05×. (18 other
    true-matte photos measured through the server: −2.1 % … +0.7 %.)"""
    sads: dict[str, list[float]] = {"f32": [], "int8": []}
    for name in MATTING_PHOTOS:
        image = Image.open(quality_dir / f"am_{name}_image.png").convert("RGB")
        truth = Image.open(quality_dir / f"am_{name}_alpha.png")
        for precision, values in sads.items():
            values.append(_sad(_mask(image, precision, monkeypatch), truth))
    ratios = [q / f for q, f in zip(sads["int8"], sads["f32"], strict=True)]
    report = ", ".join(f"{name} {ratio:.3f}" for name, ratio in zip(MATTING_PHOTOS, ratios, strict=True))
    assert statistics.mean(sads["int8"]) <= 1.02 * statistics.mean(sads["f32"]), report
    assert statistics.median(sads["int8"]) <= 1.02 * statistics.median(sads["f32"]), report
    assert max(ratios) <= 1.05, report


@pytest.mark.parametrize("name", ISSUE_PHOTOS + MATTING_PHOTOS)
def test_it_keeps_the_int8_masks_within_the_iou_bar_of_the_float_model(name, real_photos, quality_dir, monkeypatch):
    """IoU ≥ 0.99 against the float model's mask at the photo's
    own size (16 of these 17: 0.994-0.9996). Where the float model is itself that unstable (its mask
    of the same photo re-saved as JPEG q95 is further than 0.99 from its own: GT04 0.976, GT10 0.880,
    GT25 0.982), int8 stays closer than that re-save (GT10: 0.960)."""
    if name.startswith("GT"):
        image = Image.open(quality_dir / f"am_{name}_image.png").convert("RGB")
    else:
        image = image_load(real_photos.photo_bytes(name), f"{name}.jpg").image
    exact = _mask(image, "f32", monkeypatch)
    quantized = _mask(image, "int8", monkeypatch)
    bar = min(0.99, iou(exact, _mask(_resaved(image), "f32", monkeypatch)))
    assert iou(quantized, exact) >= bar


@pytest.mark.parametrize("name", ["chelsea", "chelsea×4", "people", "product", "mosaic12"])
def test_it_keeps_the_int8_masks_within_the_iou_bar_of_rembgs(name, real_photos, rembg_session, chelsea, monkeypatch):
    """test_segment.py's bar for the float model, met by int8 too: IoU ≥ 0.99 against rembg's own
    mask (the recipe before the percentile ranges and the bias correction: chelsea 0.989,
    chelsea×4 0.981, mosaic12 0.988). The 48 MP mosaic (0.98) is a printed figure, not a gate:
bench/pipeline.py --part runtimes --photos mosaic48 (agreement with rembg's own noise at a size
no photo of the set has; the SAD gate above measures accuracy)."""
    from rembg import remove

    if name.startswith("chelsea"):
        photo = chelsea if name == "chelsea" else chelsea.resize((chelsea.width * 4, chelsea.height * 4),
                                                                 Image.Resampling.BICUBIC)
        kind = "PNG" if name == "chelsea" else "JPEG"  # as test_segment.py sends them
        image = image_load(encode(photo, kind, quality=95), f"c.{kind.lower()}").image
        expected = remove(photo, session=rembg_session, only_mask=True)
    else:
        image = image_load(real_photos.photo_bytes(name), f"{name}.jpg").image
        expected = remove(image, session=rembg_session, only_mask=True)
    assert iou(_mask(image, "int8", monkeypatch), expected) >= 0.99


def test_only_the_four_heaviest_convolutions_run_in_int8():
    """Their input and weights come through a DequantizeLinear; every other one's straight."""
    model = ov.Core().read_model(str(int8_paths(MODEL_HOME)[0]))
    dequantized = {
        op.get_friendly_name().split("/")[0] for op in model.get_ordered_ops()
        if op.get_type_name() == "Convolution"
        and all(source.get_node().get_friendly_name().endswith("_DequantizeLinear") for source in op.input_values())
    }
    assert dequantized == set(INT8_CONVOLUTIONS)


def test_provisioning_builds_it_once_and_the_same_every_time(tmp_path):
    """`python -m removal.provision` in a new process, as `make model` runs it: the same bytes as the
    provisioned file, so every machine like this one serves the masks the bar was measured on."""
    (tmp_path / "u2netp.onnx").symlink_to(MODEL_HOME / "u2netp.onnx")
    command = [sys.executable, "-m", "removal.provision", "--home", str(tmp_path)]
    xml, binary = int8_paths(tmp_path)
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    assert f"built: {xml}" in first.stdout
    assert xml.read_bytes() == int8_paths(MODEL_HOME)[0].read_bytes()
    assert binary.read_bytes() == int8_paths(MODEL_HOME)[1].read_bytes()
    again = subprocess.run(command, capture_output=True, text=True, check=True)
    assert f"already present: {xml}" in again.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([binary.name, xml.name, "u2netp.onnx"])


def test_it_picks_the_precision_from_model_precision(tmp_path, monkeypatch):
    monkeypatch.delenv("MODEL_RUNTIME", raising=False)
    monkeypatch.delenv("MODEL_PRECISION", raising=False)
    assert segment.precision_configured() == "int8"  # the default, where the int8 file is built
    assert segment.precision_fallback() is None
    monkeypatch.setattr(segment, "_sessions", {})
    session = segment.session_get()
    assert session.precision == "int8" and session.model_path == int8_paths(MODEL_HOME)[0]
    monkeypatch.setenv("MODEL_PRECISION", "f32")
    assert segment.precision_configured() == "f32"
    monkeypatch.setattr(segment, "_sessions", {})
    assert segment.session_get().precision == "f32"
    monkeypatch.setenv("MODEL_PRECISION", "int4")
    with pytest.raises(ConfigError, match="MODEL_PRECISION must be one of f32, int8"):
        segment.precision_configured()

    (tmp_path / "u2netp.onnx").symlink_to(MODEL_HOME / "u2netp.onnx")
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))  # the float model only, as copied by hand
    monkeypatch.setenv("MODEL_PRECISION", "int8")  # asked for explicitly: refused, not replaced
    with pytest.raises(ModelNotInstalled, match="u2netp-int8-v2.xml is missing"):
        segment.precision_configured()
    monkeypatch.setenv("MODEL_RUNTIME", "onnxruntime")
    with pytest.raises(ProviderUnavailable, match="MODEL_PRECISION=int8 needs MODEL_RUNTIME=openvino"):
        segment.precision_configured()
    monkeypatch.delenv("MODEL_PRECISION")
    assert segment.precision_configured() == "f32"  # onnxruntime has no int8 variant: nothing to warn
    assert segment.precision_fallback() is None


def test_it_falls_back_to_the_float_model_when_the_int8_file_is_missing(tmp_path, monkeypatch, caplog):
    """Never built, or its build failed at provisioning: the process starts on float, with one warning."""
    from config.startup import process_start

    (tmp_path / "u2netp.onnx").symlink_to(MODEL_HOME / "u2netp.onnx")
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    monkeypatch.delenv("MODEL_RUNTIME", raising=False)
    monkeypatch.delenv("MODEL_PRECISION", raising=False)
    monkeypatch.setattr(segment, "_sessions", {})
    assert segment.precision_configured() == "f32"
    caplog.set_level("INFO", logger="cutout.startup")
    process_start()
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1
    assert f"its int8 variant {int8_paths(tmp_path)[0]} is missing" in warnings[0]
    assert segment.session_get().precision == "f32"
    mask = segment.mask_predict(Image.new("RGB", (64, 64), (90, 120, 200)), (64, 64))
    assert mask.size == (64, 64)


def test_the_other_u2net_models_stay_float(tmp_path, monkeypatch):
    (tmp_path / "u2netp.onnx").symlink_to(MODEL_HOME / "u2netp.onnx")
    (tmp_path / "silueta.onnx").symlink_to(MODEL_HOME / "u2netp.onnx")
    for path in int8_paths(MODEL_HOME):
        (tmp_path / path.name).symlink_to(path)
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    monkeypatch.setenv("MODEL_PRECISION", "int8")
    monkeypatch.setattr(segment, "_sessions", {})
    assert segment.session_get("silueta").precision == "f32"
    assert segment.session_get("u2netp").precision == "int8"
