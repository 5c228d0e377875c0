"""Touch-ups of an editor job: brush strokes on the mask and an uploaded background image.

The render endpoint stores them with the job (`touchups_update`); every re-render hands them
(`touchups_load`) to cutouts.service.cutout_rerender, which applies them to the stored full-size
mask and original under admission. Neither runs the model nor charges.
"""

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from cutouts.service import Touchups
from editor.models import EditorJob
from removal.background import FITS, INVALID_FIT
from removal.decode import image_probe
from removal.errors import ValidationFailed
from removal.strokes import strokes_check, strokes_dump, strokes_parse

_TRUE = {"true", "1", "yes", "on"}


@dataclass(frozen=True)
class TouchupFields:
    """What a render request asks to change; None = keep what the job has."""

    strokes: list[dict] | None = None
    background: tuple[str, bytes] | None = None  # (filename, bytes) of a new background image
    background_fit: str | None = None
    background_remove: bool = False


def touchups_parse(fields: Mapping[str, str], files: Mapping, *, size: tuple[int, int]) -> TouchupFields:
    """Form fields `strokes` (JSON), `background` (file), `background_fit`, `background_remove`; the
    strokes checked against the work limits for an image of `size` (removal.strokes.strokes_check)."""
    errors: list[tuple[str, str]] = []
    strokes = None
    if "strokes" in fields:
        try:
            strokes = strokes_dump(strokes_check(strokes_parse(fields["strokes"]), size=size))
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


def touchups_update(*, job: EditorJob, touchups: TouchupFields) -> list[str]:
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
        kind = (image_probe(data, name).format or "").lower()  # an upload's checks, header only
        ext = {"jpeg": "jpg"}.get(kind, kind)
        path = f"editor/{job.user_id}/{job.pk}/background-{secrets.token_hex(4)}.{ext}"
        job.background = default_storage.save(path, ContentFile(data))
    return unused


def touchups_load(job: EditorJob) -> Touchups:
    """The job's stored touch-ups, ready for cutouts.service.cutout_rerender (reads the background
    image's bytes: call it off the event loop)."""
    background = None
    if job.background:
        with default_storage.open(job.background, "rb") as handle:
            background = handle.read()
    return Touchups(strokes=strokes_parse(job.strokes or []), background=background,
                    background_name=job.background, background_fit=job.background_fit)
