"""No cold start for refine=matting (issue 29): a freshly started server process (`python -m
config.serve`, WARM_UP on as the launcher sets it) has loaded the matting solver's numba code
from var/numba (compiled by `make model`) before it listens, so its very first refine=matting
request is refined, not skipped because compiling spent the time budget."""

import httpx
import pytest

from tests.production.conftest import Deployment


@pytest.fixture
def fresh_server(tmp_path):
    from django.conf import settings

    deployment = Deployment(tmp_path, settings.REDIS_URL)
    deployment.manage("migrate", "--noinput", "-v", "0")
    try:
        url = deployment.serve()
        yield deployment, url
    finally:
        deployment.stop()


def test_the_first_refine_on_a_fresh_server_is_refined_not_skipped_for_time(fresh_server, quality_dir):
    deployment, url = fresh_server
    _user_id, key = deployment.user_create("alice@example.com")
    photo = (quality_dir / "am_GT19_image.png").read_bytes()  # a pumpkin: a right mask, a thin band
    answers = [httpx.post(f"{url}/api/rmbg", headers={"x-api-key": key}, timeout=300,
                          files={"image": ("pumpkin.png", photo, "image/png")}, data={"refine": "matting"})
               for _ in range(2)]
    assert [r.status_code for r in answers] == [200, 200]
    first, second = answers
    assert first.headers.get("X-Refine-Reason") is None, first.headers.get("X-Refine-Reason")
    assert first.headers["X-Refine"] == second.headers["X-Refine"] == "matting"
