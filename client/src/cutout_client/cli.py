"""`cutout remove IN... -o OUT_DIR [options]`, `cutout batch IN_DIR -o OUT_DIR` and `cutout usage [options]`.

remove: files, folders (their images; `-r` to descend) and http(s) URLs (the server downloads
them: `image_url`), N requests in flight over one
connection pool, one progress bar for the run, outputs that already exist are skipped (unless
`--force`) and written atomically so an interrupted run leaves no half file, then a summary with
the credits charged (the sum of X-Credits-Charged). Exit status 1 when any image failed.
With `--idempotency-key PREFIX` each image is sent with the key `PREFIX:<input>`, so running the
same command again within 24 h (after a crash, say) replays answers instead of paying twice.

batch: the same images as batch jobs of up to 100 (POST /api/jobs): no connection held per image,
a progress bar as the workers settle items, results downloaded as they are done; an interrupted run
resumes from OUT_DIR/.cutout-batch.json without submitting (or paying for) the same images twice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from tqdm import tqdm

from cutout_client import __version__
from cutout_client.client import Client
from cutout_client.errors import ConfigurationError, CutoutError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
FORMAT_SUFFIXES = {"webp": ".webp", "png": ".png", "jpeg": ".jpg", "jpg": ".jpg", "bmp": ".bmp"}


@dataclass(frozen=True)
class Job:
    source: Path | str  # a file, or an http(s) URL the server downloads
    target: Path

    @property
    def is_url(self) -> bool:
        return isinstance(self.source, str)


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    credits: int = 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cutout",
                                     description="Remove image backgrounds with a Cutout server.")
    parser.add_argument("--version", action="version", version=f"cutout-client {__version__}")
    parser.add_argument("--api-key", help="API key (default: $CUTOUT_API_KEY or .env)")
    parser.add_argument("--base-url", help="server (default: $CUTOUT_BASE_URL, .env or http://127.0.0.1:8000)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    parser.add_argument("--retries", type=int, default=3, help="retries on 429/503 (default 3)")
    commands = parser.add_subparsers(dest="command", required=True)

    remove = commands.add_parser("remove", help="remove the background of files or folders of images")
    remove.add_argument("inputs", nargs="+", metavar="IN", help="image files, folders or http(s) URLs")
    remove.add_argument("-o", "--output-dir", required=True, type=Path, metavar="OUT_DIR")
    remove.add_argument("--format", default="webp", type=str.lower, choices=sorted(FORMAT_SUFFIXES),
                        help="output format (default webp)")
    remove.add_argument("--w", type=int, default=0, help="target width (keeps aspect unless --exact-resize)")
    remove.add_argument("--h", type=int, default=0, help="target height")
    remove.add_argument("--exact-resize", action="store_true", help="force exactly w×h (may distort)")
    remove.add_argument("--mask", action="store_true", help="return only the alpha mask")
    remove.add_argument("--bg-color", help="solid background: #RGB[A], #RRGGBB[AA] or a colour name")
    remove.add_argument("--angle", type=float, help="rotate the result by this many degrees")
    remove.add_argument("--no-expand", dest="expand", action="store_false",
                        help="when rotating, keep the canvas size (crop corners)")
    remove.add_argument("--refine", choices=("none", "matting"), help="edge refinement (default none)")
    remove.add_argument("--crop", action="store_true", help="crop to the subject's box")
    remove.add_argument("--crop-margin", metavar="MARGIN",
                        help="margin around the subject with --crop: 0-500 px (20 or 20px) or 0%%-50%%")
    remove.add_argument("--model", help="an installed model (GET /api/models; default u2netp)")
    remove.add_argument("--quality", choices=("normal", "high"),
                        help="high: a second model pass on the subject's box (default normal)")
    remove.add_argument("-c", "--concurrency", type=int, default=2, help="requests in flight (default 2)")
    remove.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    remove.add_argument("-f", "--force", action="store_true", help="redo images whose output exists")
    remove.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    remove.add_argument("--idempotency-key", metavar="PREFIX",
                        help="send each image with the key PREFIX:<input>; a rerun within 24 h "
                             "is not charged again")

    batch = commands.add_parser("batch", help="submit a folder as batch jobs, then download the results")
    batch.add_argument("input_dir", type=Path, metavar="IN_DIR", help="folder of images")
    batch.add_argument("-o", "--output-dir", required=True, type=Path, metavar="OUT_DIR")
    batch.add_argument("--format", default="webp", type=str.lower, choices=sorted(FORMAT_SUFFIXES),
                       help="output format (default webp)")
    batch.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    batch.add_argument("--chunk", type=int, default=100, help="images per job (the server takes at most 100)")
    batch.add_argument("--poll", type=float, default=1.0, help="seconds between status polls (default 1)")
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    usage = commands.add_parser("usage", help="print plan, credits and usage")
    usage.add_argument("--year", type=int)
    usage.add_argument("--month", type=int)
    usage.add_argument("--period-start", type=int, metavar="UNIX",
                       help="a billing window's start (unix seconds)")
    usage.add_argument("--billing-cycle", action="store_true", help="include the billing-cycle block")
    usage.add_argument("--cycles", action="store_true", help="list the known billing cycles")
    usage.add_argument("--json", action="store_true", help="print the raw JSON")
    return parser


# --- remove ----------------------------------------------------------------------------------------


def _images_in(folder: Path, recursive: bool) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def jobs_plan(inputs: Sequence[str], output_dir: Path, fmt: str, *, recursive: bool = False) -> list[Job]:
    """One job per input image; a folder's images keep their sub-path under OUT_DIR."""
    suffix = FORMAT_SUFFIXES[fmt]
    jobs: list[Job] = []
    for raw in inputs:
        path = Path(raw)
        if raw.startswith(("http://", "https://")):
            name = PurePosixPath(unquote(urlsplit(raw).path)).name or "image"
            jobs.append(Job(raw, output_dir / PurePosixPath(name).with_suffix(suffix).name))
        elif path.is_dir():
            for image in _images_in(path, recursive):
                jobs.append(Job(image, (output_dir / image.relative_to(path)).with_suffix(suffix)))
        elif path.is_file():
            jobs.append(Job(path, output_dir / path.with_suffix(suffix).name))
        else:
            raise ConfigurationError(f"no such file or folder: {raw}")
    seen: dict[Path, Path] = {}
    for job in jobs:
        other = seen.setdefault(job.target.resolve(), job.source)
        if other != job.source:
            raise ConfigurationError(f"{other} and {job.source} would both be written to {job.target}")
    return jobs


