"""The removal package's error family.

Every exception raised toward the API or the editor carries what the edge needs to render
SPEC §1's JSON shape: `status`, `message` (SPEC's exact text), `details` and `headers`.
"""

from collections.abc import Sequence

NO_IMAGE_PROVIDED = "No image file provided. Please include an 'image' field in your form data."
NO_FILE_SELECTED = "No file selected. Please choose an image file to upload."
MULTIPLE_VALIDATION_ERRORS = "Multiple validation errors"
PROCESSING_FAILED = "Image processing failed"


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
