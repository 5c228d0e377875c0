"""Command line on the same pipeline as the API:

    python -m removal in.jpg -o out.webp [--w 800] [--h 600] [--format png] [--mask]
                                         [--bg-color '#fff'] [--angle 90] [--no-expand] [--exact-resize]
"""

import argparse
import sys
from pathlib import Path

from removal.errors import RemovalError
from removal.options import options_parse
from removal.pipeline import Cutout, cutout_from_bytes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m removal", description="Remove an image's background.")
    parser.add_argument("input", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--w", default="", help="target width (keeps aspect unless --exact-resize)")
    parser.add_argument("--h", default="", help="target height")
    parser.add_argument("--format", default="", help="webp (default), png, jpeg/jpg, bmp")
    parser.add_argument("--mask", action="store_true", help="write only the 8-bit mask")
    parser.add_argument("--bg-color", default="", help="#RGB, #RGBA, #RRGGBB, #RRGGBBAA or a CSS name")
    parser.add_argument("--angle", default="", help="counter-clockwise degrees, -360..360")
    parser.add_argument("--no-expand", action="store_true", help="keep the canvas size when rotating")
    parser.add_argument("--exact-resize", action="store_true", help="force exactly w×h")
    parser.add_argument("--refine", default="", help="none (default) or matting: refined edges")
    parser.add_argument("--crop", action="store_true", help="crop to the subject's box")
    parser.add_argument("--crop-margin", default="", help="with --crop: 0-500 px (20, 20px) or 0%%-50%%")
    parser.add_argument("--model", default="", help="an installed model (default u2netp)")
    parser.add_argument("--quiet", action="store_true")
    return parser


def _subject_note(cutout: Cutout) -> str:
    """What the subject step reported (refine mode, subject box)."""
    notes = [f"refine {cutout.refine}"] if cutout.refine else []
    if cutout.foreground:
        notes.append("subject {}×{} at {},{}".format(*cutout.foreground[2:], *cutout.foreground[:2]))
    return "".join(f", {note}" for note in notes)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    fmt = args.format or args.output.suffix.lstrip(".")
    fields = {
        "w": args.w, "h": args.h, "format": fmt, "bg_color": args.bg_color, "angle": args.angle,
        "mask": str(args.mask), "expand": str(not args.no_expand), "exact_resize": str(args.exact_resize),
        "refine": args.refine, "crop": str(args.crop), "crop_margin": args.crop_margin, "model": args.model,
    }

    def progress(stage: str) -> None:
        if not args.quiet:
            print(f"{stage}…", file=sys.stderr)

    try:
        options = options_parse(fields)
        cutout = cutout_from_bytes(args.input.read_bytes(), args.input.name, options, progress=progress)
    except RemovalError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for detail in exc.details or []:
            if len(exc.details or []) > 1:
                print(f"  {detail['field']}: {detail['message']}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    result = cutout.result
    args.output.write_bytes(result.data)
    if not args.quiet:
        print(f"wrote {args.output} ({result.format}, {result.width}×{result.height}, "
              f"{len(result.data)} bytes{_subject_note(cutout)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
