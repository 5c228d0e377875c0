"""jobs.worker.orphans_restore on the real Redis broker: a task left unacknowledged (its worker was
SIGKILLed) goes back on the queue when a worker starts and no other worker is alive, and stays put
while another one is (its tasks cannot be told from orphans: the visibility timeout handles them)."""

import pytest
from kombu import Connection

from core.worker_heartbeat import heartbeat_beat
from jobs.worker import orphans_restore


@pytest.fixture
def unacked(settings, redis_client):
    """One message taken from the queue and never acknowledged, as a SIGKILLed worker leaves it."""
    from config.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the unacked hash is the Redis transport's; RabbitMQ re-delivers by itself")
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with Connection(settings.CELERY_BROKER_URL) as connection:
        with connection.SimpleQueue(queue) as simple:
            simple.put({"orphan": True})
        channel = connection.channel()
        channel.qos.restore_at_shutdown = False  # a killed worker restores nothing on its way out
        message = channel.basic_get(queue, no_ack=False)
        assert message is not None
        channel.close()
    assert redis_client.llen(queue) == 0 and redis_client.hlen("unacked") == 1
    return app, queue


def test_it_leaves_the_unacked_tasks_alone_while_another_worker_is_alive(unacked, redis_client):
    app, queue = unacked
    heartbeat_beat(name="other@host")
    assert orphans_restore(app=app, name="me@host") == 0
    assert redis_client.llen(queue) == 0 and redis_client.hlen("unacked") == 1


def test_it_puts_them_back_on_the_queue_when_no_other_worker_is_alive(unacked, redis_client):
    app, queue = unacked
    heartbeat_beat(name="me@host")  # our own previous life (same name, restarted by the supervisor)
    assert orphans_restore(app=app, name="me@host") == 1
    assert redis_client.llen(queue) == 1 and redis_client.hlen("unacked") == 0
