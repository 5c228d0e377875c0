"""A scale-out rehearsal on one machine: the multi-machine deployment, each process standing in for a
machine, all on loopback.

    REDIS_URL=redis://127.0.0.1:1/0 .venv/bin/python scripts/with_redis.py -- \\
        .venv/bin/python scripts/rehearse_scaleout.py

(The unanswerable REDIS_URL makes with_redis.py start a private redis-server for the run.)

Runs two web processes (`python -m config.serve` on two ports), two Celery workers, PostgreSQL (a
fresh database on POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres, dropped after),
Redis, RabbitMQ (RABBITMQ_URL, default amqp://guest:guest@127.0.0.1:5672//) as the broker and moto's
S3 server as the file store, then checks and prints:

1. 50 parallel POST /rmbg spread over both web processes for a user with 10 credits: exactly 10
   images and 10 committed ledger charges;
2. a 40-item batch job: every item done, and both workers did some;
3. one worker SIGKILLed in the middle of a 20-item job: every item done, each charged once;
4. GET /api/membership-usage equals the ledger on both web processes.

Exit status 0 when every check holds, 1 otherwise. Photos: skimage's astronaut and chelsea.
"""

import argparse
import io
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PLANS = ('[{"slug": "free", "label": "Free", "credits": 10, "rate_limit": "100000/minute"},'
         ' {"slug": "bulk", "label": "Bulk", "credits": 1000, "rate_limit": "100000/minute"}]')


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def photos(count: int, side: int) -> list[bytes]:
    from PIL import Image
    from skimage import data

    out = []
    for index in range(count):
        base = Image.fromarray(data.astronaut() if index % 2 else data.chelsea())
        base = base.resize((side, side * base.height // base.width), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        base.rotate(index % 9 - 4).save(buffer, "JPEG", quality=88)
        out.append(buffer.getvalue())
    return out


class Rehearsal:
    def __init__(self, workdir: Path, *, postgres: str, rabbitmq: str, s3: str, bucket: str) -> None:
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen] = {}
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.env = dict(
            os.environ, DATABASE_URL=postgres, REDIS_URL=redis_url, CELERY_BROKER_URL=rabbitmq,
            CUTOUT_VAR_DIR=str(workdir), SECRET_KEY=secrets.token_urlsafe(40), DEBUG="false",
            STATIC_MANIFEST="false", ALLOWED_HOSTS="127.0.0.1", BILLING_PLANS=PLANS, LOG_LEVEL="WARNING",
            U2NET_HOME=os.environ.get("U2NET_HOME", str(ROOT / "var" / "models")),
            PIPELINE_WORKERS="1", ONNX_INTRA_OP_THREADS="1",
            AWS_STORAGE_BUCKET_NAME=bucket, AWS_S3_ENDPOINT_URL=s3, AWS_S3_REGION_NAME="us-east-1",
            AWS_S3_ADDRESSING_STYLE="path", AWS_ACCESS_KEY_ID="rehearsal", AWS_SECRET_ACCESS_KEY="rehearsal",
        )
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    def manage(self, *args: str) -> str:
        done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=300)
        if done.returncode:
            raise SystemExit(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def user(self, email: str, plan: str) -> tuple[int, str]:
        code = ("from allauth.account.models import EmailAddress\n"
                "from django.contrib.auth import get_user_model\n"
                "from accounts.services import api_key_create\n"
                "from billing.plans import plan_get\n"
                "from billing.state import account_write\n"
                f"u = get_user_model().objects.create_user(username={email.split('@')[0]!r}, "
                f"email={email!r})\n"
                "EmailAddress.objects.create(user=u, email=u.email, primary=True, verified=True)\n"
                f"p = plan_get({plan!r})\n"
                "account_write(user_id=u.pk, fields={'plan_slug': p.slug, 'membership': p.label, "
                "'credits': p.credits})\n"
                "print(u.pk, api_key_create(user=u, name='rehearsal')[1])\n")
        user_id, key = self.manage("shell", "-v", "0", "-c", code).split()[-2:]
        return int(user_id), key

    def sql(self, query: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"]) as connection:
            return connection.execute(query).fetchall()

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text()

    def web(self, name: str) -> str:
        port = free_port()
        proc = self.start(name, [PYTHON, "-m", "config.serve", "--workers", "1", "--host", "127.0.0.1",
                                 "--port", str(port)])
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited: {self.log(name)[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{name} did not become healthy: {self.log(name)[-2000:]}")

    def worker(self, name: str) -> subprocess.Popen:
        proc = self.start(name, [PYTHON, "-m", "celery", "-A", "config", "worker", "--concurrency", "1",
                                 "--loglevel", "INFO", "--hostname", f"{name}@%h", "--without-mingle",
                                 "--without-gossip"])
        deadline = time.monotonic() + 180
        while "ready." not in self.log(name):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start: {self.log(name)[-2000:]}")
            time.sleep(0.2)
        return proc

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def job_submit(url: str, key: str, images: list[bytes]) -> str:
    files = [("image", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(images)]
    response = httpx.post(f"{url}/api/jobs", files=files, headers={"x-api-key": key}, timeout=300)
    response.raise_for_status()
    return response.json()["id"]


def job_wait(url: str, key: str, job_id: str, timeout: float = 1200) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/jobs/{job_id}", headers={"x-api-key": key}, timeout=30).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.5)
    raise SystemExit(f"job {job_id} not final after {timeout} s")


def items_done_by(log: str) -> int:
    return len(re.findall(r"Task jobs\.tasks\.item_run\[[^\]]+\] succeeded", log))


def database_create(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = f"cutout_rehearsal_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return name, urlunsplit(parts._replace(path=f"/{name}"))


def database_drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=320, help="photo width in px (default 320)")
    args = parser.parse_args()
    admin = os.environ.get("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    rabbitmq = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")

    import boto3
    from kombu import Connection
    from moto.server import ThreadedMotoServer

    queue = f"cutout-rehearsal-{uuid.uuid4().hex[:8]}"  # its own queue: the broker may be shared
    with Connection(rabbitmq, connect_timeout=5) as connection:
        connection.ensure_connection(max_retries=1)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
    s3_port = free_port()
    s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3_server.start()
    s3 = f"http://127.0.0.1:{s3_port}"
    bucket = "cutout-rehearsal"
    boto3.client("s3", endpoint_url=s3, region_name="us-east-1", aws_access_key_id="rehearsal",
                 aws_secret_access_key="rehearsal").create_bucket(Bucket=bucket)
    db_name, db_url = database_create(admin)
    checks: list[tuple[str, bool, str]] = []
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="cutout-rehearsal-") as tmp:
            rehearsal = Rehearsal(Path(tmp), postgres=db_url, rabbitmq=rabbitmq, s3=s3, bucket=bucket)
            rehearsal.env["CELERY_QUEUE"] = queue
            try:
                rehearsal.manage("migrate", "--noinput", "-v", "0")
                ten_id, ten_key = rehearsal.user("ten@example.com", "free")
                bulk_id, bulk_key = rehearsal.user("bulk@example.com", "bulk")
                webs = [rehearsal.web("web1"), rehearsal.web("web2")]
                workers = {"w1": rehearsal.worker("w1"), "w2": rehearsal.worker("w2")}
                images = photos(60, args.side)
                print(f"up: web {webs[0]} and {webs[1]}, workers w1 w2, PostgreSQL {db_name}, "
                      f"RabbitMQ, S3 {s3}, in {time.monotonic() - started:.0f} s")

                # 1. 50 parallel /rmbg over both web processes, 10 credits
                def rmbg(index: int) -> int:
                    files = {"image": (f"r{index}.jpg", images[index], "image/jpeg")}
                    return httpx.post(f"{webs[index % 2]}/rmbg", files=files, headers={"x-api-key": ten_key},
                                      timeout=600).status_code

                with ThreadPoolExecutor(max_workers=50) as pool:
                    statuses = list(pool.map(rmbg, range(50)))
                images_ok = statuses.count(200)
                charges = rehearsal.sql(f"SELECT count(*) FROM billing_ledgerentry WHERE user_id = {ten_id} "
                                        "AND kind = 'charge' AND state = 'committed'")[0][0]
                by_web = [sum(1 for i, s in enumerate(statuses) if s == 200 and i % 2 == w) for w in (0, 1)]
                refused = {s: statuses.count(s) for s in sorted(set(statuses)) if s != 200}
                checks.append(("50 parallel /rmbg, 10 credits", images_ok == 10 and charges == 10,
                               f"{images_ok} images (web1 {by_web[0]}, web2 {by_web[1]}), {charges} ledger "
                               f"charges; the other {50 - images_ok} refused, by status: {refused}"))

                # 2. a 40-item batch over both workers
                before = {name: items_done_by(rehearsal.log(name)) for name in workers}
                job = job_wait(webs[0], bulk_key, job_submit(webs[0], bulk_key, images[:40]))
                done = sum(item["status"] == "done" for item in job["items"])
                each = {name: items_done_by(rehearsal.log(name)) - before[name] for name in workers}
                checks.append(("40-item batch over two workers", done == 40 and all(each.values()),
                               f"{done}/40 done, w1 did {each['w1']}, w2 did {each['w2']}"))

                # 3. one worker SIGKILLed mid-job
                job_id = job_submit(webs[1], bulk_key, images[40:60])
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    running = rehearsal.sql(f"SELECT count(*) FROM jobs_item WHERE job_id = '{job_id}' "
                                            "AND status IN ('running', 'done')")[0][0]
                    if running >= 2:
                        break
                    time.sleep(0.05)
                workers["w1"].send_signal(signal.SIGKILL)
                workers["w1"].wait()
                job = job_wait(webs[1], bulk_key, job_id)
                done = sum(item["status"] == "done" for item in job["items"])
                keys = rehearsal.sql("SELECT idempotency_key, count(*) FROM billing_ledgerentry WHERE "
                                     f"user_id = {bulk_id} AND kind = 'charge' AND state = 'committed' "
                                     f"AND idempotency_key LIKE '%{job_id}%' GROUP BY idempotency_key")
                attempts = sum(item["attempts"] for item in job["items"])
                checks.append(("a worker SIGKILLed mid-job", done == 20 and len(keys) == 20
                               and all(count == 1 for _key, count in keys),
                               f"{done}/20 done, {len(keys)} items charged, each once: "
                               f"{all(count == 1 for _key, count in keys)}; {attempts} attempts in all "
                               f"(the re-run ones count twice)"))

                # 4. usage endpoint = ledger on both processes
                now = datetime.now(UTC)
                agree = []
                for user_id, key in ((ten_id, ten_key), (bulk_id, bulk_key)):
                    ledger = rehearsal.sql(f"SELECT count(*) FROM billing_ledgerentry WHERE "
                                           f"user_id = {user_id} AND kind = 'charge' "
                                           "AND state = 'committed'")[0][0]
                    seen = []
                    for web in webs:
                        usage = httpx.get(f"{web}/api/membership-usage", headers={"x-api-key": key},
                                          params={"year": now.year, "month": now.month}, timeout=30).json()
                        seen.append(usage["api_usage"] + usage["app_usage"])
                    agree.append((ledger, seen))
                ok = all(all(value == ledger for value in seen) for ledger, seen in agree)
                detail = "; ".join(f"ledger {ledger}, web1 {seen[0]}, web2 {seen[1]}"
                                   for ledger, seen in agree)
                checks.append(("usage endpoint = ledger on both web processes", ok, detail))
            finally:
                rehearsal.stop()
    finally:
        database_drop(admin, db_name)
        s3_server.stop()
        with Connection(rabbitmq, connect_timeout=5) as connection:
            try:
                connection.default_channel.queue_delete(queue)
            except Exception:  # noqa: BLE001 - never declared
                pass
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    print(f"{len(checks)} checks in {time.monotonic() - started:.0f} s, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.2f}")
    return 0 if len(checks) == 4 and all(ok for _name, ok, _detail in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
