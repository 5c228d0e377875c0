"""The editor's free re-render under hostile but legal use, from outside, against a real server (issue 27).

    REDIS_URL=redis://127.0.0.1:1/0 .venv/bin/python scripts/with_redis.py -- \\
        .venv/bin/python bench/renders.py

Our server (uvicorn config.asgi, temp SQLite, as bench/http.py starts it) serves a signed-in user
"alice" with one processed 512×512 job, and an API user "bob". It prints:
  hostile     each hostile input of the issue: status and seconds to the answer (target ≤ 10 s);
  worst legal the most painting the limits allow (removal/strokes.py: PAINT_MAX images), alone;
  fairness    bob's small POST /rmbg p95, idle and while alice sends 6 parallel worst-legal renders
              again and again (target: ≤ 3× idle; alice's extra renders get 429 per
              EDITOR_RENDERS_PER_USER);
  memory      the server's RSS growth (summed VmRSS of its process tree, sampled every 0.1 s) for 3
              parallel 100 MP background uploads, against 3 parallel 100 MP POST /rmbg (target ≤ 1×).
"""

import sys
from pathlib import Path

# bench/http.py would shadow the stdlib's `http` (httpx imports it): this directory off sys.path first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import concurrent.futures  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402
from PIL import Image  # noqa: E402


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_http = _bench_module("http")  # its server start-up, /proc sampling and 100 MP palette PNG
photo_bytes = _bench_module("photos").photo_bytes
ROOT = bench_http.ROOT
PYTHON = bench_http.PYTHON
SIDE = 512

SETUP = """
import json
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.middleware.csrf import _get_new_csrf_string
from accounts.services import api_key_create
users = {}
for name in ("alice", "bob"):
    u = get_user_model().objects.create_user(name, email=f"{name}@example.com", password=None)
    EmailAddress.objects.create(user=u, email=u.email, primary=True, verified=True)
    users[name] = u
session = SessionStore()
session["_auth_user_id"] = str(users["alice"].pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = users["alice"].get_session_auth_hash()
session.create()
print(json.dumps({"session": session.session_key, "csrf": _get_new_csrf_string(),
                  "bob": api_key_create(user=users["bob"], name="bench")[1]}))
"""


def setup(env: dict) -> dict:
    subprocess.run([str(PYTHON), "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run([str(PYTHON), "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def browser(base: str, secrets: dict) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=120,
                        cookies={"sessionid": secrets["session"], "csrftoken": secrets["csrf"]},
                        headers={"X-CSRFToken": secrets["csrf"], "Referer": base + "/editor/"})


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def worst_legal_strokes() -> str:
    """Corner-to-corner zig-zags with a 32 px brush (64 px wide: the cheapest width counted) filling
    the painted-area limit (removal.strokes.PAINT_MAX images) to 95 %."""
    from removal.strokes import PAINT_MAX

    diagonal = (2 * SIDE * SIDE) ** 0.5
    crossings = int(0.95 * PAINT_MAX * SIDE * SIDE / 64 / diagonal) - 1
    points = [[0, 0] if i % 2 == 0 else [SIDE, SIDE] for i in range(crossings + 1)]
    return json.dumps([{"mode": "erase", "radius": 32, "hardness": 0.5, "points": points}])


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def rss_growth(pid: int, run) -> float:
    """MiB the server's process tree grew by (peak summed VmRSS − before) while `run()` runs."""
    tree = bench_http.process_tree(pid)
    base = sum(bench_http._status_kib(p, "VmRSS") for p in tree)
    peak, done = base, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(bench_http._status_kib(p, "VmRSS") for p in bench_http.process_tree(pid)))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        run()
    finally:
        done.set()
        sampler.join()
    return (peak - base) / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        env = bench_http.our_env(tmp)
        env.update(MEDIA_ROOT=str(tmp / "media"), EDITOR_RENDER_TIMEOUT="60")
        secrets = setup(env)
        port = bench_http.free_port()
        server = bench_http.start_ours(env, port, tmp / "server.log", "django")
        base = f"http://127.0.0.1:{port}"
        try:
            run(base, secrets, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"load average at the end: {os.getloadavg()}")


