"""A batch worker's life: its heartbeat (core.worker_heartbeat) and, when it starts, taking back the
tasks a killed worker left unacknowledged. config/celery.py adds WorkerLife to the worker's bootsteps.

Why the take-back: with Redis as broker an acknowledged-late task whose worker was SIGKILLed stays in
the transport's "unacked" hash until CELERY_VISIBILITY_TIMEOUT passes (kombu restores it then). When
a worker starts and no OTHER worker is alive, every unacked task is an orphan — nobody can be
holding it — so it is put back on the queue at once: a supervisor restarting the only worker
(scripts/with_worker.py, systemd, Kubernetes) redoes the item in seconds, not minutes. While another
worker is alive its tasks are indistinguishable from orphans, so those wait for the visibility
timeout. RabbitMQ needs none of this: it re-delivers a dead connection's messages by itself.
"""

import logging
import threading

import redis
from celery import bootsteps

from core import worker_heartbeat

log = logging.getLogger(__name__)


class Heartbeat:
    """A daemon thread in the worker's main process that beats every INTERVAL seconds until stopped."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cutout-heartbeat", daemon=True)

    def start(self) -> None:
        self._beat()  # at once: the worker counts as alive before it takes its first task
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=worker_heartbeat.INTERVAL)
        try:
            worker_heartbeat.heartbeat_clear(name=self.name)
        except (redis.RedisError, OSError):
            pass  # the entry goes stale by itself

    def _beat(self) -> None:
        try:
            worker_heartbeat.heartbeat_beat(name=self.name)
        except (redis.RedisError, OSError) as exc:
            # Redis down: the site says "worker: none alive" until it is back; the worker keeps working.
            log.warning("worker heartbeat not recorded: %s", exc)

    def _run(self) -> None:
        while not self._stop.wait(worker_heartbeat.INTERVAL):
            self._beat()


def orphans_restore(*, app, name: str) -> int:
    """Put back on the queue the tasks nobody alive can hold (see the module docstring); returns how
    many. Only the Redis transport keeps an unacked hash; other brokers answer 0."""
    try:
        others = [worker for worker in worker_heartbeat.workers_alive() if worker != name]
    except (redis.RedisError, OSError) as exc:
        log.warning("orphaned tasks not restored (heartbeats unreadable): %s", exc)
        return 0
    if others:
        return 0
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        restore = getattr(getattr(channel, "qos", None), "restore_by_tag", None)
        if restore is None:
            return 0
        with channel.conn_or_acquire() as client:
            tags = client.zrange(channel.unacked_index_key, 0, -1)
            for tag in tags:
                restore(tag, client=client, leftmost=True)
    if tags:
        log.warning("restored %d task(s) left unacknowledged by a worker that died", len(tags))
    return len(tags)


class WorkerLife(bootsteps.StartStopStep):
    """Started in the worker's main process before the consumer (which starts last), stopped on any
    shutdown: beats while the worker lives, and takes back orphaned tasks at start."""

    label = "cutout heartbeat"

    def create(self, worker):
        return Heartbeat(worker.hostname)

    def start(self, worker) -> None:
        self.obj.start()
        try:
            orphans_restore(app=worker.app, name=worker.hostname)
        except Exception:  # a broker not up yet: the worker still starts (it retries the broker itself)
            log.exception("restoring orphaned tasks failed")
