"""Batch jobs on Celery workers vs the same images through POST /rmbg.

    REDIS_URL=redis://127.0.0.1:1/0 .venv/bin/python scripts/with_redis.py -- \\
        .venv/bin/python bench/batch.py [--images 100] [--side 800]

(The unanswerable REDIS_URL makes with_redis.py start a private redis-server for the run.)

Starts our server (uvicorn, temp SQLite and media, a verified user with an API key, a plan with
credits for everything) and measures images/s for the same N JPEGs (skimage's chelsea at
`--side` px wide, each one slightly different so nothing is cached):
  rmbg-c4     POST /rmbg at concurrency 4 (the per-request path)
  batch-w1    one job per 100 images (POST /api/jobs), one Celery worker process, from the first
              submit until every job is final
  batch-w2    the same with two worker processes (`--concurrency 2`)
  batch-t2/4  one worker process, `--pool threads --concurrency 2` / `4` (t2: `make run`'s worker)
Workers are started for their phase only (model loaded before the clock starts) and stopped after.
Ratios are against rmbg-c4 measured in the same run; the load average is printed with them.
"""

import sys
from pathlib import Path

# bench/http.py would shadow the stdlib's `http` package: take this directory off sys.path first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import httpx  # noqa: E402

ROOT = _HERE.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
PLANS = '[{"slug": "free", "label": "Free", "credits": 1000000, "rate_limit": "100000/minute"}]'


def images_make(count: int, side: int) -> list[bytes]:
    from PIL import Image
    from skimage import data

    base = Image.fromarray(data.chelsea())
    base = base.resize((side, side * base.height // base.width), Image.Resampling.BICUBIC)
    out = []
    for index in range(count):
        buffer = io.BytesIO()
        base.rotate(index % 7 - 3).save(buffer, "JPEG", quality=88)
        out.append(buffer.getvalue())
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(workdir: Path) -> dict:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    return dict(os.environ, DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}", REDIS_URL=redis_url,
                CELERY_BROKER_URL=redis_url, CUTOUT_VAR_DIR=str(workdir), MEDIA_ROOT=str(workdir / "media"),
                U2NET_HOME=os.environ.get("U2NET_HOME", str(ROOT / "var" / "models")), BILLING_PLANS=PLANS,
                SECRET_KEY=secrets.token_urlsafe(40), DEBUG="false", STATIC_MANIFEST="false",
                ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="WARNING", WARM_UP="true")


def manage(env: dict, *args: str) -> str:
    return subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


def user_key(env: dict) -> str:
    code = ("from allauth.account.models import EmailAddress\n"
            "from django.contrib.auth import get_user_model\n"
            "from accounts.services import api_key_create\n"
            "u = get_user_model().objects.create_user(username='bench', email='bench@example.com')\n"
            "EmailAddress.objects.create(user=u, email=u.email, primary=True, verified=True)\n"
            "print(api_key_create(user=u, name='bench')[1])\n")
    return manage(env, "shell", "-v", "0", "-c", code).split()[-1]


def server_start(env: dict, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(workdir / "server.log", "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen([str(PYTHON), "-m", "uvicorn", "config.asgi:application", "--port", str(port),
                             "--no-access-log"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"server did not start: {(workdir / 'server.log').read_text()[-2000:]}")


def worker_start(env: dict, workdir: Path, concurrency: int, pool: str = "prefork") -> subprocess.Popen:
    log_path = workdir / f"worker-{pool}-{concurrency}.log"
    log = open(log_path, "w")  # noqa: SIM115 - lives as long as the worker
    proc = subprocess.Popen([str(PYTHON), "-m", "celery", "-A", "config", "worker", "--pool", pool,
                             "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-mingle",
                             "--without-gossip"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    processes = concurrency if pool == "prefork" else 1
    deadline = time.monotonic() + 120
    # Each child loads the model, then warms the matting solver on a thread (config/celery.py): the
    # clock starts when every child has said so, not while a warm-up still takes a core.
    while log_path.read_text().count("the matting solver warmed up") < processes:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rmbg_run(url: str, key: str, images: list[bytes], concurrency: int) -> float:
    with httpx.Client(timeout=300) as client:
        def one(index: int) -> None:
            files = {"image": (f"c{index}.jpg", images[index], "image/jpeg")}
            response = client.post(f"{url}/rmbg", files=files, headers={"x-api-key": key})
            response.raise_for_status()

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(one, range(len(images))))
        return time.perf_counter() - start


def batch_run(url: str, key: str, images: list[bytes]) -> float:
    headers = {"x-api-key": key}
    with httpx.Client(timeout=300) as client:
        start = time.perf_counter()
        ids = []
        for first in range(0, len(images), 100):
            files = [("image", (f"c{first + i}.jpg", data, "image/jpeg"))
                     for i, data in enumerate(images[first:first + 100])]
            response = client.post(f"{url}/api/jobs", files=files, headers=headers)
            response.raise_for_status()
            ids.append(response.json()["id"])
        for job_id in ids:
            while True:
                job = client.get(f"{url}/api/jobs/{job_id}", headers=headers).json()
                if job["status"] not in ("queued", "running"):
                    assert job["status"] == "done", job["counts"]
                    break
                time.sleep(0.2)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--side", type=int, default=800, help="image width in px (default 800)")
    args = parser.parse_args()
    images = images_make(args.images, args.side)
    with tempfile.TemporaryDirectory(prefix="cutout-bench-batch-") as tmp:
        workdir = Path(tmp)
        env = environment(workdir)
        manage(env, "migrate", "--noinput", "-v", "0")
        key = user_key(env)
        server, url = server_start(env, workdir)
        results = {}
        try:
            rmbg_run(url, key, images[:4], 4)  # warm-up
            results["rmbg-c4"] = rmbg_run(url, key, images, 4)
            for name, workers, pool in (("batch-w1", 1, "prefork"), ("batch-w2", 2, "prefork"),
                                        ("batch-t2", 2, "threads"), ("batch-t4", 4, "threads")):
                worker = worker_start(env, workdir, workers, pool)
                try:
                    results[name] = batch_run(url, key, images)
                finally:
                    stop(worker)
        finally:
            stop(server)
    base = args.images / results["rmbg-c4"]
    print(f"{args.images} images, {args.side} px wide, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    for case, seconds in results.items():
        rate = args.images / seconds
        print(f"{case:10s} {seconds:7.2f} s  {rate:6.2f} images/s  ratio {rate / base:4.2f}x of rmbg-c4")


if __name__ == "__main__":
    sys.exit(main())
