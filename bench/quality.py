"""Cut-out quality against true alpha mattes: refine=none vs refine=matting, for each installed model.

    .venv/bin/python bench/quality.py [--dir ../shared/quality] [--scale 1.0] [--models u2netp,...]
        [--fields quality=high]

For each `*_image.png` in the directory (alphamatting.com photos; never copied into the repo)
the real pipeline runs (decode → segment → refine → compose → PNG encode, `pipeline.cutout_from_bytes`)
and the PNG's alpha is scored against `*_alpha.png`:
  SAD   sum |pred − gt| (alpha 0..1) / 1000      MSE  mean (pred − gt)²
  Grad  sum (|∇G_σ pred| − |∇G_σ gt|)² / 1000, Gaussian derivatives σ = 1.4
  IoU   of alpha > 127                           Edge SAD  SAD inside the dataset trimap's grey band
  s     wall seconds of the whole call (cpu seconds alongside: the machine may be shared)
refine=none is also compared with rembg.remove() itself (IoU of alpha > 127, target ≥ 0.99).
`--scale 2` upscales each photo first (≈ 1.8 MP) to time the ≤ 2 MP target. Prints a table, means,
medians, matting/none ratios, the refine modes taken, and the load average before and after.
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # not bench/: its http.py would shadow the standard library's
os.environ.setdefault("U2NET_HOME", str(ROOT / "var" / "models"))
# ../shared/quality from the main checkout; a worktree under wt/ has it one level further up.
DEFAULT_DIR = next((p for p in (ROOT.parent / "shared" / "quality", ROOT.parent.parent / "shared" / "quality")
                    if p.is_dir()), ROOT.parent / "shared" / "quality")
METRICS = ("sad", "mse", "grad", "iou", "edge_sad", "seconds")


def scores(pred: np.ndarray, gt: np.ndarray, band: np.ndarray) -> dict[str, float]:
    """The matting papers' metrics of a predicted alpha (0..1) against the true one."""
    from scipy.ndimage import gaussian_gradient_magnitude

    diff = pred - gt
    grad = gaussian_gradient_magnitude(pred, 1.4) - gaussian_gradient_magnitude(gt, 1.4)
    fg_pred, fg_gt = pred > 127 / 255, gt > 127 / 255
    union = np.logical_or(fg_pred, fg_gt).sum()
    return {
        "sad": float(np.abs(diff).sum() / 1000),
        "mse": float((diff**2).mean()),
        "grad": float((grad**2).sum() / 1000),
        "iou": float(np.logical_and(fg_pred, fg_gt).sum() / union) if union else 1.0,
        "edge_sad": float(np.abs(diff[band]).sum() / 1000),
    }


def photo_load(image_path: Path, scale: float) -> tuple[bytes, np.ndarray, np.ndarray]:
    """(PNG bytes of the photo, true alpha 0..1, trimap grey band), scaled alike."""
    photo = Image.open(image_path).convert("RGB")
    alpha = Image.open(str(image_path).replace("_image", "_alpha")).convert("L")
    trimap = Image.open(str(image_path).replace("_image", "_trimap")).convert("L")
    if scale != 1:
        size = (round(photo.width * scale), round(photo.height * scale))
        photo = photo.resize(size, Image.Resampling.BICUBIC)
        alpha = alpha.resize(size, Image.Resampling.BICUBIC)
        trimap = trimap.resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    grey = np.asarray(trimap)
    return buffer.getvalue(), np.asarray(alpha) / 255.0, (grey > 0) & (grey < 255)


def cutout_run(data: bytes, fields: dict[str, str]):
    """One real pipeline call → (alpha 0..1 of the PNG cut-out, refine mode, wall s, cpu s)."""
    from removal.options import options_parse
    from removal.pipeline import cutout_from_bytes

    wall, cpu = time.perf_counter(), time.process_time()
    result = cutout_from_bytes(data, "photo.png", options_parse({"format": "png", **fields}))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    alpha = np.asarray(Image.open(io.BytesIO(result.result.data)).getchannel("A")) / 255.0
    mode = f"{result.refine} ({result.refine_reason})" if result.refine_reason else result.refine
    return alpha, mode, wall, cpu


def rembg_iou(data: bytes, ours: np.ndarray, model: str) -> float:
    from rembg import new_session, remove

    theirs = np.asarray(Image.open(io.BytesIO(remove(data, session=new_session(model)))).getchannel("A"))
    a, b = ours > 127 / 255, theirs > 127
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