def _idempotency_key(prefix: str, job: Job) -> str:
    key = f"{prefix}:{job.source}"
    return key if len(key) <= 255 else f"{prefix}:{hashlib.sha256(str(job.source).encode()).hexdigest()}"


def _remove_one(client: Client, job: Job, key_prefix: str | None, options: dict):
    source = {"image_url": job.source} if job.is_url else {"input_image": job.source}
    key = _idempotency_key(key_prefix, job) if key_prefix else None
    return client.remove_background(**source, idempotency_key=key, output_path=job.target, **options)


def _remove(args: argparse.Namespace, client: Client) -> int:
    jobs = jobs_plan(args.inputs, args.output_dir, args.format, recursive=args.recursive)
    summary = Summary()
    todo = []
    for job in jobs:
        if job.target.exists() and not args.force:
            summary.skipped += 1
        else:
            todo.append(job)
    options = dict(format=args.format, w=args.w, h=args.h, exact_resize=args.exact_resize, mask=args.mask,
                   bg_color=args.bg_color, angle=args.angle, expand=args.expand, refine=args.refine,
                   crop=args.crop, crop_margin=args.crop_margin, model=args.model, quality=args.quality)
    lock = threading.Lock()
    bar = tqdm(total=len(todo), unit="img", desc="cutout", disable=args.quiet or not todo, file=sys.stderr)
    with ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
        futures = {pool.submit(_remove_one, client, job, args.idempotency_key, options): job for job in todo}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except CutoutError as exc:
                with lock:
                    summary.failed += 1
                tqdm.write(f"failed: {job.source}: {exc}", file=sys.stderr)
            else:
                with lock:
                    summary.done += 1
                    # A replayed answer repeats the first one's X-Credits-Charged; it cost nothing now.
                    summary.credits += 0 if result.replayed else result.credits_charged
            bar.set_postfix(credits=summary.credits, failed=summary.failed, refresh=False)
            bar.update(1)
    bar.close()
    print(f"{summary.done} processed, {summary.skipped} skipped (output exists), {summary.failed} failed; "
          f"credits used: {summary.credits}")
    return 1 if summary.failed else 0


# --- batch ------------------------------------------------------------------------------------------
# The jobs in flight are kept in OUT_DIR/.cutout-batch.json, so an interrupted run (Ctrl-C, a lost
# connection) resumes: the next run follows those jobs instead of submitting their images again.

STATE_FILE = ".cutout-batch.json"


def _state_load(output_dir: Path) -> dict[str, list[list[str]]]:
    path = output_dir / STATE_FILE
    return json.loads(path.read_text())["jobs"] if path.exists() else {}


def _state_save(output_dir: Path, jobs: dict[str, list[list[str]]]) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    partial = output_dir / (STATE_FILE + ".part")
    partial.write_text(json.dumps({"jobs": jobs}))
    partial.replace(output_dir / STATE_FILE)


def _batch_follow(client: Client, job_id: str, pairs: list[list[str]], args, summary: Summary, bar) -> None:
    """Wait for one job, downloading each result as soon as it is done."""
    settled: set[int] = set()

    def progress(job: dict) -> None:
        for item in job["items"]:
            index = item["index"]
            if index in settled or item["status"] in ("queued", "running"):
                continue
            settled.add(index)
            target = Path(pairs[index][1])
            if item["status"] == "done":
                client.job_result_save(item, target)
                summary.done += 1
                summary.credits += 1
            else:
                summary.failed += 1
                message = item.get("error", {}).get("error", item["status"])
                tqdm.write(f"failed: {pairs[index][0]}: {message}", file=sys.stderr)
            bar.set_postfix(credits=summary.credits, failed=summary.failed, refresh=False)
            bar.update(1)

    client.jobs_wait(job_id, poll_interval=args.poll, on_progress=progress)


