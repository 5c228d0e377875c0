"""A request Django refuses (here RequestDataTooBig) is the client's mistake: answered 400 and logged
as a warning, never at ERROR beside real server failures."""

import logging

import pytest

pytestmark = pytest.mark.django_db


def test_a_refused_request_is_logged_as_a_warning_not_an_error(client, settings, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    with caplog.at_level(logging.INFO):
        response = client.post("/accounts/login/", {"login": "x" * 5000, "password": "y"})
    assert response.status_code == 400
    security = [record for record in caplog.records if record.name.startswith("django.security")]
    assert security, "Django logs the refusal under django.security"
    assert all(record.levelno == logging.WARNING for record in security)