def _row(name: str, label: str, m: dict, extra: str = "") -> str:
    return (f"{name:<8} {label:<16} {m['sad']:8.2f} {m['mse']:8.5f} {m['grad']:8.2f} {m['iou']:6.3f} "
            f"{m['edge_sad']:8.2f} {m['seconds']:6.2f} {m['cpu']:6.2f}  {extra}")


def _summary(label: str, rows: list[dict]) -> None:
    for stat, fn in (("mean", statistics.mean), ("median", statistics.median)):
        m = {key: fn(r[key] for r in rows) for key in (*METRICS, "cpu")}
        print(_row(stat, label, m))


def bench(directory: Path, scale: float, models: list[str], extra: dict[str, str]) -> None:
    photos = sorted(directory.glob("*_image.png"))
    if not photos:
        raise SystemExit(f"no *_image.png in {directory}")
    cutout_run(photo_load(photos[0], 0.25)[0], {"refine": "matting"})  # imports, numba cache, session
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}  scale: {scale}  fields: {extra}  "
          f"MODEL_PRECISION={os.environ.get('MODEL_PRECISION', '')!r}")
    print(f"{'photo':<8} {'case':<16} {'SAD':>8} {'MSE':>8} {'Grad':>8} {'IoU':>6} {'EdgeSAD':>8} "
          f"{'s':>6} {'cpu s':>6}  notes")
    for model in models:
        results: dict[str, list[dict]] = {"none": [], "matting": []}
        for path in photos:
            data, gt, band = photo_load(path, scale)
            name = path.name.split("_image")[0].removeprefix("am_")
            for refine in ("none", "matting"):
                alpha, mode, wall, cpu = cutout_run(data, {"refine": refine, "model": model, **extra})
                row = scores(alpha, gt, band) | {"seconds": wall, "cpu": cpu, "mode": mode, "alpha": alpha}
                results[refine].append(row)
            none, mat = results["none"][-1], results["matting"][-1]
            iou_rembg = rembg_iou(data, none["alpha"], model)
            print(_row(name, f"{model}/none", none, f"IoU vs rembg {iou_rembg:.4f}"))
            print(_row(name, f"{model}/matting", mat,
                       f"{mat['mode']}  SAD ×{mat['sad'] / max(none['sad'], 1e-9):.2f}  "
                       f"+{mat['seconds'] - none['seconds']:.2f} s"))
        for refine, rows in results.items():
            _summary(f"{model}/{refine}", rows)
        _ratios(model, results)
    print(f"load average after: {os.getloadavg()}")


def _ratios(model: str, results: dict[str, list[dict]]) -> None:
    none, mat = results["none"], results["matting"]
    sad_none, sad_mat = [r["sad"] for r in none], [r["sad"] for r in mat]
    added = [m["seconds"] - n["seconds"] for n, m in zip(none, mat, strict=True)]
    added_cpu = [m["cpu"] - n["cpu"] for n, m in zip(none, mat, strict=True)]
    worst = max(m / max(n, 1e-9) for n, m in zip(sad_none, sad_mat, strict=True))
    taken = [r["mode"].split()[0] for r in mat]
    modes = {mode: taken.count(mode) for mode in ("matting", "reduced", "skipped")}
    print(f"{model}: matting/none SAD median ×{statistics.median(sad_mat) / statistics.median(sad_none):.3f} "
          f"(target ≤ 0.50), mean ×{statistics.mean(sad_mat) / statistics.mean(sad_none):.3f} (≤ 0.85), "
          f"worst photo ×{worst:.3f} (≤ 1.05); added s median {statistics.median(added):.2f} (≤ 1.0), "
          f"worst {max(added):.2f} (≤ 2.5); added cpu s median {statistics.median(added_cpu):.2f}, "
          f"worst {max(added_cpu):.2f}; modes {modes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--models", default="", help="comma-separated; default: every installed model")
    parser.add_argument("--fields", default="", help="more form fields for every call, e.g. quality=high")
    args = parser.parse_args()
    from removal.segment import models_installed

    models = [m for m in args.models.split(",") if m] or models_installed()
    extra = dict(field.split("=", 1) for field in args.fields.split(",") if field)
    bench(args.dir, args.scale, models, extra)


if __name__ == "__main__":
    main()
