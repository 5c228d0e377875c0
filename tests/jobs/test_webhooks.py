"""The job.completed webhook: signed like Stripe's, retried with backoff, the same event id each time."""

import json
import time
from pathlib import Path

import pytest

from accounts.services import webhook_secret_get, webhook_secret_rotate
from jobs.webhooks import SIGNATURE_HEADER, signature_verify
from tests.jobs.conftest import submit, uploads, wait_final


def wait_delivered(client, key, job_id, timeout=90) -> dict:  # a deadline for a loaded machine, not a goal
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers={"x-api-key": key}).json()
        if job["callback"]["delivered_at"]:
            return job
        time.sleep(0.05)
    raise AssertionError(f"webhook of {job_id} not delivered: {job['callback']}")


def test_it_retries_a_down_receiver_and_delivers_the_same_signed_event_on_the_third_attempt(
        client, alice, api_key_for, worker, receiver):
    hook = receiver(fail_first=2)
    key = api_key_for(alice)
    job_id = submit(client, key, uploads(2), callback_url=hook.url).json()["id"]
    job = wait_delivered(client, key, job_id)
    assert job["callback"] | {"delivered_at": None} == {
        "url": hook.url, "attempts": 3, "last_status": 200, "delivered_at": None}
    assert [status for _, _, status in hook.requests] == [503, 503, 200]
    events = [json.loads(body) for _, body, _ in hook.requests]
    assert len({event["id"] for event in events}) == 1 and events[0]["id"].startswith("evt_")
    event = events[-1]
    assert (event["type"], event["data"]["id"], event["data"]["status"]) == ("job.completed", job_id, "done")
    secret = webhook_secret_get(user=alice)
    for headers, body, _ in hook.requests:
        assert signature_verify(secret=secret, header=headers[SIGNATURE_HEADER], body=body)
    assert wait_final(client, key, job_id)["status"] == "done"


def test_it_fails_the_documented_verification_for_a_tampered_body_signature_or_secret(
        client, alice, api_key_for, worker, receiver):
    hook = receiver()
    key = api_key_for(alice)
    submit(client, key, uploads(1), callback_url=hook.url)
    hook.wait(1)
    headers, body, _ = hook.requests[0]
    header, secret = headers[SIGNATURE_HEADER], webhook_secret_get(user=alice)
    assert signature_verify(secret=secret, header=header, body=body)
    assert not signature_verify(secret=secret, header=header, body=body.replace(b'"done"', b'"failed"'))
    digest = header.split("v1=")[1]
    forged = header.replace(digest, ("0" if digest[0] != "0" else "1") + digest[1:])
    assert not signature_verify(secret=secret, header=forged, body=body)
    assert not signature_verify(secret=secret, header=header, body=body, now=time.time() + 3600)  # a replay
    assert not signature_verify(secret=webhook_secret_rotate(user=alice), header=header, body=body)


def test_it_shows_and_rotates_the_signing_secret_in_the_profile(client, alice):
    client.force_login(alice)
    page = client.get("/profile/").content.decode()
    secret = webhook_secret_get(user=alice)
    assert secret.startswith("whsec_") and secret in page
    client.post("/profile/webhook-secret/rotate/")
    assert webhook_secret_get(user=alice) != secret
    assert webhook_secret_get(user=alice) in client.get("/profile/").content.decode()


