"""Regenerate the landing page's before/after sample with the real pipeline (run once, commit the output).

    U2NET_HOME=var/models .venv/bin/python scripts/home_sample.py

Input: scikit-image's "astronaut" photograph (NASA, public domain), scaled to 360 px. Output:
static/home/sample-before.webp and static/home/sample-after.webp (together well under 100 KB).
"""

import io
import sys
from pathlib import Path

from PIL import Image
from skimage import data as skdata

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from removal.options import options_parse  # noqa: E402
from removal.pipeline import remove_background  # noqa: E402

SIZE = 360


def main() -> None:
    before = Image.fromarray(skdata.astronaut()).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    before.save(buffer, "PNG")
    result = remove_background(buffer.getvalue(), "astronaut.png", options_parse({"format": "webp"}))
    out = ROOT / "static" / "home"
    out.mkdir(parents=True, exist_ok=True)
    before.save(out / "sample-before.webp", "WEBP", quality=80, method=6)
    (out / "sample-after.webp").write_bytes(result.data)
    for name in ("sample-before.webp", "sample-after.webp"):
        print(name, (out / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
