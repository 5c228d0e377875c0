"""Edge refinement: closed-form alpha matting on a trimap made from the model's mask.

u2netp predicts at 320×320, so scaled up its edges are soft and blocky. Closed-form matting
(Levin et al. 2008, pymatting's implementation, as rembg's `alpha_matting`) solves for alpha in
the uncertain band between "surely foreground" and "surely background"; blur-fusion foreground
estimation (Forte & Pitié 2021) then gives the band pixels their own colour instead of a mix
with the background ("spill").

Guarded, because matting makes a wrong mask worse and its cost grows with the band. A skip keeps
the mask and says why (`Refined.reason`, SPEC §7's X-Refine-Reason):
  - the model undecided over more than `undecided_max` of the subject, or a band over `band_max`
    of the image: the mask is judged wrong → mask-uncertain. (A wide band alone is not: hair and
    fur make one. Until issue 29 a band over 25 % skipped, which skipped exactly the hair and fur.)
  - band or its bounding box over the work limits: matting on a downscaled copy → reduced; so small
    that the copy is too coarse, or an image over `pixels_max` → too-large;
  - past the time budget (checked between steps and on every solver iteration) → time-budget;
    the solver not converging → not-converged.
Thresholds come from bench/quality.py on the alphamatting.com photos (see README).
"""

import math
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from removal.config import env_read
from removal.jit import solver_importing

REFINE_MODES = ("none", "matting")
_FG_LEVEL = 240  # rembg's alpha_matting threshold: mask above is foreground
# Below this the mask is background. rembg's 10 put u2netp's soft tail around hair (10..64, over
# grass on GT04) into the band, and matting raised it: GT04 ×1.11 of plain SAD at 10, ×0.80 at 32,
# ×0.84 at 64 (64 better on GT07: ×0.68 against ×0.76; issue 29's measurements).
_BG_LEVEL = 64
# Erosion of both known regions, in the model's 320×320 pixels (rembg erodes 10 image pixels
# whatever the size; 4 model pixels is 10 px at 800 px, the size it was measured best at).
_ERODE_MODEL_PIXELS = 4
_MODEL_SIDE = 320
_RTOL = 1e-4  # 1e-7 (pymatting's default) took 2× the iterations for the same SAD (±0.1)
_MAXITER = 500
_MIN_SCALE = 0.2  # below this the downscaled matte is too coarse to beat the mask
_UNDECIDED = (64, 192)  # mask values where the model says neither subject nor background


@dataclass(frozen=True)
class RefineLimits:
    # Share of the subject where the model is undecided (mask 64..192) above which the mask is judged
    # wrong and left alone: hair and fur are a fringe of it (GT04 16 %, others ≤ 12 %), a mask
    # that cannot tell the subject is a large part of it (the teddy GT10: 43 %, matting ×0.99-1.32).
    undecided_max: float = 0.30
    band_max: float = 0.50  # share of the image in the band above which no known region is reliable
    unknown_max: int = 50_000  # band pixels solved at full size; more → downscaled (same SAD at 40k-120k)
    area_max: int = 750_000  # pixels of the band's bounding box (the Laplacian is ~400 B a pixel)
    seconds: float = 3.0  # time budget for the whole refinement
    pixels_max: int = 25_000_000  # larger images are not refined: the full-size trimap alone costs too much


@dataclass(frozen=True)
class Refined:
    alpha: Image.Image  # mode "L", the image's size
    foreground: Image.Image | None  # mode "RGB": the band's colours without spill; None if skipped
    mode: str  # "matting" | "reduced" | "skipped"
    reason: str | None = None  # why skipped (X-Refine-Reason): one of SKIP_REASONS


# SPEC §7's X-Refine-Reason: the mask is judged wrong (matting would pull background in), the
# image or its band is too large to solve in time, the budget ran out, the solver did not converge.
SKIP_REASONS = ("mask-uncertain", "too-large", "time-budget", "not-converged")


class _OutOfTime(Exception):
    pass


def refine_limits() -> RefineLimits:
    """The limits from the environment (REFINE_UNDECIDED_MAX, REFINE_BAND_MAX, REFINE_UNKNOWN_MAX,
    REFINE_AREA_MAX, REFINE_TIME_BUDGET, REFINE_PIXELS_MAX), else the measured defaults."""
    base = RefineLimits()
    return RefineLimits(
        undecided_max=env_read("REFINE_UNDECIDED_MAX", base.undecided_max),
        band_max=env_read("REFINE_BAND_MAX", base.band_max),
        unknown_max=int(env_read("REFINE_UNKNOWN_MAX", base.unknown_max)),
        area_max=int(env_read("REFINE_AREA_MAX", base.area_max)),
        seconds=env_read("REFINE_TIME_BUDGET", base.seconds),
        pixels_max=int(env_read("REFINE_PIXELS_MAX", base.pixels_max)),
    )


