"""Python client for Cutout and other rembg.com-compatible background-removal APIs.

    from cutout_client import remove_background
    result = remove_background(api_key="ck_live_...", input_image="photo.jpg")
    print(result.output_path)   # a temporary .webp; result.cleanup() deletes it

The key and server also come from CUTOUT_API_KEY / CUTOUT_BASE_URL (environment or a .env file).
For many images, keep one `Client` (or `AsyncClient`) open so connections are reused.
"""

__version__ = "0.1.0"

from cutout_client.client import AsyncClient, Client, RetryPolicy  # noqa: E402
from cutout_client.errors import (  # noqa: E402
    BadRequest,
    ConfigurationError,
    CutoutError,
    Forbidden,
    NetworkError,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
)
from cutout_client.functions import (  # noqa: E402
    membership_usage,
    membership_usage_async,
    remove_background,
    remove_background_async,
)
from cutout_client.progress import ProgressEvent  # noqa: E402
from cutout_client.results import RateLimit, RemovalResult  # noqa: E402

__all__ = [
    "AsyncClient", "BadRequest", "Client", "ConfigurationError", "CutoutError", "Forbidden", "NetworkError",
    "ProgressEvent", "RateLimit", "RateLimited", "RemovalResult", "RetryPolicy", "ServerError",
    "ServiceUnavailable", "Unauthorized", "membership_usage", "membership_usage_async", "remove_background",
    "remove_background_async",
]