JOB_BYTES = 48 * 1024 * 1024  # a request body is limited to 51 MB: leave room for the form framing


def _chunks(jobs: list[Job], count: int) -> list[list[Job]]:
    """Consecutive groups of at most `count` images and JOB_BYTES bytes (one image may exceed it alone)."""
    groups: list[list[Job]] = []
    size = 0
    for job in jobs:
        nbytes = job.source.stat().st_size
        if not groups or len(groups[-1]) >= count or size + nbytes > JOB_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(job)
        size += nbytes
    return groups


def _batch(args: argparse.Namespace, client: Client) -> int:
    plan = jobs_plan([str(args.input_dir)], args.output_dir, args.format, recursive=args.recursive)
    pending = _state_load(args.output_dir)
    in_flight = {source for pairs in pending.values() for source, _ in pairs}
    summary = Summary()
    todo = [job for job in plan if str(job.source) not in in_flight]
    summary.skipped = sum(1 for job in todo if job.target.exists())
    todo = [job for job in todo if not job.target.exists()]
    for part in _chunks(todo, max(1, min(args.chunk, 100))):
        job = client.jobs_submit([job.source for job in part], format=args.format)
        pending[job["id"]] = [[str(job.source), str(job.target)] for job in part]
        _state_save(args.output_dir, pending)
    total = sum(len(pairs) for pairs in pending.values())
    bar = tqdm(total=total, unit="img", desc="cutout batch", disable=args.quiet or not total, file=sys.stderr)
    for job_id, pairs in list(pending.items()):
        _batch_follow(client, job_id, pairs, args, summary, bar)
        del pending[job_id]
        _state_save(args.output_dir, pending)
    bar.close()
    (args.output_dir / STATE_FILE).unlink(missing_ok=True)
    print(f"{summary.done} processed, {summary.skipped} skipped (output exists), {summary.failed} failed; "
          f"credits used: {summary.credits}")
    return 1 if summary.failed else 0


# --- usage ------------------------------------------------------------------------------------------


def _when(unix: int | None) -> str:
    if unix is None:
        return "-"
    return datetime.fromtimestamp(int(unix), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _table(rows: Sequence[Sequence[object]], header: Sequence[str] | None = None) -> str:
    cells = [[str(c) for c in row] for row in ([header] if header else []) + list(rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))] if cells else []
    lines = ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                       for i, (cell, width) in enumerate(zip(row, widths, strict=True)))
             for row in cells]
    if header:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def usage_render(payload: dict) -> str:
    if "billingCycles" in payload:
        rows = [(_when(c.get("periodStartUnix")), _when(c.get("periodEndUnix")), c.get("appUsage", 0),
                 c.get("apiUsage", 0), c.get("appUsage", 0) + c.get("apiUsage", 0))
                for c in payload["billingCycles"]]
        if not rows:
            return "no billing cycles yet"
        return _table(rows, ("period start", "period end", "app", "api", "total"))
    rows = [
        ("plan", payload.get("membership", "-")),
        ("included credits", payload.get("credits", "-")),
        ("prepaid credits", payload.get("prepaidCredits", "-")),
        ("app usage", payload.get("app_usage", "-")),
        ("api usage", payload.get("api_usage", "-")),
    ]
    cycle = payload.get("billingCycle")
    if cycle:
        rows += [
            ("billing cycle", f"{_when(cycle.get('periodStartUnix'))} → {_when(cycle.get('periodEndUnix'))}"),
            ("  app usage", cycle.get("appUsage", "-")),
            ("  api usage", cycle.get("apiUsage", "-")),
            ("  used included", cycle.get("usedIncludedCredits", "-")),
            ("  remaining included", cycle.get("remainingIncludedCredits", "-")),
            ("  synced with Stripe", "yes" if cycle.get("stripeBillingSynced") else "no"),
        ]
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def _usage(args: argparse.Namespace, client: Client) -> int:
    payload = client.membership_usage(
        year=args.year, month=args.month, period_start_unix=args.period_start,
        include_billing_cycle=args.billing_cycle, list_billing_cycles=args.cycles,
    )
    print(json.dumps(payload, indent=2) if args.json else usage_render(payload))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        concurrency = getattr(args, "concurrency", 1)
        with Client(args.api_key, base_url=args.base_url, timeout=args.timeout, max_retries=args.retries,
                    max_connections=max(10, concurrency)) as client:
            if args.command == "remove":
                return _remove(args, client)
            if args.command == "batch":
                return _batch(args, client)
            return _usage(args, client)
    except CutoutError as exc:
        print(f"cutout: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigurationError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
