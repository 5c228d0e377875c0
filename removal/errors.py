"""The removal package's error family.

Every exception raised toward the API or the editor carries what the edge needs to render
SPEC §1's JSON shape: `status`, `message` (SPEC's exact text), `details` and `headers`.
"""

from collections.abc import Sequence

NO_IMAGE_PROVIDED = "No image file provided. Please include an 'image' field in your form data."
NO_FILE_SELECTED = "No file selected. Please choose an image file to upload."
IMAGE_AND_URL = "Provide either image or image_url, not both"
MULTIPLE_VALIDATION_ERRORS = "Multiple validation errors"
PROCESSING_FAILED = "Image processing failed"

ECHO_LIMIT = 64  # characters of a rejected value quoted back in its error message


def echo(raw: object) -> str:
    """A rejected value as quoted in an error message: whole if short, else its first ECHO_LIMIT
    characters and "…" (a 1 MB value must not come back, twice, in a 2 MB answer)."""
    text = str(raw)
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "…"


class RemovalError(Exception):
    """Base of the family: a refusal or failure with an HTTP status and SPEC's message."""

    status: int = 500

    def __init__(self, message: str, *, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers: dict[str, str] = {}


class ValidationFailed(RemovalError):
    """One or more form fields are invalid; `details` lists every one in field order."""

    status = 400
    details: list[dict]  # never None here

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        details = [{"field": field, "message": message} for field, message in errors]
        message = details[0]["message"] if len(details) == 1 else MULTIPLE_VALIDATION_ERRORS
        super().__init__(message, details=details)


class ImageRejected(RemovalError):
    """The upload is not an image we accept (type, size, dimensions, signature, bomb)."""

    status = 400


class ModelNotInstalled(RemovalError):
    """The weights file is missing. We never download at run time: provision it instead."""

    status = 500


class UnknownModel(RemovalError):
    """No rembg session class has this name."""

    status = 500


class ProcessingFailed(RemovalError):
    """Anything that went wrong after the image was accepted (charged nothing)."""

    status = 500


class ProviderUnavailable(RemovalError):
    """ONNX_PROVIDERS names an execution provider this onnxruntime build does not have."""

    status = 500


class PoolBusy(RemovalError):
    """More images are waiting for the worker pool than PIPELINE_QUEUE_LIMIT allows."""

    status = 503

    def __init__(self) -> None:
        super().__init__("The server is busy. Please retry in a few seconds.")
        self.headers = {"Retry-After": "5"}


class NoForeground(RemovalError):
    """crop=true on an image where the model found no subject (SPEC §7): a client-side 400."""

    status = 400

    def __init__(self) -> None:
        super().__init__("No foreground found in the image")
