"""Large images through the server: time and peak RSS of one POST /rmbg, this tree against another.

    REDIS_URL=redis://127.0.0.1:1/0 .venv/bin/python scripts/with_redis.py -- \\
        .venv/bin/python bench/large.py --base ../perf28-base [--rounds 2] [--cases default]

Starts one server (uvicorn config.asgi, WARM_UP on, temp SQLite, a user with an API key) from
this tree and one from `--base` (a worktree of an older commit, run with this venv), and sends
each case to both, interleaved round by round. Before each request the server's peak RSS is reset
(/proc/PID/clear_refs 5), so "peak" is that request's VmHWM: what the process needed for it,
on top of what it already held. Cases: 48 MP mosaic (bench/photos.py) as WEBP, PNG, rotated
`angle=30&expand=true`, `refine=matting`; 12 MP WEBP / PNG; a 100 MP palette PNG (a ~12 KB file,
bench/http.py's); `--cases combos`: every option combination on 48 MP (this tree only), to find
the worst peak. Prints medians of wall time and of the server's CPU time (user + system, all
threads: on a shared machine the steadier figure), the ratios to the base, and the load average.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]  # bench/http.py ≠ stdlib http
ROOT = _HERE.parent
sys.path[:0] = [str(ROOT)]

import httpx  # noqa: E402

from bench import photos  # noqa: E402

PYTHON = Path(sys.executable)
PLANS = '[{"slug": "free", "label": "Free", "credits": 1000000, "rate_limit": "100000/minute"}]'
MODELS = Path(os.environ.get("U2NET_HOME") or ROOT / "var" / "models")
GIB = 1024

CASES = {
    "48 MP webp": ("mosaic48", {}),
    "48 MP png": ("mosaic48", {"format": "png"}),
    "48 MP angle=30 expand": ("mosaic48", {"angle": "30", "expand": "true"}),
    "48 MP refine=matting": ("mosaic48", {"refine": "matting"}),
    "12 MP webp": ("mosaic12", {}),
    "12 MP png": ("mosaic12", {"format": "png"}),
    "100 MP palette png": ("palette", {}),
}


def _combos() -> dict[str, tuple[str, dict]]:
    out = {}
    for fmt in ("webp", "png", "jpg"):
        for extra in ({}, {"angle": "30", "expand": "true"}, {"angle": "30", "expand": "false"},
                      {"angle": "90"}, {"bg_color": "#33669980"}, {"bg_color": "#336699"}, {"mask": "true"},
                      {"refine": "matting"}, {"crop": "true"},
                      {"refine": "matting", "angle": "30", "expand": "true"}):
            fields = {"format": fmt, **extra}
            out["48 MP " + "&".join(f"{k}={v}" for k, v in fields.items())] = ("mosaic48", fields)
    return out


def _palette() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("P", (10000, 10000), 0)
    ImageDraw.Draw(image).ellipse((2500, 2000, 7500, 8000), fill=1)
    image.putpalette([235, 235, 240, 200, 40, 30] + [0] * 762)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _hwm_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the process (all its threads): on a shared machine, steadier than wall time."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Server:
    def __init__(self, tree: Path, tmp: Path, label: str) -> None:
        import secrets

        self.label = label
        self.env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp / f'{label}.sqlite3'}",
                        SECRET_KEY=secrets.token_urlsafe(50), U2NET_HOME=str(MODELS), STATIC_MANIFEST="false",
                        LOG_LEVEL="WARNING", BILLING_ANON_DAILY_LIMIT="100000",
                        BILLING_ANON_RATE_LIMIT="100000/minute", WARM_UP="true", BILLING_PLANS=PLANS,
                        PYTHONPATH=str(tree))
        subprocess.run([str(PYTHON), "manage.py", "migrate", "-v", "0"], cwd=tree, env=self.env, check=True)
        script = ("from allauth.account.models import EmailAddress\n"
                  "from django.contrib.auth import get_user_model\n"
                  "from accounts.services import api_key_create\n"
                  "u = get_user_model().objects.create_user('bench', email='b@example.com', password=None)\n"
                  "EmailAddress.objects.create(user=u, email=u.email, primary=True, verified=True)\n"
                  "print(api_key_create(user=u, name='bench')[1])\n")
        out = subprocess.run([str(PYTHON), "manage.py", "shell", "-c", script], cwd=tree, env=self.env,
                             check=True, capture_output=True, text=True).stdout
        self.key = out.strip().splitlines()[-1]
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = tmp / f"{label}.log"
        self.proc = subprocess.Popen([str(PYTHON), "-m", "uvicorn", "config.asgi:application", "--port",
                                      str(self.port), "--no-access-log", "--log-level", "warning"],
                                     cwd=tree, env=self.env, stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"{label} server exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{label} server did not start")
            time.sleep(0.3)

    def post(self, name: str, data: bytes, fields: dict) -> tuple[float, float, float, float]:
        """(seconds, peak RSS MiB during the request, RSS MiB before it, CPU seconds of the server)."""
        before = _rss_mib(self.proc.pid)
        cpu = _cpu_seconds(self.proc.pid)
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
        start = time.perf_counter()
        response = httpx.post(f"http://127.0.0.1:{self.port}/rmbg", files={"image": (name, data)},
                              data=fields,
                              headers={"x-api-key": self.key}, timeout=900)
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds(self.proc.pid) - cpu
        if response.status_code != 200:
            raise SystemExit(f"{self.label} {name} {fields}: HTTP {response.status_code} "
                             f"{response.text[:300]}")
        return seconds, _hwm_mib(self.proc.pid), before, cpu

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="a worktree of the commit to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cases", default="default",
                        help="default | combos | a comma-separated list of names")
    args = parser.parse_args()
    if args.cases == "combos":
        cases = _combos()
    elif args.cases == "default":
        cases = CASES
    else:
        cases = {name: CASES[name] for name in args.cases.split(",")}
    data = {photo: (_palette() if photo == "palette" else photos.photo_bytes(photo))
            for photo in {photo for photo, _ in cases.values()}}
    print(f"load average at start: {_load()}; cases: {len(cases)}, rounds: {args.rounds}", flush=True)
    results: dict[str, dict[str, list[tuple[float, float, float, float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_large_") as tmp_name:
        tmp = Path(tmp_name)
        servers = {"new": Server(ROOT, tmp, "new")}
        if args.base and args.cases != "combos":
            servers["base"] = Server(args.base.resolve(), tmp, "base")
        try:
            for round_ in range(args.rounds):
                for name, (photo, fields) in cases.items():
                    order = list(servers) if round_ % 2 == 0 else list(servers)[::-1]
                    for label in order:
                        filename = "palette.png" if photo == "palette" else f"{photo}.jpg"
                        row = servers[label].post(filename, data[photo], fields)
                        results.setdefault(name, {}).setdefault(label, []).append(row)
                        print(f"  round {round_ + 1} {name:<48} {label:<4} {row[0]:6.2f} s  "
                              f"cpu {row[3]:6.2f} s  "
                              f"peak {row[1]:6.0f} MiB "
                              f"(before {row[2]:.0f})  load {_load()}", flush=True)
        finally:
            for server in servers.values():
                server.stop()
    print(f"\nmedians of {args.rounds} (peak = the request's VmHWM, the process's peak RSS during it); "
          f"load at end {_load()}")
    print(f"{'case':<48} {'new s':>7} {'base s':>7} {'ratio':>6} {'new cpu':>8} {'base cpu':>8} {'ratio':>6} "
          f"{'new MiB':>8} {'base MiB':>9}")
    worst = ("", 0.0)
    for name, by_label in results.items():
        new_s, new_cpu = (statistics.median(r[i] for r in by_label["new"]) for i in (0, 3))
        new_mib = max(r[1] for r in by_label["new"])
        worst = max(worst, (name, new_mib), key=lambda item: item[1])
        if "base" in by_label:
            base_s, base_cpu = (statistics.median(r[i] for r in by_label["base"]) for i in (0, 3))
            base_mib = max(r[1] for r in by_label["base"])
            print(f"{name:<48} {new_s:7.2f} {base_s:7.2f} {new_s / base_s:5.2f}x {new_cpu:8.2f} "
                  f"{base_cpu:8.2f} {new_cpu / base_cpu:5.2f}x {new_mib:8.0f} {base_mib:9.0f}")
        else:
            print(f"{name:<48} {new_s:7.2f} {'-':>7} {'-':>6} {new_cpu:8.2f} {'-':>8} {'-':>6} "
                  f"{new_mib:8.0f} {'-':>9}")
    print(f"worst peak RSS (new): {worst[1]:.0f} MiB ({worst[0]}); "
          f"{'within' if worst[1] <= GIB else 'ABOVE'} 1 GiB")


if __name__ == "__main__":
    main()
