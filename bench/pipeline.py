"""Benchmark the removal pipeline against `rembg.remove()` + PNG, and against the bare model.

    .venv/bin/python bench/pipeline.py [--repeats 7,5,3] [--sizes 1.6,12,48]

Images: skimage's chelsea photo upscaled to ~1.6 MP, and 12 MP / 48 MP images generated from
it (upscaled with added grain so they do not compress like flat colour), all JPEG q90.
Cases, each in a fresh subprocess so peak RSS belongs to that case alone:
  rembg    rembg.remove(bytes, session=new_session("u2netp")) → PNG bytes (what a user would write)
  forward  the model's forward pass alone on a prepared 1×3×320×320 input (the floor)
  ours     removal.pipeline.remove_background(bytes, name, defaults) → WEBP bytes
One untimed warm-up call per case, then the timed calls are interleaved round by round
(rembg, forward, ours, rembg, ...) so that load from other processes on a shared machine hits
every case alike; medians of the timed calls; ratios against rembg and forward.
"""

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"1.6": (1552, 1032), "12": (4000, 3000), "48": (8000, 6000)}
CASES = ("rembg", "forward", "ours")


def image_generate(megapixels: str, path: Path) -> None:
    import numpy as np
    from PIL import Image
    from skimage import data

    width, height = SIZES[megapixels]
    photo = Image.fromarray(data.chelsea()).resize((width, height), Image.Resampling.BICUBIC)
    if megapixels != "1.6":
        rng = np.random.default_rng(0)
        pixels = np.asarray(photo).astype(np.int16)
        pixels += rng.integers(-6, 7, size=pixels.shape, dtype=np.int16)
        photo = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    photo.save(path, "JPEG", quality=90)


def _case_callable(case: str, data: bytes, name: str):
    if case == "rembg":
        from rembg import new_session, remove

        session = new_session("u2netp")
        return lambda: remove(data, session=session)  # bytes in → PNG bytes out
    from removal import segment

    segment.warm_up()
    if case == "forward":
        from PIL import Image

        inner = segment.session_get().inner_session
        feed = {inner.get_inputs()[0].name: segment._u2net_input(Image.open(io.BytesIO(data)))}
        return lambda: inner.run(None, feed)
    from removal.options import options_parse
    from removal.pipeline import remove_background

    options = options_parse({})
    return lambda: remove_background(data, name, options)


def child(case: str, path: str) -> None:
    """Serve timed calls: one line "run" on stdin → one line with seconds; "peak" → peak RSS, exit."""
    data = Path(path).read_bytes()
    run = _case_callable(case, data, Path(path).name)
    run()  # warm-up: first allocations, onnxruntime's lazy initialisation
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "run":
            start = time.perf_counter()
            run()
            print(time.perf_counter() - start, flush=True)
        else:
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, flush=True)  # KiB → MiB
            return


class _Child:
    def __init__(self, case: str, path: Path) -> None:
        env = {**os.environ, "U2NET_HOME": os.environ.get("U2NET_HOME", str(ROOT / "var" / "models"))}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child", case, str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )
        self.times: list[float] = []

    def ask(self, command: str) -> float:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def wait_ready(self) -> None:
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("benchmark child failed to start")

    def peak_mib(self) -> float:
        peak = self.ask("peak")
        self.process.wait()
        return peak


def measure(path: Path, repeats: int) -> dict[str, tuple[float, float]]:
    """Per case: (median ms, peak RSS MiB)."""
    results = {}
    children = {}
    for case in CASES:  # one at a time, so warm-ups do not overlap
        children[case] = _Child(case, path)
        children[case].wait_ready()
    for _ in range(repeats):
        for child_ in children.values():
            child_.times.append(child_.ask("run"))
    for case, child_ in children.items():
        results[case] = (statistics.median(child_.times) * 1000, child_.peak_mib())
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1.6,12,48")
    parser.add_argument("--repeats", default="7,5,3", help="timed calls per size, in --sizes order")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "IMAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1])
        return
    sys.path.insert(0, str(ROOT))
    from removal.pool import pool_sizing

    sizing = pool_sizing()
    print(f"cpus={sizing.cpus} onnxruntime intra-op threads={sizing.intra_op_threads} "
          f"(rembg baseline: onnxruntime default)")
    sizes = args.sizes.split(",")
    repeats = [int(r) for r in args.repeats.split(",")]
    header = f"{'image':>14} {'rembg→PNG':>11} {'forward':>9} {'ours':>9} {'ours/rembg':>11} {'ours/fwd':>9}"
    rows, peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for megapixels, count in zip(sizes, repeats, strict=True):
            path = Path(tmp) / f"photo_{megapixels}mp.jpg"
            image_generate(megapixels, path)
            results = measure(path, count)
            medians = {case: median for case, (median, _) in results.items()}
            w, h = SIZES[megapixels]
            rows.append(
                f"{f'{megapixels} MP {w}x{h}':>14} {medians['rembg']:>9.0f}ms {medians['forward']:>7.0f}ms "
                f"{medians['ours']:>7.0f}ms {medians['ours'] / medians['rembg']:>10.2f}x "
                f"{medians['ours'] / medians['forward']:>8.2f}x   (n={count})"
            )
            peaks.append(f"{megapixels} MP peak RSS: rembg {results['rembg'][1]:.0f} MiB, "
                         f"ours {results['ours'][1]:.0f} MiB")
            print(rows[-1], flush=True)
    print()
    print(header)
    print("\n".join(rows))
    print("\n".join(peaks))


if __name__ == "__main__":
    main()
