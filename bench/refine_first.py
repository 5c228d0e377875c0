"""The first refine=matting request on a freshly started server against the second (issue 29).

    REDIS_URL=redis://127.0.0.1:1/0 .venv/bin/python scripts/with_redis.py -- \\
        .venv/bin/python bench/refine_first.py [--photo GT04] [--scale 1.8] [--rounds 2]

Each round starts `uvicorn config.asgi:application` on a free port (bench/http.py's environment:
a temporary SQLite, a verified user's API key) twice: with WARM_UP=true (as `make run` and the
launcher do: the model and the matting solver load before traffic) and, as the baseline measured
in the same run, with WARM_UP=false. Once /healthz answers, it sends the same photo with
refine=matting two times and prints both wall times, X-Refine and X-Refine-Reason, the first
minus the second (goal with warm-up: ≤ 3 s) and their ratio. The photo is one of
../shared/quality (never copied into the repository), scaled (default ×1.8 ≈ 1.5 MP).
numba's compiled code comes from NUMBA_CACHE_DIR (var/numba, filled by `make model`).
"""

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # not bench/: its http.py would shadow the standard library's

from bench.http import free_port, our_api_key, our_env, start_ours  # noqa: E402
from bench.quality import DEFAULT_DIR  # noqa: E402


def photo_png(name: str, scale: float) -> bytes:
    from PIL import Image

    photo = Image.open(DEFAULT_DIR / f"am_{name}_image.png").convert("RGB")
    if scale != 1:
        size = (round(photo.width * scale), round(photo.height * scale))
        photo = photo.resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    return buffer.getvalue()


def server_round(env: dict, key: str, data: bytes, tmp: Path, warm: bool) -> list[tuple[float, str, str]]:
    """Start a fresh server, send two refine=matting requests: [(seconds, X-Refine, reason)] ×2."""
    import httpx

    port = free_port()
    env = env | {"WARM_UP": "true" if warm else "false"}
    proc = start_ours(env, port, tmp / f"server-{port}.log", "django")
    try:
        answers = []
        for _ in range(2):
            started = time.perf_counter()
            response = httpx.post(f"http://127.0.0.1:{port}/api/rmbg", headers={"x-api-key": key},
                                  files={"image": ("photo.png", data, "image/png")},
                                  data={"refine": "matting", "format": "png"}, timeout=600)
            seconds = time.perf_counter() - started
            response.raise_for_status()
            answers.append((seconds, response.headers.get("X-Refine", "-"),
                            response.headers.get("X-Refine-Reason", "-")))
        return answers
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default="GT04")
    parser.add_argument("--scale", type=float, default=1.8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    data = photo_png(args.photo, args.scale)
    print(f"photo {args.photo} ×{args.scale}; MODEL_PRECISION={os.environ.get('MODEL_PRECISION', '')!r}; "
          f"load average before {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        env = our_env(Path(tmp))
        key = our_api_key(env)
        for round_ in range(args.rounds):
            for warm in (True, False):
                (first, mode1, why1), (second, mode2, why2) = server_round(env, key, data, Path(tmp), warm)
                print(f"round {round_ + 1} WARM_UP={str(warm).lower():<5} "
                      f"first {first:6.2f} s ({mode1} {why1})  "
                      f"second {second:6.2f} s ({mode2} {why2})  first − second {first - second:+6.2f} s "
                      f"(goal ≤ 3 with warm-up)  ratio ×{first / second:.2f}", flush=True)
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
