"""Reading an upload form, shared by POST /rmbg and the editor's upload."""

from dataclasses import dataclass

from django.core.exceptions import SuspiciousOperation
from django.http.multipartparser import MultiPartParserError

from removal.errors import RemovalError
from removal.options import RemovalOptions, form_parse


class FormUnreadable(RemovalError):
    """Django could not read the form (too many fields, or text fields over its memory limit)."""

    status = 400

    def __init__(self) -> None:
        super().__init__("The form data could not be read: too many fields, or text fields too large.")


@dataclass(frozen=True)
class Upload:
    fields: dict[str, str]
    data: bytes | None
    filename: str | None
    options: RemovalOptions


def upload_read(request, *, url_allowed: bool = False) -> Upload:
    """The string fields, the image and the parsed options, or ValidationFailed with every error.

    A browser's empty file input is a part with filename="": Django's multipart parser then
    treats it as a plain field with an empty value, not as a file, which is how it is told
    apart from a form with no image part at all. Reads the body: call it off the event loop.
    With `url_allowed` (POST /rmbg), an `image_url` field may stand in for the image; then
    `data` and `filename` are None and the caller downloads it (api/image_source.py).
    """
    try:
        fields = {key: request.POST.get(key, "") for key in request.POST}
        upload = request.FILES.get("image")
    except MultiPartParserError:
        # Not a multipart body we can parse (no boundary, say): there is no image in it.
        fields, upload = {}, None
    except SuspiciousOperation as exc:  # RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
        raise FormUnreadable() from exc
    empty_file_input = upload is None and "image" in request.POST and request.POST["image"] == ""
    options = form_parse(fields, image_present=upload is not None, empty_file_input=empty_file_input,
                         image_url=fields.get("image_url", "") if url_allowed else "")
    if upload is None:  # an image_url instead (form_parse made sure there is one)
        return Upload(fields=fields, data=None, filename=None, options=options)
    return Upload(fields=fields, data=upload.read(), filename=upload.name, options=options)


@dataclass(frozen=True)
class BatchUpload:
    fields: dict[str, str]
    files: list[tuple[str, bytes]]  # (filename, bytes) of every `image` part, in order
    urls: list[str]  # every non-empty `image_url` field, in order


def batch_read(request) -> BatchUpload:
    """Every `image` part and the string fields of a batch form (POST /api/jobs); the caller
    validates them. Reads the body: call it off the event loop."""
    try:
        fields = {key: request.POST.get(key, "") for key in request.POST}
        parts = request.FILES.getlist("image")
        urls = [url.strip() for url in request.POST.getlist("image_url") if url.strip()]
    except MultiPartParserError:
        fields, parts, urls = {}, [], []
    except SuspiciousOperation as exc:
        raise FormUnreadable() from exc
    return BatchUpload(fields=fields, files=[(part.name, part.read()) for part in parts], urls=urls)
