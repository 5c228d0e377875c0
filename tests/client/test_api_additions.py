"""The client and CLI with SPEC §7's additions: image_url, Idempotency-Key, test keys."""

import pytest
from cutout_client import BadRequest, Client
from cutout_client.cli import main
from cutout_client.errors import ConfigurationError

from tests.api.servers import image_server


@pytest.fixture
def images_online(settings, small_jpeg, small_png):
    settings.IMAGE_URL_ALLOW_NETWORKS = ["127.0.0.1/32"]
    with image_server({"/figure.jpg": (small_jpeg, "image/jpeg"), "/other.png": (small_png, "image/png")}) as (
            base, _log):
        yield base


def test_it_sends_an_image_url(live_api, dave_key, images_online, tmp_path):
    with Client(dave_key, base_url=live_api) as client:
        result = client.remove_background(image_url=f"{images_online}/figure.jpg", format="png",
                                          output_path=tmp_path / "out.png")
    assert (result.content_type, result.credits_charged) == ("image/png", 1)
    assert result.output_path.read_bytes()[:4] == b"\x89PNG"


def test_it_reports_a_refused_url(live_api, dave_key, settings):
    settings.IMAGE_URL_ALLOW_NETWORKS = []
    with Client(dave_key, base_url=live_api) as client, pytest.raises(BadRequest) as caught:
        client.remove_background(image_url="http://10.0.0.1/a.png")
    assert caught.value.error == "image_url points to a private address (10.0.0.1), which is not allowed."


def test_it_wants_exactly_one_source(live_api, dave_key, small_jpeg):
    with Client(dave_key, base_url=live_api) as client:
        with pytest.raises(ConfigurationError):
            client.remove_background(small_jpeg, image_url="http://example.com/a.png")
        with pytest.raises(ConfigurationError):
            client.remove_background()


def test_it_replays_with_an_idempotency_key(live_api, dave_key, small_jpeg, tmp_path):
    with Client(dave_key, base_url=live_api) as client:
        first = client.remove_background(small_jpeg, idempotency_key="job-7", output_path=tmp_path / "1.webp")
        again = client.remove_background(small_jpeg, idempotency_key="job-7", output_path=tmp_path / "2.webp")
        usage = client.membership_usage()
    assert (first.replayed, again.replayed) == (False, True)
    assert first.read_bytes() == again.read_bytes()
    assert usage["api_usage"] == 1


def test_it_marks_test_mode(live_api, dave, small_jpeg):
    from accounts.services import api_key_create

    _key, test_key = api_key_create(user=dave, name="ci", is_test=True)
    with Client(test_key, base_url=live_api) as client:
        result = client.remove_background(small_jpeg)
    assert (result.test_mode, result.credits_charged) == (True, 0)


def test_the_cli_takes_urls_and_an_idempotency_prefix(live_api, dave_key, images_online, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--api-key", dave_key, "--base-url", live_api, "remove", f"{images_online}/figure.jpg",
            f"{images_online}/other.png", "-o", str(out), "-q", "--idempotency-key", "run-1", "--force"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["figure.webp", "other.webp"]
    assert "credits used: 2" in capsys.readouterr().out
    assert main(argv) == 0  # the same run again: replayed, not charged
    assert "credits used: 0" in capsys.readouterr().out
    with Client(dave_key, base_url=live_api) as client:
        assert client.membership_usage()["api_usage"] == 2