def trimap_make(mask: np.ndarray) -> np.ndarray:
    """uint8 trimap of a mask: 255 surely foreground, 0 surely background, 128 the band."""
    from scipy.ndimage import minimum_filter

    # A square erosion is a separable minimum filter: O(pixels) whatever its size.
    side = max(1, round(_ERODE_MODEL_PIXELS * max(mask.shape) / _MODEL_SIDE))
    trimap = np.full(mask.shape, 128, dtype=np.uint8)
    trimap[minimum_filter(mask > _FG_LEVEL, size=side, mode="constant", cval=0)] = 255
    trimap[minimum_filter(mask < _BG_LEVEL, size=side, mode="constant", cval=1)] = 0
    return trimap


def _band_box(band: np.ndarray, pad: int) -> tuple[slice, slice]:
    """The band's bounding box grown by `pad`: the only part the solver needs to see."""
    rows, cols = np.flatnonzero(band.any(axis=1)), np.flatnonzero(band.any(axis=0))
    top, bottom = max(0, rows[0] - pad), min(band.shape[0], rows[-1] + pad + 1)
    left, right = max(0, cols[0] - pad), min(band.shape[1], cols[-1] + pad + 1)
    return slice(top, bottom), slice(left, right)


def _check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise _OutOfTime


def _closed_form(image: np.ndarray, trimap: np.ndarray, deadline: float) -> np.ndarray:
    """Closed-form alpha (float64, 0..1) of `image` (h×w×3, 0..1) for a uint8 trimap."""
    with solver_importing():  # pymatting loads (or compiles) its numba code on import
        from pymatting import cf_laplacian, cg, ichol

    unknown = (trimap == 128).ravel()
    known, is_fg = ~unknown, (trimap == 255).ravel()
    laplacian = cf_laplacian(image, is_known=known)
    _check(deadline)
    l_u = laplacian[unknown, :][:, unknown]
    rhs = -laplacian[unknown, :][:, known].dot(is_fg[known])
    del laplacian
    preconditioner = ichol(l_u)
    _check(deadline)
    alpha = (trimap / 255.0).ravel()
    alpha[unknown] = cg(l_u, rhs, M=preconditioner, rtol=_RTOL, maxiter=_MAXITER,
                        callback=lambda *_: _check(deadline))
    return np.clip(alpha, 0, 1).reshape(trimap.shape)


def _box_blur(array: np.ndarray, size: int) -> np.ndarray:
    from scipy.ndimage import uniform_filter

    sizes = (size, size, 1) if array.ndim == 3 else size
    return uniform_filter(array, size=sizes, mode="nearest")


