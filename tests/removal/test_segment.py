"""removal.segment: the real u2netp model, compared with rembg's own output; the registry."""

import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from removal import segment
from removal.config import ConfigError
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
    monkeypatch.setenv("MODEL_RUNTIME", "onnxruntime")
    monkeypatch.setattr(segment, "_sessions", {})
    options = segment.session_get().inner_session.get_session_options()
    sizing = pool_sizing()
    assert options.intra_op_num_threads == sizing.intra_op_threads
    assert options.inter_op_num_threads == 1
    assert sizing.workers * sizing.intra_op_threads <= sizing.cpus


@pytest.fixture
def people_mask_input(real_photos) -> np.ndarray:
    image = image_load(real_photos.photo_bytes("people"), "people.jpg").image
    return segment.model_input(image).data


def test_it_runs_the_u2net_family_on_openvino_by_default_with_the_pools_threads(monkeypatch):
    monkeypatch.delenv("MODEL_RUNTIME", raising=False)
    monkeypatch.delenv("ONNX_PROVIDERS", raising=False)
    monkeypatch.setattr(segment, "_sessions", {})
    session = segment.session_get()
    assert isinstance(session, segment.OpenVinoU2netSession)
    compiled = session.compiled
    assert compiled.get_property("INFERENCE_NUM_THREADS") == pool_sizing().intra_op_threads
    assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) in ("<Type: 'float32'>", "f32")
    assert isinstance(segment.session_get(threads=1), segment.OpenVinoU2netSession)
    assert segment.session_get(threads=1).compiled.get_property("INFERENCE_NUM_THREADS") == 1


def test_openvino_loads_what_it_compiled_once_from_its_cache(tmp_path, monkeypatch, people_mask_input):
    """OPENVINO_CACHE_DIR: the first session compiles and writes the blob, the next one (a process's
    next start) loads it instead of compiling, and predicts the same mask."""
    monkeypatch.delenv("MODEL_RUNTIME", raising=False)
    monkeypatch.setenv("OPENVINO_CACHE_DIR", str(tmp_path / "cache"))
    first = segment._session_create(segment.DEFAULT_MODEL)
    assert first.compiled.get_property("LOADED_FROM_CACHE") is False
    assert any((tmp_path / "cache").iterdir())
    second = segment._session_create(segment.DEFAULT_MODEL)
    assert second.compiled.get_property("LOADED_FROM_CACHE") is True
    assert np.array_equal(first.infer(people_mask_input, 1), second.infer(people_mask_input, 1))


def test_openvino_compiles_without_a_cache_where_it_cannot_write_one(tmp_path, monkeypatch):
    monkeypatch.delenv("MODEL_RUNTIME", raising=False)
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("OPENVINO_CACHE_DIR", str(tmp_path / "file" / "cache"))
    assert segment.openvino_cache_dir() is None
    session = segment._session_create(segment.DEFAULT_MODEL)
    assert session.compiled.get_property("LOADED_FROM_CACHE") is False


def test_it_gives_each_model_slot_its_own_openvino_stream(monkeypatch):
    """Inferences beside another run single-threaded, side by side: one stream each, not a queue."""
    monkeypatch.delenv("MODEL_RUNTIME", raising=False)
    monkeypatch.setenv("PIPELINE_MODEL_SLOTS", "2")
    monkeypatch.setattr(segment, "_sessions", {})
    beside = segment.session_get(threads=1).compiled
    expected = min(2, pool_sizing().cpus)  # OpenVINO makes at most one stream per core
    assert beside.get_property("NUM_STREAMS") == expected
    assert beside.get_property("INFERENCE_NUM_THREADS") == expected
    assert segment.session_get().compiled.get_property("NUM_STREAMS") == 1


def test_it_takes_the_runtime_from_model_runtime(monkeypatch):
    monkeypatch.setattr(segment, "_sessions", {})
    monkeypatch.setenv("MODEL_RUNTIME", "onnxruntime")
    assert isinstance(segment.session_get(), segment.U2netSession)
    monkeypatch.setenv("MODEL_RUNTIME", "tensorflow")
    with pytest.raises(ConfigError, match="MODEL_RUNTIME must be one of openvino, onnxruntime"):
        segment.runtime_configured()
    monkeypatch.delenv("MODEL_RUNTIME")
    monkeypatch.setattr(segment, "_openvino_installed", lambda: False)
    assert segment.runtime_configured() == "onnxruntime"  # not installed: the other one, quietly
    monkeypatch.setenv("MODEL_RUNTIME", "openvino")
    with pytest.raises(ProviderUnavailable, match="openvino package is not installed"):
        segment.runtime_configured()


