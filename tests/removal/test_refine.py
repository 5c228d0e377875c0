"""removal.refine: matting on real photos with true mattes (../shared/quality), and its guard."""

import numpy as np
import pytest
from PIL import Image

from removal.refine import RefineLimits, alpha_refine, foreground_estimate, trimap_make
from removal.segment import mask_predict

# Generous: the machine running the tests may be shared; the budget has its own test below.
UNHURRIED = RefineLimits(seconds=300)


def _photo(quality_dir, name: str) -> tuple[Image.Image, np.ndarray]:
    image = Image.open(quality_dir / f"am_{name}_image.png").convert("RGB")
    truth = np.asarray(Image.open(quality_dir / f"am_{name}_alpha.png").convert("L")) / 255.0
    return image, truth


def _sad(alpha: Image.Image, truth: np.ndarray) -> float:
    return float(np.abs(np.asarray(alpha) / 255.0 - truth).sum() / 1000)


@pytest.fixture(scope="module")
def pumpkin(quality_dir):
    """GT19, a pumpkin: u2netp's mask is roughly right (IoU 0.996) but soft at the edge."""
    image, truth = _photo(quality_dir, "GT19")
    return image, truth, mask_predict(image, image.size)


def test_it_lowers_sad_against_the_true_matte_on_a_roughly_right_mask(pumpkin):
    image, truth, mask = pumpkin
    refined = alpha_refine(image=image, mask=mask, limits=UNHURRIED)
    assert refined.mode == "matting" and refined.reason is None
    assert _sad(refined.alpha, truth) < 0.5 * _sad(mask, truth)  # measured 0.75 vs 2.39
    assert refined.alpha.size == image.size and refined.foreground.size == image.size


def test_it_keeps_the_known_pixels_and_changes_only_the_band(pumpkin):
    image, _truth, mask = pumpkin
    refined = alpha_refine(image=image, mask=mask, limits=UNHURRIED)
    trimap = trimap_make(np.asarray(mask))
    alpha = np.asarray(refined.alpha)
    assert (alpha[trimap == 255] == 255).all() and (alpha[trimap == 0] == 0).all()
    known = trimap != 128
    assert (np.asarray(refined.foreground)[known] == np.asarray(image)[known]).all()


def test_it_solves_a_downscaled_copy_when_the_band_is_over_the_work_limit(pumpkin):
    image, truth, mask = pumpkin
    refined = alpha_refine(image=image, mask=mask, limits=RefineLimits(seconds=300, unknown_max=8_000))
    assert refined.mode == "reduced"
    assert _sad(refined.alpha, truth) < _sad(mask, truth)


def test_it_leaves_a_wrong_mask_alone_and_says_why(quality_dir):
    image, _truth = _photo(quality_dir, "GT10")  # teddy: the model undecided over 43 % of the subject
    mask = mask_predict(image, image.size)
    refined = alpha_refine(image=image, mask=mask, limits=UNHURRIED)
    assert refined.mode == "skipped" and refined.alpha is mask and refined.foreground is None
    assert refined.reason == "mask-uncertain"


def test_it_refines_a_wide_band_of_hair_instead_of_skipping_it(quality_dir):
    image, truth = _photo(quality_dir, "GT04")  # the trolls' hair: a band over a quarter of the image
    mask = mask_predict(image, image.size)
    assert (trimap_make(np.asarray(mask)) == 128).mean() > 0.25  # what the old guard skipped
    refined = alpha_refine(image=image, mask=mask, limits=UNHURRIED)
    assert refined.mode in ("matting", "reduced") and refined.reason is None
    assert _sad(refined.alpha, truth) < 0.95 * _sad(mask, truth)  # measured 22.9 vs 27.4 (int8 model)


def test_it_judges_a_mask_undecided_over_the_subject_wrong(pumpkin):
    image, _truth, mask = pumpkin
    grey = Image.fromarray(np.where(np.asarray(mask) > 127, 150, 0).astype(np.uint8))  # "maybe" everywhere
    refined = alpha_refine(image=image, mask=grey, limits=UNHURRIED)
    assert refined.mode == "skipped" and refined.reason == "mask-uncertain"


def test_it_skips_when_the_time_budget_runs_out(pumpkin):
    image, _truth, mask = pumpkin
    refined = alpha_refine(image=image, mask=mask, limits=RefineLimits(seconds=0))
    assert refined.mode == "skipped" and refined.alpha is mask
    assert refined.reason == "time-budget"


def test_it_skips_an_image_over_the_pixel_limit(pumpkin):
    image, _truth, mask = pumpkin
    refined = alpha_refine(image=image, mask=mask, limits=RefineLimits(seconds=300, pixels_max=100_000))
    assert refined.mode == "skipped" and refined.reason == "too-large"


def test_it_takes_the_background_colour_out_of_edge_pixels(quality_dir):
    # The photo composited over pure green with its true matte: band pixels are part green.
    # The estimated foreground must be much closer to the photo's own colours than the mix is.
    image, truth = _photo(quality_dir, "GT04")  # long hair: a wide band of partial alpha
    fg = np.asarray(image) / 255.0
    mixed = truth[..., None] * fg + (1 - truth[..., None]) * np.array([0.0, 1.0, 0.0])
    estimated = foreground_estimate(mixed, truth)
    edge = (truth > 0.2) & (truth < 0.8)
    spill_before = np.abs(mixed - fg)[edge].mean()
    spill_after = np.abs(estimated - fg)[edge].mean()
    assert spill_after < 0.5 * spill_before