def _blur_fusion(image, fg, bg, alpha, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One pass of Forte & Pitié's blur-fusion estimator (float32 arrays, alpha h×w×1)."""
    blurred_alpha = _box_blur(alpha, size)
    blurred_fg = _box_blur(fg * alpha, size) / (blurred_alpha + 1e-5)
    blurred_bg = _box_blur(bg * (1 - alpha), size) / ((1 - blurred_alpha) + 1e-5)
    fg = blurred_fg + alpha * (image - alpha * blurred_fg - (1 - alpha) * blurred_bg)
    return np.clip(fg, 0, 1), blurred_bg


def foreground_estimate(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colours (float32, 0..1) of `image` given its alpha: no background mixed in."""
    image = image.astype(np.float32)
    alpha = alpha.astype(np.float32)[:, :, np.newaxis]
    fg, bg = _blur_fusion(image, image, image, alpha, 91)
    return _blur_fusion(image, fg, bg, alpha, 7)[0]


def _scale_for(band: np.ndarray, box: tuple[slice, slice], limits: RefineLimits) -> float:
    area = (box[0].stop - box[0].start) * (box[1].stop - box[1].start)
    return min(1.0, math.sqrt(limits.unknown_max / max(1, band.sum())), math.sqrt(limits.area_max / area))


def _solve(rgb: Image.Image, trimap: np.ndarray, scale: float, deadline: float):
    """Alpha and foreground of (rgb, trimap), solved at `scale` of their size."""
    if scale < 1:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.BILINEAR)
        trimap = np.asarray(Image.fromarray(trimap).resize(size, Image.Resampling.NEAREST))
    image = np.asarray(rgb, dtype=np.float64) / 255.0
    alpha = _closed_form(image, trimap, deadline)
    _check(deadline)
    return alpha, foreground_estimate(image, alpha)


def _to_image(array: np.ndarray, size: tuple[int, int]) -> Image.Image:
    image = Image.fromarray(np.round(array * 255).astype(np.uint8))
    return image if image.size == size else image.resize(size, Image.Resampling.BILINEAR)


def _paste(trimap: np.ndarray, rgb: Image.Image, box, alpha: np.ndarray, fg: np.ndarray):
    """Known pixels keep the trimap's 0/255 and the photo's colour; band pixels take the solve's."""
    band = trimap[box] == 128
    out_alpha = np.where(trimap == 255, 255, 0).astype(np.uint8)
    out_rgb = np.array(rgb)
    out_alpha[box][band] = alpha[band]
    out_rgb[box][band] = fg[band]
    return Image.fromarray(out_alpha), Image.fromarray(out_rgb)


def _undecided_share(mask: np.ndarray) -> float:
    """Share of the subject (mask ≥ _UNDECIDED[0]) where the model is undecided (inside _UNDECIDED)."""
    low, high = _UNDECIDED
    subject = mask >= low
    subject_pixels = int(np.count_nonzero(subject))
    return int(np.count_nonzero(subject & (mask <= high))) / max(1, subject_pixels)


def _plan(mask: np.ndarray, trimap: np.ndarray, limits: RefineLimits):
    """(box, scale) of the solve, or the reason to skip (SKIP_REASONS)."""
    if _undecided_share(mask) > limits.undecided_max:
        return "mask-uncertain"  # the model cannot tell the subject: matting would pull background in
    band = trimap == 128
    if band.mean() > limits.band_max:
        return "mask-uncertain"  # no reliable known region left to propagate from
    box = _band_box(band, pad=2)
    scale = _scale_for(band, box, limits)
    return "too-large" if scale < _MIN_SCALE else (box, scale)


def alpha_refine(*, image: Image.Image, mask: Image.Image, limits: RefineLimits | None = None) -> Refined:
    """Refine `mask` (mode "L", the image's size) on `image`. Never raises for a hard image:
    anything judged wrong, too large or too slow comes back as the mask unchanged, mode "skipped",
    with the reason."""
    limits = limits or refine_limits()
    deadline = time.monotonic() + limits.seconds
    if image.width * image.height > limits.pixels_max:
        return Refined(alpha=mask, foreground=None, mode="skipped", reason="too-large")
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    values = np.asarray(mask)
    trimap = trimap_make(values)
    if not (trimap == 128).any():
        return Refined(alpha=mask, foreground=rgb, mode="matting")  # nothing uncertain to solve
    plan = _plan(values, trimap, limits)
    if isinstance(plan, str):
        return Refined(alpha=mask, foreground=None, mode="skipped", reason=plan)
    box, scale = plan
    crop = (box[1].start, box[0].start, box[1].stop, box[0].stop)
    try:
        alpha, fg = _solve(rgb.crop(crop), trimap[box], scale, deadline)
    except _OutOfTime:
        return Refined(alpha=mask, foreground=None, mode="skipped", reason="time-budget")
    except ValueError:  # the solver did not converge in _MAXITER
        return Refined(alpha=mask, foreground=None, mode="skipped", reason="not-converged")
    size = (crop[2] - crop[0], crop[3] - crop[1])
    alpha_img, fg_img = _paste(trimap, rgb, box, np.asarray(_to_image(alpha, size)),
                               np.asarray(_to_image(fg, size)))
    return Refined(alpha=alpha_img, foreground=fg_img, mode="matting" if scale == 1 else "reduced")


def refine_warm_up() -> None:
    """Load pymatting's compiled code (removal.jit) and solve one small band, so a process's first
    refine=matting request pays neither the import nor numba's first-call set-up (WARM_UP)."""
    side = 96
    yy, xx = np.mgrid[:side, :side]
    distance = np.hypot(yy - side / 2, xx - side / 2)
    mask = np.clip((side / 3 - distance) * 32 + 128, 0, 255).astype(np.uint8)  # a disc, soft edge
    noise = np.random.default_rng(0).integers(0, 40, (side, side, 3))
    photo = np.where(mask[..., None] > 127, 200, 40) + noise
    alpha_refine(image=Image.fromarray(photo.astype(np.uint8)), mask=Image.fromarray(mask),
                 limits=RefineLimits(seconds=600))