def test_it_leaves_other_execution_providers_to_onnxruntime(monkeypatch):
    monkeypatch.delenv("MODEL_RUNTIME", raising=False)
    monkeypatch.setattr(segment, "providers_configured", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert segment.runtime_configured() == "onnxruntime"


def test_a_model_that_fails_to_load_leaves_the_next_inference_alone(monkeypatch):
    """The count of running inferences went up before the session was looked up and never came
    down when that raised: every later inference of the process ran single-threaded."""
    monkeypatch.setattr(segment, "_running", 0)
    image = Image.new("RGB", (64, 64), (90, 120, 200))
    with pytest.raises(UnknownModel):
        segment.model_run(segment.ModelInput(model="no-such-model", data=image, pixels=64 * 64))
    assert segment._running == 0
    segment.mask_predict(image, (64, 64))
    assert "u2netp" in segment._sessions


def test_it_warms_up():
    segment.session_warm_up()
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


@pytest.mark.parametrize("name", ["people", "product", "mosaic12"])
def test_it_matches_rembg_mask_on_real_photos_with_the_reduced_input(real_photos, rembg_session, name):
    from rembg import remove

    loaded = image_load(real_photos.photo_bytes(name), f"{name}.jpg")
    expected = remove(loaded.image, session=rembg_session, only_mask=True)
    assert iou(mask_compute(loaded), expected) >= 0.99


@pytest.mark.parametrize("name", ["people", "baby", "animal", "car", "product", "graphic", "astronaut", "coffee"])
def test_it_makes_the_same_masks_on_openvino_as_on_onnxruntime(real_photos, monkeypatch, name):
    """The IoU bar for the runtime swap, on real photos at their own size: OpenVINO (float32)
    against onnxruntime, the same model file and the same prepared input."""
    loaded = image_load(real_photos.photo_bytes(name), f"{name}.jpg")
    prepared = segment.model_input(loaded.image)
    monkeypatch.setenv("MODEL_PRECISION", "f32")  # the same model file on both: only onnxruntime's
    masks = []
    for runtime in ("openvino", "onnxruntime"):
        monkeypatch.setenv("MODEL_RUNTIME", runtime)
        monkeypatch.setattr(segment, "_sessions", {})
        assert segment.session_get().runtime == runtime
        masks.append(segment.mask_resize(segment.model_run(prepared), loaded.image.size))
    assert iou(*masks) >= 0.99
    difference = np.abs(np.asarray(masks[0], dtype=np.int16) - np.asarray(masks[1], dtype=np.int16))
    assert difference.max() <= 2  # float32 both: only summation order differs


def test_it_keeps_the_48_mp_mask_within_the_iou_bar_of_plain_lanczos(real_photos, monkeypatch):
    """rembg's preprocessing is a plain LANCZOS to 320×320 (what gap=None reproduces exactly). On the
    float model, whose bar this is: the int8 model's agreement with itself here (0.974) is a printed
    figure, not a gate (bench/pipeline.py --part runtimes --photos mosaic48; issue 28)."""
    monkeypatch.setenv("MODEL_PRECISION", "f32")
    monkeypatch.setattr(segment, "_sessions", {})
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


def test_it_gives_openvinos_activation_memory_back_after_a_large_photo(monkeypatch):
    """As onnxruntime's arena shrinks after a photo of LARGE_IMAGE_PIXELS (the memory is then free
    for encoding it), the OpenVINO session releases its activations; small photos keep them."""
    monkeypatch.delenv("MODEL_RUNTIME", raising=False)
    monkeypatch.setattr(segment, "_sessions", {})
    session = segment.session_get()
    released = []
    real_compiled = session.compiled

    class Spy:
        def __getattr__(self, name):
            return getattr(real_compiled, name)

        def release_memory(self):
            released.append(True)
            real_compiled.release_memory()

    monkeypatch.setattr(session, "compiled", Spy())
    data = segment.model_input(Image.new("RGB", (64, 64), (90, 120, 200))).data
    first = session.infer(data, 1_000_000)
    assert released == []
    session.infer(data, segment.LARGE_IMAGE_PIXELS)
    assert released == [True]
    again = session.infer(data, 1_000_000)  # allocates its memory again
    assert np.array_equal(first, again)
    segment.sessions_memory_release()  # before a large image is decoded (removal.pipeline)
    assert released == [True, True]
    session._running = 1  # an inference running: its memory stays
    segment.sessions_memory_release()
    assert released == [True, True]
