"""The one NinjaAPI: /rmbg, /api/rmbg, /api/membership-usage, /api/openapi, /api/docs."""

from ninja import NinjaAPI

from api import jobs, rmbg, usage
from api.errors import install_error_handlers

api = NinjaAPI(
    title="Cutout API",
    version="1.0",
    description=(
        "Background removal compatible with the rembg.com API. Authorize with your API key "
        "(`x-api-key`, created in your profile) and try `POST /rmbg` with a file."
    ),
    urls_namespace="api",
    openapi_url="/api/openapi",
    docs_url="/api/docs",
)
install_error_handlers(api)
api.add_router("", rmbg.router)
api.add_router("", usage.router)
api.add_router("", jobs.router)
