"""Reading an upload form, shared by POST /rmbg and the editor's upload."""

from dataclasses import dataclass

from removal.options import RemovalOptions, form_parse


@dataclass(frozen=True)
class Upload:
    fields: dict[str, str]
    data: bytes | None
    filename: str | None
    options: RemovalOptions


def upload_read(request) -> Upload:
    """The string fields, the image and the parsed options, or ValidationFailed with every error.

    A browser's empty file input is a part with filename="": Django's multipart parser then
    treats it as a plain field with an empty value, not as a file, which is how it is told
    apart from a form with no image part at all. Reads the body: call it off the event loop.
    """
    fields = {key: request.POST.get(key, "") for key in request.POST}
    upload = request.FILES.get("image")
    empty_file_input = upload is None and "image" in request.POST and request.POST["image"] == ""
    options = form_parse(fields, image_present=upload is not None, empty_file_input=empty_file_input)
    return Upload(fields=fields, data=upload.read(), filename=upload.name, options=options)