def readme_verify():
    """The README's verification code, exactly as documented."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = readme.split("<!-- verify-signature -->\n```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 (our own README)
    return namespace["verify"]


def test_it_is_verified_by_the_readme_code_and_a_tampered_event_is_not(client, alice, api_key_for, worker, receiver):
    verify = readme_verify()
    hook = receiver()
    key = api_key_for(alice)
    submit(client, key, uploads(1), callback_url=hook.url)
    hook.wait(1)
    headers, body, _ = hook.requests[0]
    secret, header = webhook_secret_get(user=alice), headers[SIGNATURE_HEADER]
    assert verify(secret, header, body)
    assert not verify(secret, header, body.replace(b'"job.completed"', b'"job.complete"'))
    assert not verify(secret, header.replace("v1=", "v1=0"), body)
    assert not verify("whsec_other", header, body)


def test_it_backs_off_exponentially_and_gives_up_after_the_retry_window(alice, jobs_settings):
    from datetime import timedelta

    from django.utils import timezone

    from jobs.models import BatchJob
    from jobs.services import webhook_attempt
    from tests.jobs.conftest import Receiver

    hook = Receiver(fail_first=100)
    try:
        job = BatchJob.objects.create(user=alice, callback_url=hook.url, event_id="evt_test", status="done",
                                      finished=timezone.now())
        jobs_settings.JOBS_WEBHOOK_BACKOFF = 30
        assert [webhook_attempt(job_id=job.pk) for _ in range(3)] == [30, 60, 120]
        BatchJob.objects.filter(pk=job.pk).update(finished=timezone.now() - timedelta(hours=24))
        assert webhook_attempt(job_id=job.pk) is None  # the next wait would end past the 24 h window
        job.refresh_from_db()
        assert (job.callback_attempts, job.callback_last_status, job.callback_delivered_at) == (4, 503, None)
    finally:
        hook.server.shutdown()
        hook.server.server_close()


@pytest.mark.parametrize(("url", "kind"), [("https://10.0.0.1/hook", "a private address (10.0.0.1)"),
                                         ("https://[::ffff:127.0.0.1]/hook",
                                          "an IPv4-mapped loopback address (::ffff:127.0.0.1)"),
                                         ("https://169.254.169.254/latest", "a link-local address (169.254.169.254)"),
                                         ("https://100.64.0.1/hook", "a shared (CGNAT) address (100.64.0.1)")])
def test_it_refuses_callback_urls_image_url_would_refuse(url, kind, settings):
    from jobs.webhooks import callback_url_error

    settings.IMAGE_URL_ALLOW_NETWORKS = []
    assert callback_url_error(url) == f"callback_url points to {kind}, which is not allowed."


def test_it_follows_the_operators_allow_list_like_image_url(settings):
    """One rule for outbound addresses: a network the operator allows for image_url is allowed here."""
    from jobs.webhooks import callback_url_error

    settings.IMAGE_URL_ALLOW_NETWORKS = ["10.1.2.0/24"]
    assert callback_url_error("https://10.1.2.3/hook") is None
    assert callback_url_error("https://10.9.9.9/hook") is not None


def test_it_delivers_to_the_checked_address_so_dns_rebinding_fails(monkeypatch, settings):
    """The name looked public when checked at submission, then resolves to loopback: the delivery
    connects only to an address it checked itself, so nothing reaches the loopback listener."""
    from jobs import webhooks
    from tests.api.servers import Trap

    settings.JOBS_CALLBACK_HTTP_HOSTS = []
    settings.IMAGE_URL_ALLOW_NETWORKS = []
    trap = Trap()
    try:
        delivery = webhooks.webhook_post(url=f"https://localhost:{trap.port}/cutout", body=b"{}",
                                         secret="s", event_id="evt_1")
        assert delivery.status == 0 and trap.accepts == 0
    finally:
        trap.close()


def test_a_retry_never_waits_past_the_brokers_visibility_timeout(settings):
    """A retry waits unacknowledged in a worker: past the visibility timeout Redis would hand the same
    delivery to a second worker. The default timeout (600 s) caps the wait at 300 s."""
    from jobs.webhooks import backoff_seconds

    assert settings.CELERY_VISIBILITY_TIMEOUT == 600 and settings.JOBS_WEBHOOK_MAX_BACKOFF == 300
    settings.JOBS_WEBHOOK_BACKOFF = 30
    assert [backoff_seconds(attempt) for attempt in range(1, 7)] == [30, 60, 120, 240, 300, 300]