def run(base: str, secrets: dict, pid: int) -> None:
    photo = Image.open(io.BytesIO(photo_bytes("people"))).convert("RGB")
    alice = browser(base, secrets)
    upload = alice.post("/editor/jobs/", files={"image": ("p.jpg", encode(photo.resize((SIDE, SIDE)), "JPEG"),
                                                          "image/jpeg")})
    assert upload.status_code == 200, upload.text
    job = upload.json()["id"]
    render_url = f"/editor/jobs/{job}/render/"

    print("hostile inputs (target: an answer within 10 s)")
    hostile = {"one stroke, 50,000 points across ±1e6, radius 2000":
               [{"mode": "erase", "radius": 2000, "hardness": 1,
                 "points": [[-1e6, -1e6] if i % 2 else [1e6, 1e6] for i in range(50_000)]}],
               "3,000-point stroke across the whole image, radius 30":
               [{"mode": "erase", "radius": 30, "hardness": 1,
                 "points": [[0, 0] if i % 2 else [SIDE, SIDE] for i in range(3000)]}]}
    for name, strokes in hostile.items():
        seconds, response = timed(lambda s=strokes: alice.post(render_url, data={"strokes": json.dumps(s)}))
        print(f"  {name}: {response.status_code} in {seconds:.2f} s")

    worst = worst_legal_strokes()
    seconds, response = timed(lambda: alice.post(render_url, data={"strokes": worst}))
    print(f"worst legal render alone: {response.status_code} in {seconds:.2f} s")
    alice.post(render_url, data={"strokes": "[]"})

    small = encode(photo.resize((128, 160)), "JPEG", quality=90)
    bob = httpx.Client(base_url=base, timeout=120, headers={"x-api-key": secrets["bob"]})

    def bob_once() -> float:
        seconds, response = timed(lambda: bob.post("/rmbg", files={"image": ("s.jpg", small, "image/jpeg")}))
        assert response.status_code == 200, response.text
        return seconds

    for _ in range(3):
        bob_once()
    idle = [bob_once() for _ in range(20)]
    jobs = [job] + [alice.post("/editor/jobs/", files={"image": (f"p{i}.jpg", encode(
        photo.resize((SIDE, SIDE)).rotate(i), "JPEG"), "image/jpeg")}).json()["id"] for i in range(5)]
    stop, statuses = threading.Event(), []

    def renders(job_id: str) -> None:
        while not stop.is_set():
            statuses.append(alice.post(f"/editor/jobs/{job_id}/render/", data={"strokes": worst}).status_code)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(renders, job_id) for job_id in jobs]
        time.sleep(1)
        loaded = [bob_once() for _ in range(20)]
        stop.set()
        for future in futures:
            future.result()
    p95 = lambda values: statistics.quantiles(values, n=20)[-1]  # noqa: E731
    print(f"fairness: bob's p95 idle {p95(idle):.3f} s, "
          f"during alice's 6 parallel renders {p95(loaded):.3f} s "
          f"→ {p95(loaded) / p95(idle):.2f}× (target ≤ 3×); alice's answers: "
          f"{ {code: statuses.count(code) for code in sorted(set(statuses))} }")

    big = bench_http.palette_png()

    def rmbg_three() -> None:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            codes = list(pool.map(lambda _: bob.post("/rmbg", files={"image": ("b.png", big, "image/png")},
                                                     data={"format": "png"}).status_code, range(3)))
        print(f"  3 × 100 MP POST /rmbg: {codes}")

    def backgrounds_three() -> None:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            codes = list(pool.map(lambda job_id: alice.post(
                f"/editor/jobs/{job_id}/render/", files={"background": ("bg.png", big, "image/png")},
                data={"format": "png"}).status_code, jobs[:3]))
        print(f"  3 × 100 MP background uploads: {codes}")

    print("memory (server RSS growth)")
    rmbg = rss_growth(pid, rmbg_three)
    backgrounds = rss_growth(pid, backgrounds_three)
    print(f"  /rmbg {rmbg:.0f} MiB, backgrounds {backgrounds:.0f} MiB → {backgrounds / max(rmbg, 1):.2f}× "
          f"(target ≤ 1×)")


if __name__ == "__main__":
    main()
