"""Where POST /rmbg's image comes from: the uploaded `image` file, or an `image_url` (SPEC §7).

Either way the endpoint gets the same bytes + filename + options and runs the same decode
checks; a download is refused or fails before any credit is reserved, so it costs nothing.
"""

from dataclasses import dataclass

from asgiref.sync import sync_to_async

from core.image_fetch import image_fetch
from core.uploads import upload_read
from removal.options import RemovalOptions


@dataclass(frozen=True)
class ImageSource:
    data: bytes
    filename: str
    options: RemovalOptions
    fields: dict[str, str]
    image_url: str | None = None


async def image_source_read(request) -> ImageSource:
    """The form's options and the image bytes, downloading `image_url` when it is given."""
    upload = await sync_to_async(upload_read, thread_sensitive=False)(request, url_allowed=True)
    if upload.data is not None:
        return ImageSource(data=upload.data, filename=upload.filename or "", options=upload.options,
                           fields=upload.fields)
    url = upload.fields["image_url"].strip()
    fetched = await image_fetch(url=url)
    return ImageSource(data=fetched.data, filename=fetched.filename, options=upload.options,
                       fields=upload.fields, image_url=url)
