"""Touch-ups of an editor job: brush strokes on the mask and an uploaded background image.

The render endpoint stores them with the job (`touchups_update`); every re-render applies them
to the stored full-size mask and original before the usual render (`touchups_apply`). Neither
runs the model nor charges: they only change what the free re-render draws.
"""

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from editor.models import Job
from removal.background import FITS, INVALID_FIT, background_composite
from removal.decode import LoadedImage, image_load
from removal.errors import ValidationFailed
from removal.strokes import strokes_apply, strokes_dump, strokes_parse

_TRUE = {"true", "1", "yes", "on"}


@dataclass(frozen=True)
class TouchupFields:
    """What a render request asks to change; None = keep what the job has."""

    strokes: list[dict] | None = None
    background: tuple[str, bytes] | None = None  # (filename, bytes) of a new background image
    background_fit: str | None = None
    background_remove: bool = False


def touchups_parse(fields: Mapping[str, str], files: Mapping) -> TouchupFields:
    """Form fields `strokes` (JSON), `background` (file), `background_fit`, `background_remove`."""
    errors: list[tuple[str, str]] = []
    strokes = None
    if "strokes" in fields:
        try:
            strokes = strokes_dump(strokes_parse(fields["strokes"]))
        except ValidationFailed as exc:
            errors += [(d["field"], d["message"]) for d in exc.details]
    fit = fields.get("background_fit") or None
    if fit is not None and fit not in FITS:
        errors.append(("background_fit", INVALID_FIT))
    if errors:
        raise ValidationFailed(errors)
    upload = files.get("background")
    background = (upload.name or "background.png", upload.read()) if upload else None
    remove = str(fields.get("background_remove", "")).lower() in _TRUE
    return TouchupFields(strokes=strokes, background=background, background_fit=fit, background_remove=remove)


def touchups_update(*, job: Job, touchups: TouchupFields) -> list[str]:
    """Write the requested touch-ups onto `job` (not saved). A new background image is checked
    like an upload (SPEC's limits and messages) and stored. Returns storage names now unused."""
    unused = []
    if touchups.strokes is not None:
        job.strokes = touchups.strokes
    if touchups.background_fit:
        job.background_fit = touchups.background_fit
    if (touchups.background or touchups.background_remove) and job.background:
        unused.append(job.background)
        job.background = ""
    if touchups.background:
        name, data = touchups.background
        image = image_load(data, name)  # refuses what an upload would refuse, before storing
        ext = {"jpeg": "jpg"}.get(image.source_format, image.source_format)
        path = f"editor/{job.user_id}/{job.pk}/background-{secrets.token_hex(4)}.{ext}"
        job.background = default_storage.save(path, ContentFile(data))
    return unused


def touchups_apply(job: Job, image: LoadedImage, mask: Image.Image, *, mask_only: bool = False
                   ) -> tuple[LoadedImage, Image.Image]:
    """The job's strokes on the mask, then its background image behind the subject (not for a
    mask-only result: the mask is the subject's, whatever is behind it)."""
    mask = strokes_apply(mask, strokes_parse(job.strokes or []))
    if not job.background or mask_only:
        return image, mask
    with default_storage.open(job.background, "rb") as handle:
        background = image_load(handle.read(), job.background).image
    composite, alpha = background_composite(image.image, mask, background, job.background_fit)
    return LoadedImage(image=composite, source_format=image.source_format,
                       icc_profile=image.icc_profile), alpha
